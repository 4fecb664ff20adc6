import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fitIncidentDecay } from '../../src/report/index.ts';
import { prng } from '../helpers/prng.ts';

/** Poisson draw by Knuth's product of uniforms: fine for the means (< 100) used here. */
function poisson(rand: () => number, mean: number): number {
  const limit = Math.exp(-mean);
  let k = 0;
  let p = rand();
  while (p > limit) {
    k += 1;
    p *= rand();
  }
  return k;
}

function weekly(seed: number, a: number, k: number, weeks: number): number[] {
  const rand = prng(seed);
  return Array.from({ length: weeks }, (_, t) => poisson(rand, a * Math.exp(-k * t)));
}

test('recovers k from synthetic weekly counts within ±0.03 per week, the 95% CI covering it', () => {
  // a = 40 incidents in week 0, k = 0.15/week (half-life 4.6 weeks), 36 weeks:
  // the tail has many zero weeks, which log-linear least squares cannot take.
  let covered = 0;
  for (let seed = 1; seed <= 20; seed++) {
    const counts = weekly(seed, 40, 0.15, 36);
    assert.ok(counts.includes(0), 'the synthetic series has zero weeks');
    const fit = fitIncidentDecay(counts);
    assert.ok(fit !== undefined);
    assert.ok(Math.abs(fit.k - 0.15) < 0.03, `seed ${seed}: k = ${fit.k}`);
    assert.ok(fit.declining);
    assert.ok(Math.abs((fit.halfLifeWeeks as number) - Math.LN2 / fit.k) < 1e-12);
    if (fit.kLow <= 0.15 && 0.15 <= fit.kHigh) covered += 1;
  }
  // A 95% interval covers the truth in about 19 of 20 runs; 17 leaves room for chance.
  assert.ok(covered >= 17, `covered ${covered} of 20`);
});

test('exact exponential counts give back a and k', () => {
  const counts = Array.from({ length: 12 }, (_, t) => Math.round(1000 * Math.exp(-0.2 * t)));
  const fit = fitIncidentDecay(counts);
  assert.ok(fit !== undefined);
  assert.ok(Math.abs(fit.k - 0.2) < 0.005, `k = ${fit.k}`);
  assert.ok(Math.abs(fit.a - 1000) < 10, `a = ${fit.a}`);
});

test('flat incident counts: "no decline", no half-life', () => {
  const fit = fitIncidentDecay(weekly(99, 5, 0, 20));
  assert.ok(fit !== undefined);
  assert.equal(fit.declining, false);
  assert.equal(fit.halfLifeWeeks, undefined);
  assert.ok(fit.kLow <= 0 && fit.kHigh >= 0, `CI [${fit.kLow}, ${fit.kHigh}] spans 0`);
});

test('rising incidents: k < 0, no decline', () => {
  const fit = fitIncidentDecay(weekly(7, 2, -0.1, 20));
  assert.ok(fit !== undefined);
  assert.ok(fit.k < 0);
  assert.equal(fit.declining, false);
});

test('no fit with fewer than 3 weeks, no incidents at all, or counts that are not whole numbers', () => {
  assert.equal(fitIncidentDecay([5, 3]), undefined);
  assert.equal(fitIncidentDecay([0, 0, 0, 0]), undefined);
  assert.equal(fitIncidentDecay([5, 2.5, 1]), undefined);
  assert.equal(fitIncidentDecay([5, -1, 1]), undefined);
});
