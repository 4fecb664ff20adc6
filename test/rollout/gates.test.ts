// The gates as pure functions of the figures the controller gathers.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { RolloutConfig } from '../../src/config/index.ts';
import { describeGate, evaluateGates, type SideFigures } from '../../src/rollout/gates.ts';
import type { GateResult, ShadowTally } from '../../src/rollout/types.ts';
import { rolloutOf } from '../helpers/config.ts';

const rolloutConfig = (block = '{}'): RolloutConfig =>
  rolloutOf(block, 'rollouts: { prometheus: { url: "http://127.0.0.1:1" } }\n');

/** A side with `requests`, `errors`, percentiles, and `slow` requests above any bound asked. */
function side(requests: number, errors = 0, p95 = 10, p99 = 20, slow = 0): SideFigures {
  return { requests, errors, p95, p99, countAbove: () => slow };
}

const gate = (gates: GateResult[], name: string): GateResult => {
  const g = gates.find((x) => x.name === name);
  assert.ok(g, `gate ${name}`);
  return g;
};

const canary = (c: SideFigures, l: SideFigures = side(10_000), block?: string) =>
  evaluateGates(
    rolloutConfig(block),
    { candidate: c, legacy: l, shadow: undefined, queries: new Map() },
    'canary',
  );

test('too little data is waiting, never passed', () => {
  const gates = canary(side(50));
  for (const name of ['errorRate', 'p95', 'baselineErrorRate', 'baselineP99']) {
    assert.equal(gate(gates, name).status, 'waiting', name);
  }
  assert.match(gate(gates, 'errorRate').detail, /50 of 200/);
});

test('a rate gate fails early once no amount of good data could make it pass', () => {
  // 0.3% of 200 is 0.6: one error among 50 can never come back under it.
  const g = gate(canary(side(50, 1)), 'errorRate');
  assert.equal(g.status, 'failed');
  assert.match(
    describeGate(g),
    /^errorRate 2\.00% > 0\.30% \(1 of 50 candidate requests failed, already above/,
  );
});

test('errorRate and p95 pass and fail on their thresholds', () => {
  assert.equal(gate(canary(side(1000, 3)), 'errorRate').status, 'passed');
  assert.equal(gate(canary(side(1000, 4)), 'errorRate').status, 'failed');
  assert.equal(gate(canary(side(1000, 0, 800)), 'p95').status, 'passed');
  const slow = gate(canary(side(1000, 0, 801)), 'p95');
  assert.equal(slow.status, 'failed');
  assert.equal(describeGate(slow), 'p95 801.0 ms > 800.0 ms (candidate p95 over 1000 requests)');
});

test('baseline error rate: relative to legacy, with a floor for a zero baseline', () => {
  const block = '{ gates: { errorRate: false } }';
  // Legacy at 0%: the floor (0.1%) allows one error in 1,000, not two.
  assert.equal(
    gate(canary(side(1000, 1), side(10_000), block), 'baselineErrorRate').status,
    'passed',
  );
  assert.equal(
    gate(canary(side(1000, 2), side(10_000), block), 'baselineErrorRate').status,
    'failed',
  );
  // Legacy at 10%: 5% relative allows 10.5%.
  const legacy = side(10_000, 1000);
  assert.equal(gate(canary(side(1000, 105), legacy, block), 'baselineErrorRate').status, 'passed');
  const worse = gate(canary(side(1000, 106), legacy, block), 'baselineErrorRate');
  assert.equal(worse.status, 'failed');
  assert.ok(Math.abs(worse.threshold - 0.105) < 1e-9);
});

test('baseline p99: a few slow candidate requests pass, clearly more fail', () => {
  const legacy = side(10_000, 0, 50, 100);
  // Bound: 100 ms + 5% = 105 ms. Of 1,000 requests 1% (10) may be above it by chance;
  // the test tolerates up to 10 + 3.09·√9.9 ≈ 20.
  const ok = gate(canary(side(1000, 0, 60, 110, 12), legacy), 'baselineP99');
  assert.equal(ok.status, 'passed');
  assert.equal(ok.value, 110, 'the p99 is shown even when the test passes');
  assert.equal(ok.threshold, 105);
  const bad = gate(canary(side(1000, 0, 60, 200, 60), legacy), 'baselineP99');
  assert.equal(bad.status, 'failed');
  assert.match(bad.detail, /60 of 1000 candidate requests slower/);
  // At least 100 samples a side, whatever minRequests says.
  assert.equal(
    gate(canary(side(80, 0, 60, 200, 60), legacy, '{ minRequests: 10 }'), 'baselineP99').status,
    'waiting',
  );
});

/** Shadow figures as a gate reads them (`since` is the controller's, not the gate's). */
function tally(compared: number, mismatched: number, settled = true): ShadowTally {
  const t: ShadowTally = { compared, mismatched, settled, since: () => t };
  return t;
}

test('mismatchRate rules the shadow phase only', () => {
  const config = rolloutConfig('{ minRequests: 100 }');
  const shadow = (compared: number, mismatched: number) =>
    evaluateGates(
      config,
      {
        candidate: side(0),
        legacy: side(0),
        shadow: tally(compared, mismatched),
        queries: new Map(),
      },
      'shadow',
    );
  assert.deepEqual(
    shadow(1000, 5).map((g) => `${g.name}:${g.status}`),
    ['mismatchRate:passed'],
  );
  assert.equal(gate(shadow(1000, 11), 'mismatchRate').status, 'failed');
  assert.equal(gate(shadow(50, 0), 'mismatchRate').status, 'waiting');
  assert.ok(!canary(side(1000)).some((g) => g.name === 'mismatchRate'));
});

test('mismatchRate waits while noise is being learned: it neither passes nor fails early', () => {
  const config = rolloutConfig('{ minRequests: 100 }');
  const shadow = (t: ShadowTally) =>
    gate(
      evaluateGates(
        config,
        { candidate: side(0), legacy: side(0), shadow: t, queries: new Map() },
        'shadow',
      ),
      'mismatchRate',
    );
  // 90% of 1000 pairs differ, far past 1% of 100: settled, that fails at once…
  assert.equal(shadow(tally(1000, 900)).status, 'failed');
  // …but a field still being learned may be noise: waiting, with the ratio shown.
  const learning = shadow(tally(1000, 900, false));
  assert.equal(learning.status, 'waiting');
  assert.equal(learning.value, 0.9);
  assert.match(
    learning.detail,
    /900 of 1000 compared pairs differ so far; noise still being learned/,
  );
  assert.equal(shadow(tally(1000, 0, false)).status, 'waiting');
});

test('Prometheus gates: max, min, and waiting without an answer', () => {
  const config = rolloutConfig(
    '{ gates: { prometheus: [{ name: hi, query: "a", max: 1 }, { name: lo, query: "b", min: 5 }, { name: none, query: "c", max: 0 }] } }',
  );
  const gates = evaluateGates(
    config,
    {
      candidate: side(1000),
      legacy: side(10_000),
      shadow: undefined,
      queries: new Map([
        ['hi', { value: 2, problem: undefined }],
        ['lo', { value: 7, problem: undefined }],
        ['none', { value: undefined, problem: 'the query returned no data' }],
      ]),
    },
    'canary',
  );
  assert.equal(gate(gates, 'hi').status, 'failed');
  assert.equal(describeGate(gate(gates, 'hi')), 'hi 2 > 1 (a)');
  assert.equal(gate(gates, 'lo').status, 'passed');
  assert.equal(describeGate(gate(gates, 'lo')), 'lo 7 ≥ 5 (b)');
  assert.equal(gate(gates, 'none').status, 'waiting');
  assert.equal(gate(gates, 'none').detail, 'the query returned no data');
});
