// RolloutRun in-process, over real sliding windows on an injected clock: what
// one check reads, what it keeps for the reads that follow, and what a move
// carries into the next run.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { RolloutConfig } from '../../src/config/index.ts';
import { ConfirmFlow } from '../../src/rollout/confirm.ts';
import { RolloutRun } from '../../src/rollout/run.ts';
import { atStep, paused, type RolloutRecord, resumed, started } from '../../src/rollout/state.ts';
import type { RouteFigures } from '../../src/rollout/target.ts';
import type { ShadowTally } from '../../src/rollout/types.ts';
import { Webhooks } from '../../src/rollout/webhooks.ts';
import { createLogger, SlidingWindow } from '../../src/telemetry/index.ts';
import { rolloutOf } from '../helpers/config.ts';

// Half a second into a second: a phase's data begins at the next whole one.
const T0 = 1_800_000_000_500;
const NO_QUERIES = new Map();

const canaryRc = rolloutOf(
  '{ steps: [10, 50, 100], shadowFor: 0s, minRequests: 20, window: 30s, gates: { p95: false, baseline: false } }',
);
const shadowRc = rolloutOf('{ steps: [10, 100], shadowFor: 1m, minRequests: 20 }');

/**
 * Shadow counts as plain numbers (no noise verdict ever changes here): the
 * pairs since an earlier tally are the difference, or all of them when the
 * earlier one counted more (the counts started again).
 */
function pairs(compared: number, mismatched: number): ShadowTally {
  return {
    compared,
    mismatched,
    settled: true,
    since(earlier) {
      if (earlier.compared > compared) return pairs(compared, mismatched);
      return pairs(compared - earlier.compared, mismatched - earlier.mismatched);
    },
  };
}

/** The counts of a tally, to compare with plain objects. */
const counts = (t: ShadowTally | undefined) =>
  t && { compared: t.compared, mismatched: t.mismatched };

interface Figures {
  figures: RouteFigures;
  legacy: SlidingWindow;
  candidate: SlidingWindow;
  set(count: number, shadow?: ShadowTally): void;
}

/** Real windows read at `clock()`, with the counts a gateway would report. */
function figuresAt(clock: () => number): Figures {
  const legacy = new SlidingWindow({ retainSeconds: 31, clock });
  const candidate = new SlidingWindow({ retainSeconds: 31, clock });
  let candidateCount = 0;
  let shadow: ShadowTally | undefined;
  return {
    legacy,
    candidate,
    set(count, pairs) {
      candidateCount = count;
      shadow = pairs;
    },
    figures: {
      legacy,
      candidate,
      get candidateCount() {
        return candidateCount;
      },
      get shadow() {
        return shadow;
      },
      candidateBreakerOpen: false,
    },
  };
}

function record(window: SlidingWindow, status: number, n: number, at: number): void {
  for (let i = 0; i < n; i++) window.record(status, 5, status >= 500, at);
}

const canaryAt = (rc: RolloutConfig, now: number): RolloutRecord =>
  started(rc, 'config', 'test', now);

describe('RolloutRun', () => {
  test('evaluate reads the windows from where the phase began, and keeps the result as the last check', () => {
    let now = T0;
    const f = figuresAt(() => now);
    const rec = canaryAt(canaryRc, T0);
    // Failures from before the phase's data begins (the second it started in) do not count.
    record(f.candidate, 500, 30, T0);
    record(f.candidate, 200, 25, T0 + 2_000);
    now = T0 + 3_000;
    const run = new RolloutRun('main');
    assert.equal(run.gates.length, 0, 'no check yet');
    const gates = run.evaluate(canaryRc, rec, f.figures, NO_QUERIES, now);
    const errorRate = gates.find((g) => g.name === 'errorRate');
    assert.equal(errorRate?.status, 'passed');
    assert.equal(errorRate?.value, 0);
    assert.match(errorRate?.detail ?? '', /0 of 25/);
    assert.equal(run.gates, gates, 'kept for reads');
    // Reading the kept gates reads no window: new failures show only at the next evaluation.
    record(f.candidate, 500, 25, T0 + 3_000);
    assert.equal(run.gates.find((g) => g.name === 'errorRate')?.status, 'passed');
    const next = run.evaluate(canaryRc, rec, f.figures, NO_QUERIES, now);
    assert.equal(next.find((g) => g.name === 'errorRate')?.status, 'failed');
  });

  test('gatesChanged is true on the first evaluation and when an outcome changes, not on the same outcomes', () => {
    let now = T0 + 5_000;
    const f = figuresAt(() => now);
    const rec = canaryAt(canaryRc, T0);
    const run = new RolloutRun('main');
    run.evaluate(canaryRc, rec, f.figures, NO_QUERIES, now);
    assert.equal(run.gatesChanged(), true, 'first: errorRate waiting');
    record(f.candidate, 200, 5, now);
    run.evaluate(canaryRc, rec, f.figures, NO_QUERIES, now);
    assert.equal(run.gatesChanged(), false, 'still waiting, other values');
    record(f.candidate, 200, 30, now);
    now += 1_000;
    run.evaluate(canaryRc, rec, f.figures, NO_QUERIES, now);
    assert.equal(run.gatesChanged(), true, 'waiting → passed');
  });

  test('facts count the step from its first check and the shadow pairs from theirs', () => {
    const now = T0 + 10_000;
    const f = figuresAt(() => now);
    const rec = started(shadowRc, 'config', 'test', T0);
    const run = new RolloutRun('main');
    f.set(100, pairs(40, 4));
    const first = run.facts(rec, f.figures, now);
    assert.equal(first.stepRequests, 0);
    assert.equal(first.shadowCompared, 0);
    assert.equal(first.heldMs, 10_000);
    f.set(130, pairs(70, 5));
    const later = run.facts(rec, f.figures, now);
    assert.equal(later.stepRequests, 30);
    assert.equal(later.shadowCompared, 30);
    assert.deepEqual(counts(run.shadowSince(f.figures)), { compared: 30, mismatched: 1 });
    // A reload that made new shadow counts: each of their pairs came after the base (the tally says so).
    f.set(130, pairs(5, 0));
    assert.deepEqual(counts(run.shadowSince(f.figures)), { compared: 5, mismatched: 0 });
  });

  test('a move makes a new run: nothing of the old step is kept but the shadow base across a pause', () => {
    const now = T0 + 10_000;
    const f = figuresAt(() => now);
    const inShadow = started(shadowRc, 'config', 'test', T0);
    const run = new RolloutRun('main');
    f.set(0, pairs(10, 0));
    run.evaluate(shadowRc, inShadow, f.figures, NO_QUERIES, now);
    run.wait('shadowing for 50 s more');
    f.set(0, pairs(25, 1));

    const pausedRec = paused(inShadow, 'api', now);
    const pausedRun = RolloutRun.after('main', run, inShadow, pausedRec);
    assert.ok(pausedRun && pausedRun !== run);
    assert.equal(pausedRun.gates.length, 0);
    assert.equal(pausedRun.waitingFor, null);
    const back = resumed(shadowRc, pausedRec, 0, 'api', now);
    const resumedRun = RolloutRun.after('main', pausedRun, pausedRec, back);
    assert.deepEqual(
      counts(resumedRun?.shadowSince(f.figures)),
      { compared: 15, mismatched: 1 },
      'the pairs since shadow began, across the pause',
    );

    // Into shadow again from anything but a pause (a new start): counted afresh.
    const stopped: RolloutRecord = { ...inShadow, state: 'rolled-back' };
    const restart = started(shadowRc, 'api', 'again', now);
    const fresh = RolloutRun.after('main', resumedRun, stopped, restart);
    const canary = atStep(shadowRc, inShadow, 0, 'controller', 'gates passed', now);
    const fromShadow = RolloutRun.after('main', resumedRun, inShadow, canary);
    f.set(0, pairs(30, 1));
    assert.deepEqual(counts(fresh?.shadowSince(f.figures)), { compared: 0, mismatched: 0 });
    assert.deepEqual(counts(fromShadow?.shadowSince(f.figures)), { compared: 0, mismatched: 0 });
  });

  test('no run once the rollout stopped', () => {
    const rec = canaryAt(canaryRc, T0);
    const run = new RolloutRun('main');
    for (const state of ['done', 'rolled-back', 'off'] as const) {
      assert.equal(RolloutRun.after('main', run, rec, { ...rec, state }), undefined, state);
    }
  });

  test('the confirm flow is made once per run', async () => {
    const webhooks = new Webhooks(createLogger({ level: 'silent' }));
    try {
      const run = new RolloutRun('main');
      let made = 0;
      const make = () => {
        made++;
        return new ConfirmFlow({ webhooks, clock: Date.now, retryAfterMs: 1000 });
      };
      assert.equal(run.confirmFlow(make), run.confirmFlow(make));
      assert.equal(made, 1);
    } finally {
      await webhooks.close();
    }
  });
});
