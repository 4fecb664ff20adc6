// What the controller keeps per route in the state store, and the pure
// arithmetic of steps.
import type { RolloutConfig } from '../config/index.ts';
import type { Actor, RolloutStateName } from './types.ts';

export const ROLLOUT_NAMESPACE = 'rollout';

export interface RolloutRecord {
  readonly state: RolloutStateName;
  /** Index into `steps` of the weight in force; -1 below the first step (after an edit); null outside canary. */
  readonly step: number | null;
  readonly weight: number;
  /** When the current state or step began, epoch ms: the hold (`interval`, `shadowFor`) counts from here. */
  readonly since: number;
  /** The gates read no data from before this (the phase's start, a resume). */
  readonly dataSince: number;
  /** The state a pause came from, to resume to. */
  readonly pausedFrom: 'shadow' | 'canary' | null;
  /** Consecutive failed checks. */
  readonly failures: number;
  readonly reason: string;
  readonly by: Actor;
}

export const OFF: RolloutRecord = Object.freeze({
  state: 'off',
  step: null,
  weight: 0,
  since: 0,
  dataSince: 0,
  pausedFrom: null,
  failures: 0,
  reason: 'no rollout started',
  by: 'config',
});

/** Where a rollout begins: shadow, or the first step when `shadowFor` is 0. */
export function firstPhase(
  config: RolloutConfig,
): Pick<RolloutRecord, 'state' | 'step' | 'weight'> {
  return config.shadowFor > 0
    ? { state: 'shadow', step: null, weight: 0 }
    : { state: 'canary', step: 0, weight: config.steps[0] };
}

/**
 * The step a weight sits on after the steps were edited: the last step at or
 * below it, or -1 when it is below the first (the next step up is then the first).
 */
export function stepOfWeight(steps: readonly number[], weight: number): number {
  let at = -1;
  for (let i = 0; i < steps.length; i++) if (steps[i] <= weight) at = i;
  return at;
}

/**
 * Where a new phase's data begins: the next whole second. The windows keep
 * 1-second slots, so data from earlier in the current second (the failures
 * that caused a rollback, say) would otherwise count against a fresh start.
 */
export function freshData(now: number): number {
  return Math.ceil(now / 1000) * 1000;
}

/** The step a step up goes to: the first from shadow, else the next. */
export function nextStep(rec: RolloutRecord): number {
  return rec.state === 'shadow' ? 0 : (rec.step ?? -1) + 1;
}

// The records of each move. `now` is the controller's clock.

export function started(rc: RolloutConfig, by: Actor, reason: string, now: number): RolloutRecord {
  return {
    ...firstPhase(rc),
    since: now,
    dataSince: freshData(now),
    pausedFrom: null,
    failures: 0,
    reason: `started: ${reason}`,
    by,
  };
}

export function atStep(
  rc: RolloutConfig,
  rec: RolloutRecord,
  step: number,
  by: Actor,
  reason: string,
  now: number,
): RolloutRecord {
  return {
    state: 'canary',
    step,
    weight: rc.steps[step],
    since: now,
    // A step up keeps the canary's data; the first step starts its own.
    dataSince: rec.state === 'canary' ? rec.dataSince : freshData(now),
    pausedFrom: null,
    failures: 0,
    reason: `step ${step + 1} of ${rc.steps.length} (${rc.steps[step]}%): ${reason}`,
    by,
  };
}

/** Past the last step: done at 100%, or paused there when `onSuccess: pause` and the controller got it there. */
export function finished(
  rc: RolloutConfig,
  rec: RolloutRecord,
  by: Actor,
  reason: string,
  now: number,
): RolloutRecord {
  if (rc.onSuccess === 'pause' && by === 'controller') {
    return {
      ...rec,
      state: 'paused',
      pausedFrom: 'canary',
      since: now,
      failures: 0,
      reason: `${reason}; paused for a manual promote (onSuccess: pause)`,
      by,
    };
  }
  return ended('done', 100, by, reason, now);
}

export function rolledBack(by: Actor, reason: string, now: number): RolloutRecord {
  return ended('rolled-back', 0, by, reason, now);
}

/** A rollout over, one way or the other, at its final weight. */
function ended(
  state: 'done' | 'rolled-back',
  weight: number,
  by: Actor,
  reason: string,
  now: number,
): RolloutRecord {
  return {
    state,
    step: null,
    weight,
    since: now,
    dataSince: freshData(now),
    pausedFrom: null,
    failures: 0,
    reason,
    by,
  };
}

export function paused(rec: RolloutRecord, by: Actor, now: number): RolloutRecord {
  return {
    ...rec,
    state: 'paused',
    pausedFrom: rec.state === 'shadow' ? 'shadow' : 'canary',
    since: now,
    failures: 0,
    reason: `paused by ${by}`,
    by,
  };
}

/** Back to where the pause came from, from the route's weight now (it may have been set by hand). */
export function resumed(
  rc: RolloutConfig,
  rec: RolloutRecord,
  weight: number,
  by: Actor,
  now: number,
): RolloutRecord {
  const state = rec.pausedFrom ?? 'canary';
  return {
    ...rec,
    state,
    step: state === 'canary' ? stepOfWeight(rc.steps, weight) : null,
    weight,
    pausedFrom: null,
    since: now,
    dataSince: freshData(now),
    failures: 0,
    reason: `resumed by ${by}`,
    by,
  };
}

/** `off` again, at the weight the file gives the route. */
export function resetTo(weight: number, by: Actor, now: number): RolloutRecord {
  return { ...OFF, weight, since: now, dataSince: freshData(now), reason: `reset by ${by}`, by };
}
