// A million-span Zipkin export is read in bounded memory: measured in a child
// process (bench/plan-read.ts) so this process's heap does not blur the figure.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const SCRIPT = fileURLToPath(new URL('../../bench/plan-read.ts', import.meta.url));

test('a 1,000,000-span Zipkin file is read whole with the RSS growing well under the file size', async () => {
  const { stdout } = await promisify(execFile)(process.execPath, [SCRIPT], {
    env: { ...process.env, SPANS: '1000000' },
    maxBuffer: 1 << 20,
  });
  const result = JSON.parse(stdout) as { spans: number; bytes: number; rssGrowthMB: number };
  assert.equal(result.spans, 1_000_000);
  assert.ok(result.bytes > 200e6, `file is ${result.bytes} bytes`);
  assert.ok(result.rssGrowthMB < 300, `RSS grew ${result.rssGrowthMB} MB`);
});
