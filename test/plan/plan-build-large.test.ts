// A million spans through readSpans and PlanBuilder in bounded memory:
// measured in a child process (bench/plan-build.ts) so this process's heap
// does not blur the figure. Time is recorded in bench/RESULTS.md, not asserted.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const SCRIPT = fileURLToPath(new URL('../../bench/plan-build.ts', import.meta.url));

test('1,000,000 spans are planned with the RSS growing well under the size of the spans', async () => {
  const { stdout } = await promisify(execFile)(process.execPath, [SCRIPT], {
    env: { ...process.env, SPANS: '1000000' },
    maxBuffer: 1 << 20,
  });
  const result = JSON.parse(stdout) as {
    spans: number;
    traces: number;
    modules: number;
    pairs: number;
    bytes: number;
    rssGrowthMB: number;
  };
  assert.equal(result.spans, 1_000_000);
  assert.equal(result.traces, 250_000);
  // 12 services, each a module; every two of them share the postgres store.
  assert.equal(result.modules, 12);
  assert.equal(result.pairs, 66);
  assert.ok(result.bytes > 250e6, `file is ${result.bytes} bytes`);
  assert.ok(result.rssGrowthMB < 300, `RSS grew ${result.rssGrowthMB} MB`);
});
