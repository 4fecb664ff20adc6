// What a read of a rollout answers (admin API, `cutover status`, /metrics):
// built from the record, the run's last check and the live weight, reading
// no figures and writing nothing.
import type { Config, RolloutConfig, RouteConfig } from '../config/index.ts';
import type { RolloutRun } from './run.ts';
import { OFF, type RolloutRecord } from './state.ts';
import type { RolloutStatus } from './target.ts';

/** Routes by name, indexed once per config object, so a read of every route stays linear. */
const routeIndex = new WeakMap<Config, ReadonlyMap<string, RouteConfig>>();

export function routeNamed(config: Config, name: string): RouteConfig | undefined {
  let index = routeIndex.get(config);
  if (!index) {
    index = new Map(config.routes.map((r) => [r.name, r]));
    routeIndex.set(config, index);
  }
  return index.get(name);
}

export interface StatusInput {
  readonly route: string;
  readonly rc: RolloutConfig | undefined;
  readonly rec: RolloutRecord | undefined;
  /** The route's run; only a rollout in shadow, canary or paused has one. */
  readonly run: RolloutRun | undefined;
  /** The route's weight now; undefined falls back to the record's. */
  readonly weight: number | undefined;
  readonly now: number;
}

export function rolloutStatus(input: StatusInput): RolloutStatus {
  const { rc, run } = input;
  const r = input.rec ?? OFF;
  return {
    route: input.route,
    configured: rc !== undefined,
    state: r.state,
    step: r.step !== null && r.step >= 0 ? r.step : null,
    steps: rc?.steps ?? [],
    weight: input.weight ?? r.weight,
    since: r.since > 0 ? new Date(r.since).toISOString() : null,
    timeInStateMs: r.since > 0 ? input.now - r.since : 0,
    failures: r.failures,
    failureLimit: rc?.failureLimit ?? 0,
    reason: r.reason,
    waitingFor: run?.waitingFor ?? null,
    gates: run?.gates ?? [],
  };
}
