// The words of a rollout, shared by the controller, its gates, the webhooks
// and the admin API. See docs/config.md "Rollouts".

/** Where a route's rollout is. `off`: no rollout running (weight is manual). */
export type RolloutStateName = 'off' | 'shadow' | 'canary' | 'paused' | 'done' | 'rolled-back';

/**
 * A route's shadow pairs as the gateway counts them (compare's ShadowResults
 * satisfies this structurally; `rollout` never imports `compare`). Mismatches
 * are judged by the noise known now, so they can go down when a field is
 * learned as noise: a phase's figures are `now.since(atStart)`, never a
 * subtraction of counts.
 */
export interface ShadowTally {
  readonly compared: number;
  /** Judged by the noise known now. */
  readonly mismatched: number;
  /** False while noise is still being learned: the mismatchRate gate waits. */
  readonly settled: boolean;
  /** The pairs counted after `earlier`, judged by the noise known now. */
  since(earlier: ShadowTally): ShadowTally;
}

/** A gate with too little data is `waiting`, never `passed`. */
export type GateStatus = 'passed' | 'failed' | 'waiting';

/** One gate's evaluation: the value behind the decision and the bound it was held to. */
export interface GateResult {
  /** `errorRate`, `p95`, `baselineErrorRate`, `baselineP99`, `mismatchRate`, or a Prometheus gate's name. */
  readonly name: string;
  readonly status: GateStatus;
  /** The measured value (a ratio 0..1, or milliseconds); null while there is no data. */
  readonly value: number | null;
  /** The bound the value is held to (the same unit as `value`). */
  readonly threshold: number;
  /** `max`: the value must not be above the threshold; `min`: not below. */
  readonly bound: 'max' | 'min';
  readonly unit: 'ratio' | 'ms' | 'number';
  /** Why, in words: sample sizes, the baseline's value, the reason for waiting. */
  readonly detail: string;
}

/** Who made a change: the controller itself, an admin API user, a webhook, or a reload. */
export type Actor = 'controller' | 'api' | 'webhook' | 'config';

/**
 * The person behind an `api` change: the role and name given at the
 * dashboard's sign-in, or `api` for a bearer token (the CLI, scripts), or
 * `local` when no token is configured. Absent on entries written before
 * issue 14 and on every change the controller, a webhook or a reload made.
 */
export interface Who {
  readonly role: 'operator' | 'viewer';
  readonly name: string;
}

/** Posted to every `event` webhook on each state change (and each step up). */
export interface RolloutEvent {
  readonly type: 'rollout';
  readonly route: string;
  readonly from: RolloutStateName;
  readonly to: RolloutStateName;
  /** Index into `rollout.steps` of the step now in force; null outside `canary`/`paused`. */
  readonly step: number | null;
  readonly previousWeight: number;
  readonly weight: number;
  readonly reason: string;
  readonly by: Actor;
  readonly gates: readonly GateResult[];
  /** ISO 8601. */
  readonly at: string;
}

/** Posted to every `confirm` webhook before a step up; only a 2xx answer lets it happen. */
export interface ConfirmRequest {
  readonly type: 'confirm';
  readonly route: string;
  readonly step: number;
  readonly fromWeight: number;
  readonly toWeight: number;
  readonly gates: readonly GateResult[];
  readonly at: string;
}

export type { WebhookConfig } from '../config/index.ts';
