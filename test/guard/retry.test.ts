// The retry budget, full-jitter backoff and Retry-After parsing, in-process.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { RetryConfig } from '../../src/config/index.ts';
import { backoffDelay, RetryBudget, retryAfterMs } from '../../src/guard/retry.ts';

const CONFIG: RetryConfig = {
  attempts: 2,
  budget: 0.2,
  minConcurrent: 3,
  backoff: 25,
  maxBackoff: 250,
  grpcCodes: [14],
};

/** Retries the budget lets start, one after another, with `active` requests in flight. */
function retriesAllowed(budget: RetryBudget, active: number): number {
  let n = 0;
  while (budget.canRetry(active)) {
    budget.retryStarted();
    n++;
  }
  return n;
}

test('budget: with 10 requests in flight, the floor of 3 concurrent retries applies', () => {
  const budget = new RetryBudget(CONFIG);
  assert.equal(retriesAllowed(budget, 10), 3);
  assert.deepEqual(budget.snapshot(), { inFlight: 3, started: 3, denied: 1 });
});

test('budget: with 100 requests in flight, 20% of them may be retries', () => {
  const budget = new RetryBudget(CONFIG);
  assert.equal(retriesAllowed(budget, 100), 20);
});

test('budget: a finished retry makes room for another', () => {
  const budget = new RetryBudget(CONFIG);
  retriesAllowed(budget, 0);
  assert.equal(budget.canRetry(0), false);
  budget.retryFinished();
  assert.equal(budget.canRetry(0), true);
  budget.retryStarted();
  assert.equal(budget.canRetry(0), false);
  assert.deepEqual(budget.snapshot(), { inFlight: 3, started: 4, denied: 3 });
});

test('budget: minConcurrent 0 and no traffic allows no retry; extra finishes do not go negative', () => {
  const budget = new RetryBudget({ ...CONFIG, minConcurrent: 0 });
  assert.equal(budget.canRetry(0), false);
  assert.equal(budget.canRetry(4), false, '20% of 4 is 0.8: not one whole retry in flight yet');
  assert.equal(budget.canRetry(5), true);
  budget.retryFinished();
  assert.equal(budget.snapshot().inFlight, 0);
  assert.equal(retriesAllowed(budget, 5), 1);
});

test('backoff: the ceiling doubles per attempt up to the cap', () => {
  const top = () => 1 - Number.EPSILON;
  const ceilings = [1, 2, 3, 4, 5, 6].map((n) => backoffDelay(n, 25, 250, top));
  const expected = [25, 50, 100, 200, 250, 250];
  for (let i = 0; i < expected.length; i++) {
    assert.ok(ceilings[i] < expected[i] && ceilings[i] > expected[i] - 1e-9, `attempt ${i + 1}`);
  }
  assert.equal(
    backoffDelay(3, 25, 250, () => 0),
    0,
    'full jitter reaches 0',
  );
  assert.equal(
    backoffDelay(3, 25, 250, () => 0.5),
    50,
  );
  assert.equal(
    backoffDelay(2000, 25, 250, () => 0.5),
    125,
    'huge attempts stay capped',
  );
  assert.equal(
    backoffDelay(0, 25, 250, () => 0.5),
    12.5,
    'attempt 0 reads as the first',
  );
});

test('backoff: full jitter is uniform over [0, ceiling)', () => {
  // A seeded generator (mulberry32) keeps the draw, and so the test, the same on every run.
  let seed = 7;
  const random = () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
  const draws = 20_000;
  const quarters = [0, 0, 0, 0];
  let sum = 0;
  for (let i = 0; i < draws; i++) {
    const d = backoffDelay(3, 25, 250, random);
    assert.ok(d >= 0 && d < 100, `delay ${d}`);
    quarters[Math.floor(d / 25)]++;
    sum += d;
  }
  assert.ok(Math.abs(sum / draws - 50) < 1.5, `mean ${sum / draws}`);
  for (const q of quarters) assert.ok(Math.abs(q / draws - 0.25) < 0.02, `quarters ${quarters}`);
});

const NOW = Date.UTC(2025, 10, 6, 8, 49, 7); // Thu, 06 Nov 2025 08:49:07 GMT

test('Retry-After: delta-seconds', () => {
  assert.equal(retryAfterMs('120', NOW, 600_000), 120_000);
  assert.equal(retryAfterMs('0', NOW, 600_000), 0);
  assert.equal(retryAfterMs(' 5 ', NOW, 600_000), 5_000, 'optional whitespace around the value');
  assert.equal(retryAfterMs(['2', '9'], NOW, 600_000), 2_000, 'the first of several');
});

test('Retry-After: capped', () => {
  assert.equal(retryAfterMs('3600', NOW, 10_000), 10_000);
  assert.equal(retryAfterMs('99999999999999999999999', NOW, 10_000), 10_000);
  assert.equal(retryAfterMs('Thu, 06 Nov 2025 09:49:07 GMT', NOW, 10_000), 10_000);
});

test('Retry-After: HTTP-date in all three forms of RFC 9110 §5.6.7', () => {
  assert.equal(retryAfterMs('Thu, 06 Nov 2025 08:49:37 GMT', NOW, 600_000), 30_000);
  assert.equal(retryAfterMs('Thursday, 06-Nov-25 08:50:07 GMT', NOW, 600_000), 60_000);
  assert.equal(retryAfterMs('Thu Nov  6 08:49:12 2025', NOW, 600_000), 5_000);
  assert.equal(retryAfterMs('Thu Nov 16 08:49:07 2025', NOW, 1e12), 10 * 86_400_000);
});

test('Retry-After: a date in the past means now', () => {
  assert.equal(retryAfterMs('Thu, 06 Nov 2025 08:00:00 GMT', NOW, 600_000), 0);
  // A two-digit year more than 50 years ahead is in the past century: 1994, not 2094.
  assert.equal(retryAfterMs('Sunday, 06-Nov-94 08:49:37 GMT', NOW, 600_000), 0);
});

test('Retry-After: absent or not a delay gives undefined', () => {
  for (const bad of [
    undefined,
    [],
    '',
    'soon',
    '-1',
    '1.5',
    '1e3',
    '0x10',
    '5 s',
    'Thu, 06 Nov 2025 08:49:37', // no GMT
    'Thu, 06 Nov 2025 08:49:37 PST',
    'Thu, 31 Feb 2025 08:49:37 GMT', // no such day
    'Thu, 06 Nov 2025 24:00:00 GMT',
    'Thu, 6 Nov 2025 08:49:37 GMT', // IMF-fixdate has two-digit days
    '2025-11-06T08:49:37Z', // ISO 8601 is not an HTTP-date
  ]) {
    assert.equal(retryAfterMs(bad, NOW, 600_000), undefined, JSON.stringify(bad));
  }
});
