import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RestartBackoff } from '../../src/cli/backoff.ts';

test('a worker dying at start waits 100 ms, then twice as long each time, up to 5 s', () => {
  const backoff = new RestartBackoff();
  const delays = Array.from({ length: 9 }, () => backoff.delayAfter(50));
  assert.deepEqual(delays, [100, 200, 400, 800, 1600, 3200, 5000, 5000, 5000]);
});

test('a worker that ran 10 s before it died comes back after 100 ms again', () => {
  const backoff = new RestartBackoff();
  for (let i = 0; i < 5; i++) backoff.delayAfter(50);
  assert.equal(backoff.delayAfter(9_999), 3200);
  assert.equal(backoff.delayAfter(10_000), 100);
  assert.equal(backoff.delayAfter(20), 200);
});
