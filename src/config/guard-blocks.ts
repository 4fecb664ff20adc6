// Every guard block (and the shadow and health blocks, which merge the same
// way) in one table: what each field may hold (zod), the value it takes when
// neither the route nor `defaults:` sets it (with where the number comes
// from), whether the block is on when nobody mentions it, and how the merged
// fields become the frozen config. guards.ts is the one resolver over it.
import { z } from 'zod';
import {
  duration,
  grpcFailureCode,
  HTTP_METHODS,
  offOr,
  ratio,
  size,
  stickyKey,
} from './fields.ts';
import { GRPC_UNAVAILABLE } from './grpc-codes.ts';
import type {
  BreakerConfig,
  ConcurrencyConfig,
  FallbackConfig,
  HealthConfig,
  LimitConfig,
  OutlierConfig,
  RetryConfig,
  ShadowConfig,
} from './types.ts';

/**
 * Why a failed candidate attempt may be answered by legacy instead; `grpc`:
 * a gRPC answer whose grpc-status is one of the route's `grpc.failureCodes`.
 */
export const FALLBACK_REASONS = ['connect', 'timeout', 'reset', '5xx', 'grpc'] as const;
export type FallbackReason = (typeof FALLBACK_REASONS)[number];

/** `learnNoise: true`: 1% of shadowed safe requests asked of legacy twice (issue 4's "small sample"). */
export const LEARN_NOISE_SAMPLE = 0.01;

/**
 * …after asking twice for the first 50 copies (issue 10): at 1% alone the
 * second noise pair comes after ~200 requests, and until then a per-answer
 * id makes every pair a mismatch. Two pairs mark a field that differs in
 * every answer; 50 measure the 20% share rule of noise.ts to about ±6%
 * (one binomial standard deviation at 20% over 50 pairs).
 */
export const LEARN_NOISE_FIRST = 50;

/** Where a limit's buckets live: in each process, or shared by the fleet through the state store. */
export const LIMIT_SCOPES = ['instance', 'cluster'] as const;
export type LimitScope = (typeof LIMIT_SCOPES)[number];

/** What a cluster limit does while the state store does not answer. */
export const LIMIT_FALLBACKS = ['local', 'open', 'closed'] as const;
export type LimitFallback = (typeof LIMIT_FALLBACKS)[number];

/** The settings a block's mapping holds (its schema's output without `false`). */
export type BlockFields<S extends z.ZodType> = Exclude<z.output<S>, false | undefined>;

/** A block's fields after the merge: every field with a default is set. */
export type MergedFields<F, D> = Omit<F, keyof D> & {
  readonly [K in keyof D]: Exclude<K extends keyof F ? F[K] : never, undefined> | D[K];
};

export interface GuardBlock<S extends z.ZodType, D extends object, R> {
  /** What the block may hold; checked once at load. */
  readonly schema: S;
  /** Used for each field that neither the route (or backend) nor `defaults:` sets. */
  readonly defaults: D;
  /** On when neither level mentions it; otherwise on only when configured. */
  readonly onByDefault: boolean;
  /** The config the rest of Cutover reads, from the merged fields (sets, derived values). */
  readonly finish: (merged: MergedFields<BlockFields<S>, D>) => R;
}

/** Keeps each entry's types tied together (finish sees its own schema's fields). */
function block<S extends z.ZodType, D extends object, R>(
  entry: GuardBlock<S, D, R>,
): GuardBlock<S, D, R> {
  return entry;
}

const compareRulesSchema = z.strictObject({
  headers: z.array(z.string().min(1)).optional(),
  ignoreContentTypes: z.array(z.string().min(1)).optional(),
  ignore: z.array(z.string().min(1)).optional(),
  nullEqualsMissing: z.boolean().optional(),
  unordered: z.record(z.string(), z.union([z.string(), z.boolean(), z.null()])).optional(),
  timestamps: z.array(z.string().min(1)).optional(),
  floatPlaces: z.number().int().min(0).max(15).optional(),
  protoset: z.string().min(1).optional(),
  protos: z.array(z.string().min(1)).min(1).optional(),
  protoPaths: z.array(z.string().min(1)).optional(),
});

export const GUARD_BLOCKS = {
  breaker: block({
    schema: offOr(
      z.strictObject({
        errorRatio: ratio.optional(),
        slowCall: duration.optional(),
        slowRatio: ratio.optional(),
        minRequests: z.number().int().min(1).optional(),
        window: duration.optional(),
        openFor: duration.optional(),
        probes: z.number().int().min(1).max(100).optional(),
      }),
    ),
    /**
     * DESIGN.md: opens at ≥ 50% errors over ≥ 20 requests in a 10 s window,
     * half-open after 5 s (resilience4j's failureRateThreshold 50 and Envoy's
     * practice); 3 probes as resilience4j's permittedNumberOfCallsInHalfOpenState
     * is 10 — fewer, so a recovered candidate closes in one round trip each.
     * A call slower than 1 s counts as slow; only all-slow trips (resilience4j's
     * slowCallRateThreshold default is 100%).
     */
    defaults: {
      errorRatio: 0.5,
      slowCall: 1_000,
      slowRatio: 1,
      minRequests: 20,
      window: 10_000,
      openFor: 5_000,
      probes: 3,
    },
    onByDefault: true,
    finish: (m): BreakerConfig => m,
  }),

  outlier: block({
    schema: offOr(
      z.strictObject({
        consecutiveErrors: z.number().int().min(1).optional(),
        ejectFor: duration.optional(),
        maxEjectFor: duration.optional(),
        maxEjectedPercent: z.number().min(0).max(100).optional(),
      }),
    ),
    /**
     * Envoy's outlier detection: consecutive_5xx 5, base_ejection_time 30 s,
     * max_ejection_time 300 s; max share 50% (Envoy's 10% would never eject one
     * of two instances).
     */
    defaults: {
      consecutiveErrors: 5,
      ejectFor: 30_000,
      maxEjectFor: 300_000,
      maxEjectedPercent: 50,
    },
    onByDefault: true,
    finish: (m): OutlierConfig => m,
  }),

  fallback: block({
    schema: offOr(
      z.strictObject({
        on: z.array(z.enum(FALLBACK_REASONS)).optional(),
        methods: z.array(z.enum(HTTP_METHODS)).optional(),
        maxBodyBytes: size.optional(),
      }),
    ),
    /** Every reason; safe methods of RFC 9110 §9.2.1 resend without harm; 64 KiB keeps typical JSON bodies. */
    defaults: {
      on: FALLBACK_REASONS,
      methods: ['GET', 'HEAD', 'OPTIONS'] as const,
      maxBodyBytes: 64 * 1024,
    },
    onByDefault: true,
    finish: (m): FallbackConfig => ({
      on: new Set<FallbackReason>(m.on),
      methods: new Set<string>(m.methods),
      maxBodyBytes: m.maxBodyBytes,
    }),
  }),

  retry: block({
    schema: offOr(
      z.strictObject({
        attempts: z.number().int().min(1).max(10).optional(),
        budget: ratio.optional(),
        minConcurrent: z.number().int().min(0).optional(),
        backoff: duration.optional(),
        maxBackoff: duration.optional(),
        grpcCodes: z.array(grpcFailureCode).optional(),
      }),
    ),
    /**
     * Envoy's retry budget: 20% of active requests, at least 3 concurrent;
     * backoff with full jitter (AWS architecture blog) from 25 ms (Envoy's base
     * interval) capped at 250 ms (Envoy's 10 × base). gRPC calls are retried
     * on UNAVAILABLE only: the one code gRPC's status-code guide calls
     * transient and to be retried with backoff (issue 12).
     */
    defaults: {
      attempts: 2,
      budget: 0.2,
      minConcurrent: 3,
      backoff: 25,
      maxBackoff: 250,
      grpcCodes: [GRPC_UNAVAILABLE] as readonly number[],
    },
    onByDefault: false,
    finish: (m): RetryConfig => ({ ...m, grpcCodes: Object.freeze([...new Set(m.grpcCodes)]) }),
  }),

  limit: block({
    schema: offOr(
      z.strictObject({
        rps: z
          .number()
          .positive({ error: (issue) => `expected a rate above 0, got ${String(issue.input)}` })
          .optional(),
        burst: z.number().int().min(1).optional(),
        key: stickyKey.optional(),
        maxKeys: z.number().int().min(1).optional(),
        scope: z.enum(LIMIT_SCOPES).optional(),
        onStoreDown: z.enum(LIMIT_FALLBACKS).optional(),
      }),
    ),
    /**
     * DESIGN.md token bucket: 1000 requests/s, burst 1000; at most 10,000 keys
     * kept (LRU). No key: one bucket per route. Scope `instance` is what every
     * limit did before issue 11 (each process its own bucket); a cluster limit
     * whose store is down falls back to `local`, the quota divided by the
     * instances last seen (DESIGN.md § One machine, then many: "local limits").
     */
    defaults: {
      rps: 1000,
      burst: 1000,
      key: [],
      maxKeys: 10_000,
      scope: 'instance' as LimitScope,
      onStoreDown: 'local' as LimitFallback,
    },
    onByDefault: false,
    finish: (m): LimitConfig => ({ ...m, key: Object.freeze(m.key) }),
  }),

  concurrency: block({
    schema: offOr(
      z.strictObject({
        max: z.number().int().min(1).optional(),
        adaptive: z.boolean().optional(),
        minLimit: z.number().int().min(1).optional(),
        tolerance: z.number().min(1).optional(),
      }),
    ),
    /**
     * A cap on requests in flight; adaptive mode (gradient of a minimum-RTT
     * baseline, as Envoy's adaptive concurrency) never goes below minLimit and
     * sheds when latency exceeds tolerance × the baseline.
     */
    defaults: { max: 500, adaptive: false, minLimit: 10, tolerance: 2 },
    onByDefault: false,
    finish: (m): ConcurrencyConfig => m,
  }),

  shadow: block({
    // Not offOr: its mapping's problems are reported field by field already.
    schema: z.union([
      z.literal(false),
      z.strictObject({
        percent: z
          .number()
          .min(0, 'expected a percentage from 0 to 100')
          .max(100, 'expected a percentage from 0 to 100')
          .optional(),
        writes: z.boolean().optional(),
        maxBodyBytes: size.optional(),
        maxInFlight: z.number().int().min(1).optional(),
        samples: z.number().int().min(0).max(1000).optional(),
        learnNoise: z
          .union([
            z.boolean(),
            z.strictObject({
              sample: z.number().gt(0, 'expected a share above 0').max(1).optional(),
              first: z.number().int().min(0).max(100_000).optional(),
            }),
          ])
          .optional(),
        compare: compareRulesSchema.optional(),
        redact: z
          .strictObject({
            paths: z.array(z.string().min(1)).optional(),
            headers: z.array(z.string().min(1)).optional(),
          })
          .optional(),
      }),
    ]),
    /**
     * Shadow copies: 1 MiB covers typical JSON answers (issue 4); 256 copies in
     * flight per route bound the work (their bytes are bounded by
     * server.shadowMemory); the newest 20 mismatch samples are enough to see a
     * pattern. Noise is learned only when asked for.
     */
    defaults: {
      percent: 100,
      writes: false,
      maxBodyBytes: 1024 * 1024,
      maxInFlight: 256,
      samples: 20,
      learnNoise: false,
      compare: {},
      redact: { paths: [], headers: [] },
    },
    // On by default only for a rollout with a shadow phase (guards.ts decides).
    onByDefault: false,
    finish: (m): ShadowConfig => ({
      percent: m.percent,
      writes: m.writes,
      maxBodyBytes: m.maxBodyBytes,
      maxInFlight: m.maxInFlight,
      samples: m.samples,
      learnNoise:
        m.learnNoise === false
          ? 0
          : m.learnNoise === true
            ? LEARN_NOISE_SAMPLE
            : (m.learnNoise.sample ?? LEARN_NOISE_SAMPLE),
      learnFirst:
        m.learnNoise === false
          ? 0
          : ((m.learnNoise === true ? undefined : m.learnNoise.first) ?? LEARN_NOISE_FIRST),
      compare: Object.freeze({ ...m.compare }),
      // Read from the files by normalize.ts, which knows where the config file is.
      proto: undefined,
      redact: Object.freeze({
        paths: Object.freeze([...(m.redact.paths ?? [])]),
        headers: Object.freeze([...(m.redact.headers ?? [])].map((h) => h.toLowerCase())),
      }),
    }),
  }),

  health: block({
    // A backend's own block only; there is no `false` (leave it out to check nothing).
    schema: z.strictObject({
      path: z.string().startsWith('/', 'expected a path starting with /').optional(),
      // grpc.health.v1.Health/Check instead of GET path: true (the whole server) or one service.
      grpc: z
        .union([
          z.boolean(),
          z.strictObject({
            service: z.string({ error: 'expected a service name such as shop.v1.Orders' }),
          }),
        ])
        .optional(),
      interval: duration.optional(),
      timeout: duration.optional(),
      healthy: z.number().int().min(1).optional(),
      unhealthy: z.number().int().min(1).optional(),
    }),
    /**
     * DESIGN.md's health endpoint and example interval (5 s); 1 s to answer
     * and 3 failures in a row to leave, as Kubernetes' probe defaults
     * (timeoutSeconds 1, failureThreshold 3); 2 successes to come back, so
     * one lucky answer does not.
     */
    defaults: { path: '/healthz', interval: 5_000, timeout: 1_000, healthy: 2, unhealthy: 3 },
    onByDefault: false,
    finish: ({ grpc, ...m }): HealthConfig => ({
      ...m,
      // The empty service name asks for the server as a whole (grpc/grpc doc/health-checking.md).
      grpc:
        grpc === true
          ? Object.freeze({ service: '' })
          : grpc
            ? Object.freeze({ service: grpc.service })
            : undefined,
    }),
  }),
} as const;

export type GuardName = keyof typeof GUARD_BLOCKS;
