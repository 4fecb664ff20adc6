// Manual actions as pure moves of the record: the record each one leads to,
// whether the last check's gates stand behind it, and every conflict.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type ManualMoveInput, type MoveAction, manualMove } from '../../src/rollout/actions.ts';
import { atStep, OFF, paused, type RolloutRecord, started } from '../../src/rollout/state.ts';
import { rolloutOf } from '../helpers/config.ts';

const rc = rolloutOf('{ steps: [10, 50, 100], shadowFor: 1m }');
const NOW = 1_800_000_000_000;
const shadow = started(rc, 'config', 'test', NOW - 60_000);
const canary = atStep(rc, shadow, 0, 'controller', 'gates passed', NOW - 30_000);

function move(action: MoveAction, rec: RolloutRecord, over: Partial<ManualMoveInput> = {}) {
  return manualMove({
    route: 'main',
    action,
    rc,
    rec,
    by: 'api',
    full: false,
    liveWeight: rec.weight,
    now: NOW,
    ...over,
  });
}

const conflict = (re: RegExp) => (error: Error & { code?: string }) => {
  assert.equal(error.code, 'CUTOVER_ERR_ROLLOUT_CONFLICT');
  assert.match(error.message, re);
  return true;
};

describe('manual moves', () => {
  test('start begins in shadow, with no gates behind it', () => {
    const m = move('start', OFF);
    assert.equal(m.to.state, 'shadow');
    assert.equal(m.to.reason, 'started: by api');
    assert.equal(m.judged, false);
    assert.throws(() => move('start', canary), conflict(/already running \(state canary\)/));
    assert.throws(() => move('start', paused(canary, 'api', NOW)), conflict(/use resume/));
  });

  test('pause keeps the weight and the gates; resume continues from the live weight', () => {
    const p = move('pause', canary);
    assert.deepEqual(
      [p.to.state, p.to.weight, p.to.pausedFrom, p.judged],
      ['paused', 10, 'canary', true],
    );
    const r = move('resume', p.to, { liveWeight: 30 });
    assert.deepEqual([r.to.state, r.to.weight, r.to.step, r.judged], ['canary', 30, 0, false]);
    assert.throws(() => move('pause', OFF), conflict(/only a running rollout can be paused/));
    assert.throws(() => move('resume', canary), conflict(/only a paused rollout can be resumed/));
  });

  test('promote: the next step, from shadow the first, past the last or with full done', () => {
    assert.equal(move('promote', shadow).to.weight, 10);
    const next = move('promote', canary);
    assert.deepEqual(
      [next.to.state, next.to.step, next.to.weight, next.judged],
      ['canary', 1, 50, true],
    );
    assert.equal(next.to.reason, 'step 2 of 3 (50%): promoted by api');
    const last = atStep(rc, canary, 2, 'api', 'x', NOW);
    assert.equal(move('promote', last).to.state, 'done');
    assert.equal(move('promote', canary, { full: true }).to.reason, 'promoted to 100% by api');
    // A paused rollout moves on from where it was paused.
    assert.equal(move('promote', paused(canary, 'api', NOW)).to.weight, 50);
    for (const rec of [OFF, { ...canary, state: 'done' as const }])
      assert.throws(() => move('promote', rec), conflict(/start it first/));
  });

  test('rollback: weight 0 from anything but off and rolled-back', () => {
    const r = move('rollback', canary);
    assert.deepEqual([r.to.state, r.to.weight, r.judged], ['rolled-back', 0, true]);
    assert.throws(() => move('rollback', r.to), conflict(/nothing to roll back/));
    assert.throws(() => move('rollback', OFF), conflict(/nothing to roll back/));
  });
});
