import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fromValues, mannWhitney, type WeightedValue } from '../../src/report/index.ts';

const X = [1, 2, 2, 3, 3, 3, 4, 5, 5, 6, 7, 8, 8, 8, 9, 10, 11, 12, 12, 13];
const Y = [3, 4, 5, 5, 6, 7, 8, 9, 9, 10, 11, 12, 13, 13, 14, 15, 15, 16, 17, 18];

test('U and the tie-corrected two-sided p match SciPy (mannwhitneyu, asymptotic, continuity)', () => {
  // scipy.stats.mannwhitneyu(Y, X, method='asymptotic', use_continuity=True)
  // → statistic 297.5, pvalue 0.008540748778369286
  const r = mannWhitney(fromValues(X), fromValues(Y));
  assert.equal(r.u, 297.5);
  assert.equal(r.n1, 20);
  assert.equal(r.n2, 20);
  assert.ok(Math.abs(r.p - 0.008540748778369286) < 1e-6, `p = ${r.p}`);
  assert.ok(r.z > 0, 'the second sample is the higher one');
});

test('a histogram gives the same answer as the raw values it counts', () => {
  const bucket = (values: number[]): WeightedValue[] => {
    const counts = new Map<number, number>();
    for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
    return [...counts].map(([value, count]) => ({ value, count }));
  };
  const raw = mannWhitney(fromValues(X), fromValues(Y));
  const hist = mannWhitney(bucket(X), bucket(Y));
  assert.deepEqual(hist, raw);
});

test('swapping the samples mirrors U and keeps p', () => {
  const a = mannWhitney(fromValues(X), fromValues(Y));
  const b = mannWhitney(fromValues(Y), fromValues(X));
  assert.equal(a.u + b.u, 400);
  assert.ok(Math.abs(a.p - b.p) < 1e-12);
});

test('all values tied: no evidence of a difference (p = 1), not a division by zero', () => {
  const r = mannWhitney([{ value: 5, count: 30 }], [{ value: 5, count: 40 }]);
  assert.equal(r.p, 1);
  assert.equal(r.z, 0);
});

test('entries with no count, fractional counts or a NaN value are ignored', () => {
  const r = mannWhitney(
    [...fromValues(X), { value: Number.NaN, count: 3 }, { value: 1, count: 0.5 }],
    [...fromValues(Y), { value: 2, count: 0 }],
  );
  assert.equal(r.n1, 20);
  assert.equal(r.n2, 20);
  assert.equal(r.u, 297.5);
});

test('the +Inf bucket counts: slow requests beyond the last bound make the candidate higher', () => {
  const old = [
    { value: 50, count: 90 },
    { value: 100, count: 10 },
    { value: Number.POSITIVE_INFINITY, count: 0 },
  ];
  const slow = [
    { value: 50, count: 60 },
    { value: 100, count: 10 },
    { value: Number.POSITIVE_INFINITY, count: 30 },
  ];
  const r = mannWhitney(old, slow);
  assert.equal(r.n2, 100);
  assert.ok(r.z > 0 && r.p < 0.05, `z = ${r.z}, p = ${r.p}`);
});
