// What one check decides for a rolling route, as a pure function of the
// gates and a few facts: roll back, hold (and why), or move on.
import type { RolloutConfig } from '../config/index.ts';
import { describeGate } from './gates.ts';
import type { GateResult } from './types.ts';

export interface CheckFacts {
  readonly state: 'shadow' | 'canary';
  /** Consecutive failed checks before this one. */
  readonly failures: number;
  /** Time in the current state or step, ms. */
  readonly heldMs: number;
  /** Candidate requests served on this step. */
  readonly stepRequests: number;
  /** Shadow pairs compared since shadow began. */
  readonly shadowCompared: number;
  readonly candidateBreakerOpen: boolean;
}

export type Decision =
  | { readonly kind: 'rollback'; readonly reason: string }
  | { readonly kind: 'hold'; readonly failures: number; readonly waitingFor: string }
  | { readonly kind: 'advance' };

const list = (gates: readonly GateResult[]): string => gates.map(describeGate).join('; ');
const seconds = (ms: number): number => Math.ceil(ms / 1000);

export function decide(
  rc: RolloutConfig,
  facts: CheckFacts,
  gates: readonly GateResult[],
): Decision {
  const failed = gates.filter((g) => g.status === 'failed');
  const waiting = gates.filter((g) => g.status === 'waiting');
  const hold = (waitingFor: string, failures = 0): Decision => ({
    kind: 'hold',
    failures,
    waitingFor,
  });
  if (facts.state === 'shadow') {
    // Weight is 0 in shadow: a failing gate holds the route there, nothing to roll back.
    if (failed.length > 0) return hold(`held in shadow: ${list(failed)}`);
    if (waiting.length > 0) return hold(`gates waiting: ${list(waiting)}`);
    if (facts.shadowCompared < rc.minRequests) {
      return hold(`${facts.shadowCompared} of ${rc.minRequests} compared pairs`);
    }
    if (facts.heldMs < rc.shadowFor) {
      return hold(`shadowing for ${seconds(rc.shadowFor - facts.heldMs)} s more`);
    }
    return { kind: 'advance' };
  }
  if (facts.candidateBreakerOpen) {
    return { kind: 'rollback', reason: 'hard trip: the candidate breaker opened' };
  }
  if (failed.length > 0) {
    const failures = facts.failures + 1;
    if (failures >= rc.failureLimit) {
      return {
        kind: 'rollback',
        reason: `gates failed ${failures} checks in a row: ${list(failed)}`,
      };
    }
    return hold(`failing (${failures} of ${rc.failureLimit}): ${list(failed)}`, failures);
  }
  if (waiting.length > 0) return hold(`gates waiting: ${list(waiting)}`);
  if (facts.stepRequests < rc.minRequests) {
    return hold(
      `${facts.stepRequests} of ${rc.minRequests} candidate requests on this step (low traffic: waiting rather than promoting on too little data)`,
    );
  }
  if (facts.heldMs < rc.interval) {
    return hold(`holding the step for ${seconds(rc.interval - facts.heldMs)} s more`);
  }
  return { kind: 'advance' };
}
