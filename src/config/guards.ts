// Guard settings merged field by field: the route's (or backend's) block,
// then the `defaults` block, then DEFAULTS. `false` at either level turns
// the guard off; retry, limit and concurrency are off unless configured.
import { DEFAULTS } from './defaults.ts';
import type { RawConfig } from './schema.ts';
import type {
  BreakerConfig,
  ConcurrencyConfig,
  FallbackConfig,
  FallbackReason,
  LimitConfig,
  OutlierConfig,
  RetryConfig,
  ShadowConfig,
} from './types.ts';

type Backend = RawConfig['backends'][string];
type Route = RawConfig['routes'][number];
type Defaults = NonNullable<RawConfig['defaults']>;

/** The block to use, or undefined when turned off or never configured (and `onByDefault` is false). */
function pick<T extends object>(
  own: T | false | undefined,
  shared: T | false | undefined,
  onByDefault: boolean,
): Partial<T> | undefined {
  if (own === false) return undefined;
  if (own === undefined && shared === false) return undefined;
  if (own === undefined && shared === undefined && !onByDefault) return undefined;
  return { ...(shared || {}), ...(own || {}) } as Partial<T>;
}

export function resolveBreaker(
  raw: Backend,
  defaults: Defaults | undefined,
): BreakerConfig | undefined {
  const b = pick(raw.breaker, defaults?.breaker, true);
  if (!b) return undefined;
  const d = DEFAULTS.breaker;
  return Object.freeze({
    errorRatio: b.errorRatio ?? d.errorRatio,
    slowCall: b.slowCall ?? d.slowCall,
    slowRatio: b.slowRatio ?? d.slowRatio,
    minRequests: b.minRequests ?? d.minRequests,
    window: b.window ?? d.window,
    openFor: b.openFor ?? d.openFor,
    probes: b.probes ?? d.probes,
  });
}

export function resolveOutlier(
  raw: Backend,
  defaults: Defaults | undefined,
): OutlierConfig | undefined {
  const o = pick(raw.outlier, defaults?.outlier, true);
  if (!o) return undefined;
  const d = DEFAULTS.outlier;
  return Object.freeze({
    consecutiveErrors: o.consecutiveErrors ?? d.consecutiveErrors,
    ejectFor: o.ejectFor ?? d.ejectFor,
    maxEjectFor: o.maxEjectFor ?? d.maxEjectFor,
    maxEjectedPercent: o.maxEjectedPercent ?? d.maxEjectedPercent,
  });
}

export function resolveFallback(
  raw: Route,
  defaults: Defaults | undefined,
): FallbackConfig | undefined {
  if (raw.candidate === undefined) return undefined;
  const f = pick(raw.fallback, defaults?.fallback, true);
  if (!f) return undefined;
  const d = DEFAULTS.fallback;
  return Object.freeze({
    on: new Set<FallbackReason>(f.on ?? d.on),
    methods: new Set<string>(f.methods ?? d.methods),
    maxBodyBytes: f.maxBodyBytes ?? d.maxBodyBytes,
  });
}

export function resolveRetry(raw: Route, defaults: Defaults | undefined): RetryConfig | undefined {
  const r = pick(raw.retry, defaults?.retry, false);
  if (!r) return undefined;
  const d = DEFAULTS.retry;
  return Object.freeze({
    attempts: r.attempts ?? d.attempts,
    budget: r.budget ?? d.budget,
    minConcurrent: r.minConcurrent ?? d.minConcurrent,
    backoff: r.backoff ?? d.backoff,
    maxBackoff: r.maxBackoff ?? d.maxBackoff,
  });
}

export function resolveLimit(raw: Route, defaults: Defaults | undefined): LimitConfig | undefined {
  const l = pick(raw.limit, defaults?.limit, false);
  if (!l) return undefined;
  const d = DEFAULTS.limit;
  return Object.freeze({
    rps: l.rps ?? d.rps,
    burst: l.burst ?? d.burst,
    key: Object.freeze(l.key ?? []),
    maxKeys: l.maxKeys ?? d.maxKeys,
  });
}

/** A backend's cap comes from its own block only (`defaults.concurrency` is for routes). */
export function resolveBackendConcurrency(raw: Backend): ConcurrencyConfig | undefined {
  return resolveConcurrency({ concurrency: raw.concurrency } as Route, undefined);
}

export function resolveConcurrency(
  raw: Route,
  defaults: Defaults | undefined,
): ConcurrencyConfig | undefined {
  const c = pick(raw.concurrency, defaults?.concurrency, false);
  if (!c) return undefined;
  const d = DEFAULTS.concurrency;
  return Object.freeze({
    max: c.max ?? d.max,
    adaptive: c.adaptive ?? d.adaptive,
    minLimit: c.minLimit ?? d.minLimit,
    tolerance: c.tolerance ?? d.tolerance,
  });
}

export function resolveShadow(
  raw: Route,
  defaults: Defaults | undefined,
): ShadowConfig | undefined {
  if (raw.candidate === undefined) return undefined;
  // A rollout with a shadow phase needs shadow copies: on with the defaults unless configured.
  const rolloutShadows =
    raw.rollout !== undefined && (raw.rollout.shadowFor ?? DEFAULTS.rollout.shadowFor) > 0;
  const sh = pick(raw.shadow, defaults?.shadow, rolloutShadows);
  if (!sh) return undefined;
  const d = DEFAULTS.shadow;
  return Object.freeze({
    percent: sh.percent ?? d.percent,
    writes: sh.writes ?? d.writes,
    maxBodyBytes: sh.maxBodyBytes ?? d.maxBodyBytes,
    maxInFlight: sh.maxInFlight ?? d.maxInFlight,
    samples: sh.samples ?? d.samples,
    learnNoise:
      sh.learnNoise === undefined || sh.learnNoise === false
        ? 0
        : sh.learnNoise === true
          ? DEFAULTS.learnNoiseSample
          : (sh.learnNoise.sample ?? DEFAULTS.learnNoiseSample),
    learnFirst:
      sh.learnNoise === undefined || sh.learnNoise === false
        ? 0
        : ((sh.learnNoise === true ? undefined : sh.learnNoise.first) ?? DEFAULTS.learnNoiseFirst),
    compare: Object.freeze({ ...(sh.compare ?? {}) }),
    redact: Object.freeze({
      paths: Object.freeze([...(sh.redact?.paths ?? [])]),
      headers: Object.freeze([...(sh.redact?.headers ?? [])].map((h) => h.toLowerCase())),
    }),
  });
}
