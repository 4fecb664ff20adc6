// The gateway as the rollout controller sees it: what it reads of a route
// (weight, sliding windows, shadow pairs, the candidate breaker) and the two
// writes it makes (weight, back to the file's weight). cli/run.ts adapts the
// real Gateway to this; `rollout` never imports `gateway`.
import type { Config } from '../config/index.ts';
import type { SideFigures } from './gates.ts';
import type { GateResult, RolloutStateName, ShadowTally } from './types.ts';

/** A side's sliding window, as telemetry keeps it. */
export interface WindowView {
  snapshot(sinceMs: number): Omit<SideFigures, 'countAbove'>;
  /** Requests of the last snapshot's span slower than `ms`. */
  countAbove(ms: number): number;
}

/** The figures of a window since `sinceMs`; `countAbove` reads this snapshot until the next one. */
export function figuresOf(window: WindowView, sinceMs: number): SideFigures {
  const s = window.snapshot(sinceMs);
  return {
    requests: s.requests,
    errors: s.errors,
    p95: s.p95,
    p99: s.p99,
    countAbove: (ms) => window.countAbove(ms),
  };
}

/** What the controller reads of one route in the running gateway. */
export interface RouteFigures {
  readonly legacy: WindowView;
  readonly candidate: WindowView;
  /** Candidate requests since the process started (a step counts its own from a base). */
  readonly candidateCount: number;
  /** Shadow pairs compared since the route's shadow began; undefined without shadow. */
  readonly shadow: ShadowTally | undefined;
  readonly candidateBreakerOpen: boolean;
}

/** The gateway as the controller sees it (cli/run.ts adapts the real one). */
export interface RolloutTarget {
  config(): Config;
  /** Undefined when the route does not exist or has no candidate. Keeps the route's sliding windows on. */
  figures(route: string, windowMs: number): RouteFigures | undefined;
  /** Before a round of checks: bring the fleet's figures up to date (a fleet's leader merges every instance's). */
  refreshFigures?(): Promise<void>;
  /** The rollout of the route is over: its sliding windows may stop recording. */
  dropWindows(route: string): void;
  /** The route's weight now; undefined when the route does not exist. Costs nothing on the request path. */
  weight(route: string): number | undefined;
  /** Applies a runtime weight the controller committed to the store (undefined: the file's weight again). */
  applyWeight(route: string, weight: number | undefined): void;
  /** The config file's weight of the route. */
  fileWeight(route: string): number | undefined;
  /** Calls `listener` the moment a route's candidate breaker opens (a hard trip); returns the unsubscribe. */
  onCandidateTrip?(listener: (route: string) => void): () => void;
}

export type RolloutAction = 'start' | 'pause' | 'resume' | 'promote' | 'rollback' | 'reset';
export const ROLLOUT_ACTIONS: readonly RolloutAction[] = [
  'start',
  'pause',
  'resume',
  'promote',
  'rollback',
  'reset',
];

export interface RolloutStatus {
  readonly route: string;
  /** False when the route has a recorded rollout but no `rollout` block now. */
  readonly configured: boolean;
  readonly state: RolloutStateName;
  readonly step: number | null;
  readonly steps: readonly number[];
  readonly weight: number;
  readonly since: string | null;
  readonly timeInStateMs: number;
  readonly failures: number;
  readonly failureLimit: number;
  readonly reason: string;
  /** What the rollout waits for before it moves on, as of the last check; null when it is not waiting. */
  readonly waitingFor: string | null;
  /** The gates of the last check ([] before a phase's first check, and once the rollout stopped). */
  readonly gates: readonly GateResult[];
}
