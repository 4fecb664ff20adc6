import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  DEFAULT_VERDICT_OPTIONS,
  fromValues,
  judgeMetric,
  type WeightedValue,
} from '../../src/report/index.ts';
import { prng } from '../helpers/prng.ts';

/** Log-normal latencies in ms around `median`, seeded. */
function latencies(seed: number, n: number, median: number): number[] {
  const rand = prng(seed);
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    // Box–Muller: a normal from two uniforms.
    const z = Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
    out.push(median * Math.exp(0.5 * z));
  }
  return out;
}

/** Prometheus-style buckets: each value counted at the first upper bound ≥ it. */
function histogram(values: number[], bounds: number[]): WeightedValue[] {
  const counts = bounds.map(() => 0);
  for (const v of values) {
    const i = bounds.findIndex((b) => v <= b);
    counts[i < 0 ? bounds.length - 1 : i] += 1;
  }
  return bounds.map((value, i) => ({ value, count: counts[i] }));
}

const BOUNDS = [5, 10, 25, 50, 75, 100, 150, 200, 300, 500, 1000, Number.POSITIVE_INFINITY];

test('the same distribution passes', () => {
  const v = judgeMetric(fromValues(latencies(1, 500, 50)), fromValues(latencies(2, 500, 50)));
  assert.equal(v.verdict, 'pass');
  assert.ok((v.p as number) >= DEFAULT_VERDICT_OPTIONS.alpha);
});

test('a candidate twice as slow is "higher", with the median ratio as effect size', () => {
  const v = judgeMetric(fromValues(latencies(3, 500, 50)), fromValues(latencies(4, 500, 100)));
  assert.equal(v.verdict, 'higher');
  assert.ok(
    (v.medianRatio as number) > 1.7 && (v.medianRatio as number) < 2.3,
    `ratio ${v.medianRatio}`,
  );
});

test('a candidate twice as fast is "lower"', () => {
  const v = judgeMetric(fromValues(latencies(5, 500, 100)), fromValues(latencies(6, 500, 50)));
  assert.equal(v.verdict, 'lower');
  assert.ok((v.medianRatio as number) < 0.6);
});

test('histogram buckets give the same verdict as the raw latencies', () => {
  const old = latencies(7, 5000, 50);
  const slow = latencies(8, 5000, 100);
  assert.equal(judgeMetric(histogram(old, BOUNDS), histogram(slow, BOUNDS)).verdict, 'higher');
  assert.equal(
    judgeMetric(histogram(old, BOUNDS), histogram(latencies(9, 5000, 50), BOUNDS)).verdict,
    'pass',
  );
});

test('a significant but small shift (3%) still passes: within the 10% tolerance', () => {
  const v = judgeMetric(
    fromValues(latencies(10, 50000, 50)),
    fromValues(latencies(11, 50000, 51.5)),
  );
  assert.ok((v.p as number) < 0.05, `p = ${v.p}`);
  assert.equal(v.verdict, 'pass');
});

test('too few observations is "nodata", never "pass", even when the few agree', () => {
  const few = fromValues([10, 10, 10, 10, 10]);
  const v = judgeMetric(few, few);
  assert.equal(v.verdict, 'nodata');
  assert.equal(v.p, undefined);
  assert.equal(judgeMetric([], fromValues(latencies(12, 500, 50))).verdict, 'nodata');
  const justEnough = fromValues(latencies(13, DEFAULT_VERDICT_OPTIONS.minSamples, 50));
  assert.notEqual(judgeMetric(justEnough, justEnough).verdict, 'nodata');
});

test('a zero baseline median gives no ratio, and the test alone decides', () => {
  const zeros = [{ value: 0, count: 100 }];
  const v = judgeMetric(zeros, fromValues(latencies(14, 100, 50)));
  assert.equal(v.medianRatio, undefined);
  assert.equal(v.verdict, 'higher');
});
