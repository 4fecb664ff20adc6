// The text views of rollouts, from fixed API documents.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  formatDuration,
  formatGate,
  formatHistory,
  formatRollout,
  formatRollouts,
  formatStep,
  formatTime,
  NO_ROLLOUTS,
} from '../../src/cli/rollout-format.ts';
import type { GateResult, LedgerEntry, RolloutStatus } from '../../src/rollout/index.ts';

const gate = (g: Partial<GateResult> & Pick<GateResult, 'name'>): GateResult => ({
  status: 'passed',
  value: 0,
  threshold: 0.003,
  bound: 'max',
  unit: 'ratio',
  detail: '',
  ...g,
});

const GATES: GateResult[] = [
  gate({ name: 'errorRate', value: 0, threshold: 0.003 }),
  gate({ name: 'p95', value: 12.34, threshold: 800, unit: 'ms' }),
  gate({ name: 'mismatchRate', status: 'waiting', value: null, threshold: 0.01 }),
];

const STATUS: RolloutStatus = {
  route: 'orders',
  configured: true,
  state: 'canary',
  step: 1,
  steps: [5, 25, 50, 75, 100],
  weight: 25,
  since: '2025-03-01T10:00:00.000Z',
  timeInStateMs: 65_400,
  failures: 0,
  failureLimit: 2,
  reason: 'step 2 of 5 (25%): gates passed',
  waitingFor: 'holding the step for 20 s more',
  gates: GATES,
};

const entry = (e: Partial<LedgerEntry>): LedgerEntry => ({
  at: '2025-03-01T10:00:00.123Z',
  route: 'orders',
  kind: 'transition',
  from: 'off',
  to: 'canary',
  step: 0,
  previousWeight: 0,
  weight: 5,
  by: 'config',
  reason: 'started',
  failures: 0,
  gates: [],
  ...e,
});

describe('rollout format: pieces', () => {
  test('durations: seconds, then minutes and seconds, hours and minutes, days and hours', () => {
    assert.equal(formatDuration(0), '0s');
    assert.equal(formatDuration(999), '0s');
    assert.equal(formatDuration(59_999), '59s');
    assert.equal(formatDuration(65_000), '1m05s');
    assert.equal(formatDuration(3_600_000 + 3 * 60_000 + 59_000), '1h03m');
    assert.equal(formatDuration(2 * 86_400_000 + 4 * 3_600_000), '2d04h');
    assert.equal(formatDuration(-5), '0s');
  });

  test('gates: value, bound and mark; waiting ones say so', () => {
    assert.equal(formatGate(GATES[0]), 'errorRate 0.00%≤0.30% ✓');
    assert.equal(formatGate(GATES[1]), 'p95 12.3ms≤800ms ✓');
    assert.equal(formatGate(GATES[2]), 'mismatchRate waiting');
    assert.equal(
      formatGate(gate({ name: 'errorRate', status: 'failed', value: 0.041 })),
      'errorRate 4.10%>0.30% ✗',
    );
    assert.equal(
      formatGate(gate({ name: 'errorRate', value: 0.0005, threshold: 0.001 })),
      'errorRate 0.050%≤0.10% ✓',
    );
  });

  test('gates with a lower bound and plain numbers', () => {
    const g = { name: 'throughput', unit: 'number', bound: 'min', threshold: 50 } as const;
    assert.equal(formatGate(gate({ ...g, value: 61.25 })), 'throughput 61.25≥50 ✓');
    assert.equal(formatGate(gate({ ...g, status: 'failed', value: 12 })), 'throughput 12<50 ✗');
  });

  test('steps count from 1 and show their weight; none outside a canary', () => {
    assert.equal(formatStep(STATUS), '2/5 (25%)');
    assert.equal(formatStep({ step: null, steps: [5, 25] }), '-');
    assert.equal(formatStep({ step: 2, steps: [5, 25] }), '-');
  });

  test('times to the second, UTC', () => {
    assert.equal(formatTime('2025-03-01T10:00:00.123Z'), '2025-03-01T10:00:00Z');
    assert.equal(formatTime('2025-03-01T11:00:00.999+01:00'), '2025-03-01T10:00:00Z');
  });
});

describe('rollout format: views', () => {
  test('status table: one row per rollout; waitingFor, else the reason', () => {
    const done: RolloutStatus = {
      ...STATUS,
      route: 'users',
      state: 'done',
      step: null,
      weight: 100,
      timeInStateMs: 7_200_000,
      reason: 'every step passed its gates',
      waitingFor: null,
      gates: [],
    };
    assert.equal(
      formatRollouts([STATUS, done]),
      [
        'ROUTE   STATE   STEP       WEIGHT  IN STATE  GATES                                                              WAITING FOR / REASON',
        'orders  canary  2/5 (25%)  25%     1m05s     errorRate 0.00%≤0.30% ✓, p95 12.3ms≤800ms ✓, mismatchRate waiting  holding the step for 20 s more',
        'users   done    -          100%    2h00m     -                                                                  every step passed its gates',
      ].join('\n'),
    );
  });

  test('status table: a rollout never started has no time in state; a route without its block says so', () => {
    const off: RolloutStatus = {
      ...STATUS,
      configured: false,
      state: 'off',
      step: null,
      weight: 0,
      since: null,
      timeInStateMs: 0,
      reason: 'no rollout started',
      waitingFor: null,
      gates: [],
    };
    const row = formatRollouts([off]).split('\n')[1];
    assert.match(row, /^orders \(no rollout block\)\s+off\s+-\s+0%\s+-\s+-\s+no rollout started$/);
  });

  test('no rollouts: the manual routes, and how to add a rollout', () => {
    assert.equal(formatRollouts([]), NO_ROLLOUTS);
    const text = formatRollouts([], [{ name: 'users', weight: 12.5 }]);
    assert.match(
      text.split('\n')[1],
      /^users\s+manual\s+-\s+12\.5%\s+-\s+-\s+no rollout: weight set by hand$/,
    );
    assert.ok(text.endsWith(`\n\n${NO_ROLLOUTS}`));
    assert.match(NO_ROLLOUTS, /`rollout:` block/);
  });

  test('one rollout: route, state, step, weight, reason, and what it waits for', () => {
    assert.equal(
      formatRollout(STATUS),
      [
        'route        orders',
        'state        canary',
        'step         2/5 (25%)',
        'weight       25%',
        'reason       step 2 of 5 (25%): gates passed',
        'waiting for  holding the step for 20 s more',
      ].join('\n'),
    );
    const failing = formatRollout({ ...STATUS, waitingFor: null, failures: 1 });
    assert.doesNotMatch(failing, /waiting for/);
    assert.match(failing, /^failures {2}1 of 2$/m);
  });

  test('history: moves for transitions, the kind for gates and confirm entries', () => {
    const text = formatHistory('orders', [
      entry({}),
      entry({
        at: '2025-03-01T10:00:01.500Z',
        kind: 'gates',
        from: 'canary',
        previousWeight: 5,
        by: 'controller',
        reason: 'gates waiting for data',
      }),
      entry({
        at: '2025-03-01T10:05:00Z',
        kind: 'confirm',
        from: 'canary',
        previousWeight: 5,
        by: 'webhook',
        reason: 'step up to 25% refused: change freeze',
      }),
      entry({
        at: '2025-03-01T10:10:00Z',
        from: 'canary',
        previousWeight: 5,
        weight: 25,
        by: 'api',
        reason: 'step 2 of 5 (25%): promoted by api',
      }),
    ]);
    assert.equal(
      text,
      [
        'TIME                  BY          FROM→TO        WEIGHT  REASON',
        '2025-03-01T10:00:00Z  config      off→canary     0%→5%   started',
        '2025-03-01T10:00:01Z  controller  gates          5%      gates waiting for data',
        '2025-03-01T10:05:00Z  webhook     confirm        5%      step up to 25% refused: change freeze',
        '2025-03-01T10:10:00Z  api         canary→canary  5%→25%  step 2 of 5 (25%): promoted by api',
      ].join('\n'),
    );
  });

  test('history: none yet', () => {
    assert.equal(formatHistory('orders', []), 'no rollout history for route "orders"');
  });
});
