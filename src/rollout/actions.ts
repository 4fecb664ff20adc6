// A manual action (admin API, CLI) as a pure function of the rollout's record:
// the record it moves to, or a conflict saying why the action does not fit
// the state. `reset` is not here: it puts the file's weight back first, a
// write to the gateway, and is no move of the state machine.
import type { RolloutConfig } from '../config/index.ts';
import { RolloutConflictError } from '../errors.ts';
import {
  atStep,
  finished,
  nextStep,
  paused,
  type RolloutRecord,
  resumed,
  rolledBack,
  started,
} from './state.ts';
import type { RolloutAction } from './target.ts';
import type { Actor } from './types.ts';

export type MoveAction = Exclude<RolloutAction, 'reset'>;

export interface ManualMove {
  readonly to: RolloutRecord;
  /** True when the gates of the last check stand behind the move (the ledger records them). */
  readonly judged: boolean;
}

export interface ManualMoveInput {
  readonly route: string;
  readonly action: MoveAction;
  readonly rc: RolloutConfig;
  readonly rec: RolloutRecord;
  readonly by: Actor;
  /** `promote` straight to done. */
  readonly full: boolean;
  /** The route's weight now: a resume continues from it (it may have been set by hand). */
  readonly liveWeight: number;
  readonly now: number;
}

/** Throws RolloutConflictError when the action does not fit the state. */
export function manualMove(input: ManualMoveInput): ManualMove {
  const { route, action, rc, rec, by, full, now } = input;
  const s = rec.state;
  const running = s === 'shadow' || s === 'canary';
  const conflict = (what: string): never => {
    throw new RolloutConflictError(
      `cannot ${action} the rollout of "${route}": ${what} (state ${s})`,
    );
  };
  switch (action) {
    case 'start':
      if (running) conflict('it is already running');
      if (s === 'paused') conflict('it is paused; use resume');
      return { to: started(rc, by, `by ${by}`, now), judged: false };
    case 'pause':
      if (!running) conflict('only a running rollout can be paused');
      return { to: paused(rec, by, now), judged: true };
    case 'resume':
      if (s !== 'paused') conflict('only a paused rollout can be resumed');
      return { to: resumed(rc, rec, input.liveWeight, by, now), judged: false };
    case 'promote': {
      if (s === 'off' || s === 'rolled-back' || s === 'done') conflict('start it first');
      // Promoting a paused rollout moves it on from where it was paused.
      const from: RolloutRecord =
        s === 'paused' ? { ...rec, state: rec.pausedFrom ?? 'canary' } : rec;
      const step = nextStep(from);
      if (full || step >= rc.steps.length) {
        const why = full ? `promoted to 100% by ${by}` : `promoted past the last step by ${by}`;
        return { to: finished(rc, rec, by, why, now), judged: true };
      }
      return { to: atStep(rc, from, step, by, `promoted by ${by}`, now), judged: true };
    }
    case 'rollback':
      if (s === 'off' || s === 'rolled-back') conflict('nothing to roll back');
      return { to: rolledBack(by, `rolled back by ${by}`, now), judged: true };
  }
}
