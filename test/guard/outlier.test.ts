// Outlier ejection is pure logic over a clock, tested in-process with a clock
// the test moves by hand (and once with node:test's fake timers).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { OutlierConfig } from '../../src/config/index.ts';
import { DEFAULTS } from '../../src/config/index.ts';
import { maxEjectedOf, OutlierDetector } from '../../src/guard/outlier.ts';

const START = 1_000_000;

interface Harness {
  readonly detector: OutlierDetector;
  readonly ejections: { index: number; untilMs: number; consecutive: number; ejections: number }[];
  readonly returns: number[];
  now(): number;
  advance(ms: number): void;
}

function harness(instances: number, overrides: Partial<OutlierConfig> = {}): Harness {
  let now = START;
  const ejections: Harness['ejections'] = [];
  const returns: number[] = [];
  const detector = new OutlierDetector({ ...DEFAULTS.outlier, ...overrides }, instances, {
    now: () => now,
    onEject: (index, untilMs, consecutive, count) =>
      ejections.push({ index, untilMs, consecutive, ejections: count }),
    onReturn: (index) => returns.push(index),
  });
  return {
    detector,
    ejections,
    returns,
    now: () => now,
    advance(ms) {
      now += ms;
    },
  };
}

function errors(detector: OutlierDetector, index: number, n: number): void {
  for (let i = 0; i < n; i++) detector.record(index, false);
}

test('ejects an instance after consecutiveErrors errors in a row', () => {
  const h = harness(3, { consecutiveErrors: 5 });
  errors(h.detector, 1, 4);
  assert.equal(h.detector.isEjected(1), false);
  errors(h.detector, 1, 1);
  assert.equal(h.detector.isEjected(1), true);
  assert.equal(h.detector.isEjected(0), false);
  assert.equal(h.detector.isEjected(2), false);
  assert.deepEqual(h.ejections, [
    { index: 1, untilMs: START + 30_000, consecutive: 5, ejections: 1 },
  ]);
});

test('a success in between resets the count', () => {
  const h = harness(3, { consecutiveErrors: 5 });
  errors(h.detector, 0, 4);
  h.detector.record(0, true);
  errors(h.detector, 0, 4);
  assert.equal(h.detector.isEjected(0), false);
  assert.deepEqual(h.ejections, []);
  errors(h.detector, 0, 1);
  assert.equal(h.detector.isEjected(0), true);
});

test('errors on other instances do not add up', () => {
  const h = harness(3, { consecutiveErrors: 5 });
  for (let i = 0; i < 4; i++) {
    errors(h.detector, 0, 1);
    errors(h.detector, 1, 1);
    errors(h.detector, 2, 1);
  }
  assert.equal(h.detector.ejectedCount, 0);
});

test('an ejected instance returns by itself after ejectFor, reported once', () => {
  const h = harness(2, { ejectFor: 30_000 });
  errors(h.detector, 0, 5);
  h.advance(29_999);
  assert.equal(h.detector.isEjected(0), true);
  assert.deepEqual(h.returns, []);
  h.advance(1);
  assert.equal(h.detector.isEjected(0), false);
  assert.equal(h.detector.isEjected(0), false);
  assert.deepEqual(h.returns, [0]);
  assert.equal(h.detector.ejectedCount, 0);
});

test('the returned instance starts counting errors from zero', () => {
  const h = harness(2);
  errors(h.detector, 0, 7);
  h.advance(30_000);
  assert.equal(h.detector.isEjected(0), false);
  errors(h.detector, 0, 4);
  assert.equal(h.detector.isEjected(0), false);
});

test('a second ejection lasts twice as long', () => {
  const h = harness(2, { ejectFor: 30_000 });
  errors(h.detector, 0, 5);
  h.advance(30_000);
  assert.equal(h.detector.isEjected(0), false);
  errors(h.detector, 0, 5);
  assert.equal(h.ejections[1].untilMs, h.now() + 60_000);
  assert.equal(h.ejections[1].ejections, 2);
  h.advance(59_999);
  assert.equal(h.detector.isEjected(0), true);
  h.advance(1);
  assert.equal(h.detector.isEjected(0), false);
});

test('ejection time grows up to maxEjectFor and no further', () => {
  const h = harness(2, { ejectFor: 30_000, maxEjectFor: 100_000 });
  const lengths: number[] = [];
  for (let i = 0; i < 5; i++) {
    errors(h.detector, 0, 5);
    const until = h.ejections.at(-1)!.untilMs;
    lengths.push(until - h.now());
    h.advance(until - h.now());
    assert.equal(h.detector.isEjected(0), false);
  }
  assert.deepEqual(lengths, [30_000, 60_000, 90_000, 100_000, 100_000]);
});

test('the multiplier drops by one for each ejectFor the instance stays back', () => {
  const h = harness(2, { ejectFor: 30_000 });
  errors(h.detector, 0, 5);
  h.advance(30_000);
  errors(h.detector, 0, 5);
  h.advance(60_000);
  assert.equal(h.detector.isEjected(0), false);
  assert.equal(h.detector.snapshot().instances[0].ejections, 2);
  h.advance(29_999);
  assert.equal(h.detector.snapshot().instances[0].ejections, 2);
  h.advance(1);
  assert.equal(h.detector.snapshot().instances[0].ejections, 1);
  errors(h.detector, 0, 5);
  assert.equal(h.ejections.at(-1)!.untilMs - h.now(), 60_000, 'second, not third, ejection');
  h.advance(60_000 + 5 * 30_000);
  assert.equal(h.detector.isEjected(0), false);
  assert.equal(h.detector.snapshot().instances[0].ejections, 0, 'fully forgiven');
  errors(h.detector, 0, 5);
  assert.equal(h.ejections.at(-1)!.untilMs - h.now(), 30_000);
});

test('forgiveness applies to the next ejection without anyone looking', () => {
  const h = harness(2, { ejectFor: 10_000, maxEjectFor: 1_000_000 });
  for (let i = 0; i < 3; i++) {
    errors(h.detector, 0, 5);
    h.advance(h.ejections.at(-1)!.untilMs - h.now());
  }
  // Three ejections (10 s, 20 s, 30 s); back for 20 s forgives two of them.
  h.advance(20_000);
  errors(h.detector, 0, 5);
  assert.equal(h.ejections.at(-1)!.untilMs - h.now(), 20_000);
  assert.equal(h.ejections.at(-1)!.ejections, 2);
});

test('never ejects more than maxEjectedPercent of the instances', () => {
  const h = harness(4, { maxEjectedPercent: 50, ejectFor: 30_000 });
  errors(h.detector, 0, 5);
  h.advance(10_000);
  for (let i = 1; i < 4; i++) errors(h.detector, i, 5);
  assert.deepEqual(
    [0, 1, 2, 3].map((i) => h.detector.isEjected(i)),
    [true, true, false, false],
  );
  assert.equal(h.detector.ejectedCount, 2);
  // Once one returns there is room: the next error of a failing one ejects it.
  h.advance(20_000);
  assert.equal(h.detector.isEjected(0), false);
  errors(h.detector, 2, 1);
  assert.equal(h.detector.isEjected(2), true);
  assert.equal(h.detector.isEjected(3), false);
  assert.equal(h.detector.ejectedCount, 2);
});

test('an expired ejection that nobody looked at frees its place', () => {
  const h = harness(2, { maxEjectedPercent: 50 });
  errors(h.detector, 0, 5);
  errors(h.detector, 1, 5);
  assert.equal(h.detector.isEjected(1), false, 'only one of two may be out');
  h.advance(30_000);
  errors(h.detector, 1, 1);
  assert.equal(h.detector.isEjected(1), true);
  assert.deepEqual(h.returns, [0]);
});

test('a single instance is never ejected', () => {
  const h = harness(1, { maxEjectedPercent: 100 });
  errors(h.detector, 0, 100);
  assert.equal(h.detector.isEjected(0), false);
  assert.deepEqual(h.ejections, []);
});

test('one instance always stays in, and at least one may go when the percentage allows any', () => {
  assert.equal(maxEjectedOf(1, 100), 0);
  assert.equal(maxEjectedOf(2, 100), 1);
  assert.equal(maxEjectedOf(2, 50), 1);
  assert.equal(maxEjectedOf(2, 10), 1);
  assert.equal(maxEjectedOf(10, 10), 1);
  assert.equal(maxEjectedOf(10, 35), 3);
  assert.equal(maxEjectedOf(10, 100), 9);
  assert.equal(maxEjectedOf(10, 0), 0);
  const h = harness(2, { maxEjectedPercent: 100 });
  errors(h.detector, 0, 5);
  errors(h.detector, 1, 5);
  assert.equal(h.detector.ejectedCount, 1);
  assert.equal(h.detector.isEjected(1), false);
  const none = harness(5, { maxEjectedPercent: 0 });
  for (let i = 0; i < 5; i++) errors(none.detector, i, 10);
  assert.equal(none.detector.ejectedCount, 0);
});

test('snapshot shows each instance', () => {
  const h = harness(3, { ejectFor: 30_000 });
  errors(h.detector, 2, 5);
  errors(h.detector, 1, 2);
  assert.deepEqual(h.detector.snapshot(), {
    ejected: 1,
    maxEjected: 1,
    instances: [
      { index: 0, ejected: false, ejectedUntil: null, consecutiveErrors: 0, ejections: 0 },
      { index: 1, ejected: false, ejectedUntil: null, consecutiveErrors: 2, ejections: 0 },
      { index: 2, ejected: true, ejectedUntil: START + 30_000, consecutiveErrors: 0, ejections: 1 },
    ],
  });
  h.advance(30_000);
  const s = h.detector.snapshot();
  assert.equal(s.ejected, 0);
  assert.equal(s.instances[2].ejected, false);
  assert.deepEqual(h.returns, [2]);
});

test('uses Date.now by default, so fake timers drive it', (t) => {
  t.mock.timers.enable({ apis: ['Date'], now: 0 });
  const detector = new OutlierDetector(DEFAULTS.outlier, 2);
  errors(detector, 1, 5);
  t.mock.timers.tick(29_999);
  assert.equal(detector.isEjected(1), true);
  t.mock.timers.tick(1);
  assert.equal(detector.isEjected(1), false);
});
