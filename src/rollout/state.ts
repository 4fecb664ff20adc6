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
