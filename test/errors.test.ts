import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? sourceFiles(path) : path.endsWith('.ts') ? [path] : [];
  });
}

const CODE = /CUTOVER_ERR_[A-Z_]+/g;

test('docs/errors.md lists every error code used in src/, and no stale one', () => {
  const used = new Set<string>();
  for (const file of sourceFiles('src')) {
    for (const m of readFileSync(file, 'utf8').matchAll(CODE)) used.add(m[0]);
  }
  const documented = new Set<string>();
  for (const line of readFileSync('docs/errors.md', 'utf8').split('\n')) {
    const m = /^\| `(CUTOVER_ERR_[A-Z_]+)` *\|/.exec(line);
    if (m) documented.add(m[1]);
  }
  assert.ok(used.size >= 10, `found ${used.size} codes in src`);
  assert.deepEqual(
    [...used].filter((c) => !documented.has(c)).sort(),
    [],
    'codes missing from docs/errors.md',
  );
  assert.deepEqual(
    [...documented].filter((c) => !used.has(c)).sort(),
    [],
    'stale codes in docs/errors.md',
  );
});
