// The committed demo trace export is exactly what examples/make-traces.ts
// generates, so the file and the code that made it never drift apart.
import assert from 'node:assert/strict';
import { readFileSync, statSync } from 'node:fs';
import { test } from 'node:test';
import { DEMO_TRACES_FILE, demoTracesText } from '../../examples/make-traces.ts';

test('examples/traces/demo.zipkin.json is what examples/make-traces.ts writes (run it after changing it)', () => {
  const committed = readFileSync(DEMO_TRACES_FILE, 'utf8');
  assert.ok(committed === demoTracesText(), 'regenerate with: node examples/make-traces.ts');
});

test('the demo export stays small enough to ship in the repository (< 300 KB)', () => {
  assert.ok(statSync(DEMO_TRACES_FILE).size < 300 * 1024);
});
