// What the admin API, the cli and a rollout read of a route: plain objects
// built from the route table on each call; nothing here changes a route.
import type { ShadowTally } from '../compare/index.ts';
import type { Metrics, RouteFigureSource, SeriesRoute, SlidingWindow } from '../telemetry/index.ts';
import type { CompiledRoute } from './table.ts';

export interface RouteStatus {
  name: string;
  match: {
    host?: string;
    path: string;
    methods?: readonly string[];
    grpc?: { service: string; method?: string };
  };
  legacy: string;
  candidate: string | null;
  weight: number;
  configWeight: number;
  /** `runtime` when a weight set through the API or CLI overrides the file. */
  weightSource: 'config' | 'runtime';
}

export interface RouteDetail extends RouteStatus {
  /** Shadow copies configured: /diffs has results to show (the dashboard asks only then). */
  shadow: boolean;
  breakers: { legacy: unknown; candidate: unknown };
  fallback: unknown;
  [guard: string]: unknown;
}

export interface RouteFigures {
  readonly legacy: SlidingWindow;
  readonly candidate: SlidingWindow;
  readonly candidateCount: number;
  readonly shadow: ShadowTally | undefined;
  readonly candidateBreakerOpen: boolean;
}

export function routeStatus(r: CompiledRoute): RouteStatus {
  const m = r.config.match;
  return {
    name: r.name,
    match: { host: m.host, path: m.path, methods: m.methods, grpc: m.grpc },
    legacy: r.config.legacy,
    candidate: r.config.candidate ?? null,
    weight: r.weight.weight,
    configWeight: r.weight.configWeight,
    weightSource: r.weight.runtimeWeight === undefined ? 'config' : 'runtime',
  };
}

/** One route in detail: its status plus breakers, limits and shedding figures. */
export function routeDetail(r: CompiledRoute): RouteDetail {
  return {
    ...routeStatus(r),
    shadow: r.shadow !== undefined,
    breakers: {
      legacy: r.legacyBreaker ? r.legacyBreaker.snapshot() : null,
      candidate: r.candidateBreaker ? r.candidateBreaker.snapshot() : null,
    },
    fallback: r.config.fallback
      ? {
          on: [...r.config.fallback.on],
          methods: [...r.config.fallback.methods],
          maxBodyBytes: r.config.fallback.maxBodyBytes,
        }
      : null,
    ...r.guards.snapshot(),
  };
}

/**
 * What a rollout reads of a route: the per-side stats (with
 * sliding windows kept from now on for `windowMs`), the shadow pairs and
 * whether the candidate's breaker is open. Undefined without a candidate.
 */
export function routeFigures(
  r: CompiledRoute,
  metrics: Metrics,
  windowMs: number,
): RouteFigures | undefined {
  if (!r.candidate) return undefined;
  const seconds = windowMs / 1000 + 1;
  const legacy = metrics.sideStats(r.name, 'legacy', r.config.legacy);
  const candidate = metrics.sideStats(r.name, 'candidate', r.candidate.name);
  return {
    legacy: legacy.window(seconds),
    candidate: candidate.window(seconds),
    candidateCount: candidate.count,
    shadow: r.shadow?.results.tally(),
    candidateBreakerOpen: r.candidateBreaker?.state === 'open',
  };
}

/**
 * What this instance publishes of a route for the fleet's gates: its windows
 * as they are (none turned on here), running counts and breaker state;
 * undefined when no rollout reads the route here (no candidate window).
 */
export function routeFigureSource(
  r: CompiledRoute,
  metrics: Metrics,
): RouteFigureSource | undefined {
  if (!r.candidate) return undefined;
  const candidate = metrics.sideStats(r.name, 'candidate', r.candidate.name);
  const window = candidate.activeWindow;
  if (!window) return undefined;
  return {
    route: r.name,
    legacy: metrics.sideStats(r.name, 'legacy', r.config.legacy).activeWindow,
    candidate: window,
    candidateCount: candidate.count,
    shadow: r.shadow?.results.tally(),
    candidateBreakerOpen: r.candidateBreaker?.state === 'open',
  };
}

/** What the dashboard's sampler reads of a route each second: its two sides' counters and the weight. */
export function seriesRoute(r: CompiledRoute, metrics: Metrics): SeriesRoute {
  return {
    name: r.name,
    legacy: metrics.sideStats(r.name, 'legacy', r.config.legacy),
    candidate: r.candidate ? metrics.sideStats(r.name, 'candidate', r.candidate.name) : undefined,
    weight: r.weight.weight,
  };
}

/** Stops the sliding windows `routeFigures` turned on for a route (its rollout is over). */
export function dropRouteWindows(r: CompiledRoute, metrics: Metrics): void {
  metrics.sideStats(r.name, 'legacy', r.config.legacy).dropWindow();
  if (r.candidate) metrics.sideStats(r.name, 'candidate', r.candidate.name).dropWindow();
}
