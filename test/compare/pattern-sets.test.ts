// Counting shadow pairs by the set of patterns they differed in: the verdicts
// follow the noise known now, the bound, since(), and when figures are settled.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  type CompareResult,
  compileCompareRules,
  MAX_PATTERN_SETS,
  NoiseTracker,
  type NoiseVerdicts,
  SETTLE_PAIRS,
  type ShadowPair,
  ShadowResults,
  UNLISTED_DIFFERENCES,
} from '../../src/compare/index.ts';
import { PatternSetCounts } from '../../src/compare/pattern-sets.ts';
import { jsonSample } from '../helpers/samples.ts';

/** Noise verdicts a test sets by hand: a new set object on each change, as NoiseTracker does. */
class HandNoise implements NoiseVerdicts {
  #set: ReadonlySet<string> = new Set();
  learning = false;
  noisyPatterns(): ReadonlySet<string> {
    return this.#set;
  }
  set(...patterns: string[]): void {
    this.#set = new Set(patterns);
  }
}

function addMany(counts: PatternSetCounts, n: number, patterns: readonly string[]): void {
  for (let i = 0; i < n; i++) counts.add(patterns);
}

describe('PatternSetCounts', () => {
  test('a field learned as noise clears every earlier pair that differed only in noise', () => {
    const noise = new HandNoise();
    const counts = new PatternSetCounts(noise);
    addMany(counts, 90, ['$.id']);
    addMany(counts, 10, ['$.id', '$.price']);
    assert.deepEqual(pick(counts.tally()), { compared: 100, mismatched: 100 });
    noise.set('$.id');
    assert.deepEqual(pick(counts.tally()), { compared: 100, mismatched: 10 });
    // …and a field that stops being noise counts again.
    noise.set();
    assert.equal(counts.tally().mismatched, 100);
  });

  test('matched pairs (the empty set) never count as mismatches', () => {
    const counts = new PatternSetCounts(new HandNoise());
    addMany(counts, 5, []);
    counts.add(['status']);
    assert.deepEqual(pick(counts.tally()), { compared: 6, mismatched: 1 });
  });

  test(`past ${MAX_PATTERN_SETS} distinct sets a new set goes to the overflow, always a mismatch`, () => {
    const noise = new HandNoise();
    const counts = new PatternSetCounts(noise);
    // The empty set is one of the kept sets.
    for (let i = 1; i < MAX_PATTERN_SETS; i++) counts.add([`$.users.u${i}`]);
    assert.equal(counts.sets, MAX_PATTERN_SETS);
    counts.add(['$.users.late']);
    counts.add(['$.users.late']);
    // A set already kept still counts in its own bucket.
    counts.add(['$.users.u1']);
    assert.equal(counts.sets, MAX_PATTERN_SETS);
    assert.equal(counts.overflow, 2);
    noise.set('$.users.late', '$.users.u1');
    const t = counts.tally();
    assert.equal(t.compared, MAX_PATTERN_SETS + 2);
    // u1's two pairs are cleared; the overflowed ones cannot be.
    assert.equal(t.mismatched, MAX_PATTERN_SETS - 2 + 2);
  });

  test('since(): the pairs after a base, judged by the noise known now', () => {
    const noise = new HandNoise();
    const counts = new PatternSetCounts(noise);
    addMany(counts, 30, ['$.id']);
    const base = counts.tally();
    addMany(counts, 18, ['$.id']);
    addMany(counts, 2, ['$.id', '$.total']);
    counts.add(['$.new']); // a set the base never saw
    assert.deepEqual(pick(counts.tally().since(base)), { compared: 21, mismatched: 21 });
    noise.set('$.id');
    const since = counts.tally().since(base);
    assert.deepEqual(pick(since), { compared: 21, mismatched: 3 });
    // The base's own verdicts do not matter: it only says where the phase began.
    assert.deepEqual(pick(base), { compared: 30, mismatched: 30 });
    // A tally since itself is empty; a tally of other counts is no base at all.
    assert.deepEqual(pick(counts.tally().since(counts.tally())), { compared: 0, mismatched: 0 });
    const other = new PatternSetCounts(noise);
    assert.deepEqual(pick(counts.tally().since(other.tally())), { compared: 51, mismatched: 3 });
  });

  test('settled: not while learning, nor within SETTLE_PAIRS pairs of a verdict change', () => {
    const noise = new HandNoise();
    const counts = new PatternSetCounts(noise);
    assert.equal(counts.tally().settled, true, 'nothing learned, nothing moves');
    noise.learning = true;
    assert.equal(counts.tally().settled, false);
    noise.learning = false;
    addMany(counts, 5, ['$.id']);
    noise.set('$.id');
    assert.equal(counts.tally().settled, false);
    addMany(counts, SETTLE_PAIRS - 1, ['$.id']);
    assert.equal(counts.tally().settled, false);
    counts.add(['$.id']);
    assert.equal(counts.tally().settled, true);
    // A tally taken while unsettled stays so; `since` carries the newer verdict.
    const later = counts.tally();
    assert.equal(later.since(later).settled, true);
  });

  test('the same tally object is returned until something changes', () => {
    const noise = new HandNoise();
    const counts = new PatternSetCounts(noise);
    counts.add(['$.a']);
    const t = counts.tally();
    assert.equal(counts.tally(), t);
    noise.set('$.a');
    assert.notEqual(counts.tally(), t);
    assert.equal(t.mismatched, 1, 'a tally already taken does not change');
  });
});

function pick(t: { compared: number; mismatched: number }) {
  return { compared: t.compared, mismatched: t.mismatched };
}

const rules = compileCompareRules();

const json = jsonSample;

function pairOf(i: number, price: number): ShadowPair {
  return {
    method: 'GET',
    url: `/items/${i}`,
    requestHeaders: {},
    legacy: json({ id: `a${i}`, price: 10 }),
    candidate: json({ id: `b${i}`, price }),
    legacyMs: 1,
    candidateMs: 1,
  };
}

describe('ShadowResults with a NoiseTracker', () => {
  test('noise learned after the pairs: summary, field table and samples all follow', () => {
    const noise = new NoiseTracker(rules);
    const results = new ShadowResults({ route: 'r', samples: 5, noise });
    const compare = (p: ShadowPair): CompareResult => {
      const differences = [
        { path: '$.id', pattern: '$.id', kind: 'changed' as const, legacy: 'a', candidate: 'b' },
      ];
      if (p.url.endsWith('0')) {
        differences.push({
          path: '$.price',
          pattern: '$.price',
          kind: 'changed' as const,
          legacy: 'x',
          candidate: 'y',
        });
      }
      return { match: false, differences, truncated: false };
    };
    for (let i = 1; i <= 20; i++) {
      const p = pairOf(i, i % 10 === 0 ? 11 : 10);
      results.record(p, compare(p));
    }
    assert.equal(results.summary().mismatchRatio, 1);
    assert.equal(results.samples().length, 5);
    // Two legacy answers that differ only in the id: the id is noise from the second pair.
    noise.observe(json({ id: 'x1', price: 10 }), json({ id: 'x2', price: 10 }));
    noise.observe(json({ id: 'x3', price: 10 }), json({ id: 'x4', price: 10 }));
    const s = results.summary();
    assert.deepEqual(
      {
        compared: s.compared,
        mismatched: s.mismatched,
        ratio: s.mismatchRatio,
        settled: s.settled,
      },
      { compared: 20, mismatched: 2, ratio: 0.1, settled: false },
    );
    const fields = results.toJSON().fields;
    assert.deepEqual(
      fields.map((f) => [f.pattern, f.raw, f.noise]),
      [
        ['$.price', 2, 0],
        ['$.id', 0, 20],
      ],
    );
    // Samples that differed only in noise are no longer shown.
    assert.deepEqual(
      results.samples().map((x) => x.url),
      ['/items/20'],
    );
  });

  test('a pair whose differences were cut at maxDifferences stays a mismatch', () => {
    const results = new ShadowResults({
      route: 'r',
      samples: 0,
      noise: { noisyPatterns: () => new Set(['$.a']), learning: false },
    });
    results.record(pairOf(1, 10), {
      match: false,
      differences: [{ path: '$.a', pattern: '$.a', kind: 'changed' }],
      truncated: true,
    });
    assert.equal(results.summary().mismatched, 1);
    assert.ok(!results.toJSON().fields.some((f) => f.pattern === UNLISTED_DIFFERENCES));
  });
});

describe('NoiseTracker fast start', () => {
  test('the first learnFirst copies are probed whatever the roll, then only the sample', () => {
    const noise = new NoiseTracker(rules, { learnFirst: 3 });
    assert.equal(noise.learning, false, 'no probe yet: nothing is moving');
    const rolls = [0.99, 0.99, 0.99, 0.99, 0.001];
    assert.deepEqual(
      rolls.map((r) => noise.wantsProbe(0.01, r)),
      [true, true, true, false, true],
    );
    assert.equal(noise.learning, true);
    noise.probeEnded(json({ id: 1 }), json({ id: 2 }));
    noise.probeEnded(); // a failed probe ends too
    assert.equal(noise.learning, true);
    noise.probeEnded(json({ id: 3 }), json({ id: 4 }));
    assert.equal(noise.learning, false);
    assert.equal(noise.pairs, 2);
    assert.deepEqual([...noise.noisyPatterns()], ['$.id']);
  });

  test('noisyPatterns keeps its identity until a verdict changes', () => {
    const noise = new NoiseTracker(rules);
    const empty = noise.noisyPatterns();
    noise.observe(json({ id: 1, v: 1 }), json({ id: 2, v: 1 }));
    assert.equal(noise.noisyPatterns(), empty, 'one pair: not noise yet');
    noise.observe(json({ id: 3, v: 1 }), json({ id: 4, v: 1 }));
    const withId = noise.noisyPatterns();
    assert.notEqual(withId, empty);
    noise.observe(json({ id: 5, v: 1 }), json({ id: 6, v: 1 }));
    assert.equal(noise.noisyPatterns(), withId, 'same verdicts, same object');
    assert.ok(!empty.has('$.id'), 'an earlier set is never changed in place');
  });

  test('startFastPhase: learning turned on by a reload starts its own fast start; 0 ends it', () => {
    const noise = new NoiseTracker(rules);
    assert.equal(noise.wantsProbe(0.01, 0.5), false);
    noise.startFastPhase(2);
    assert.equal(noise.wantsProbe(0.01, 0.5), true);
    assert.equal(noise.learning, true);
    noise.startFastPhase(0);
    assert.equal(noise.wantsProbe(0.01, 0.5), false);
    assert.equal(noise.learning, true, 'the probe in flight still counts');
    noise.probeEnded();
    assert.equal(noise.learning, false);
  });

  test('rejects a bad learnFirst', () => {
    assert.throws(() => new NoiseTracker(rules, { learnFirst: -1 }), /learnFirst/);
  });
});
