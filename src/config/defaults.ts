// Every default in one place, each with where the number comes from.

export const DEFAULTS = {
  /** DESIGN.md's example listener. */
  listen: { host: '0.0.0.0', port: 8080 },
  /** Loopback, so the admin API is private unless a token is set. */
  adminListen: { host: '127.0.0.1', port: 9090 },
  state: 'sqlite:.cutover/state.db',
  /** Time to the upstream's response headers; DESIGN.md `defaults.timeout: 3s`. */
  timeout: 3_000,
  /** A TCP connect on a LAN takes well under a millisecond; 1 s only fails a dead host. */
  connectTimeout: 1_000,
  /** Longest pause between two body chunks from the upstream (NGINX proxy_read_timeout is 60 s; we halve it). */
  idleTimeout: 30_000,
  /** Request bodies above this are refused with 413 (NGINX client_max_body_size is 1 MiB; APIs often need more). */
  maxBodyBytes: 10 * 1024 * 1024,
  /** Node's own default --max-http-header-size is 16 KiB; 413/431 past it. */
  maxHeaderBytes: 16 * 1024,
  /** Kubernetes' default terminationGracePeriodSeconds is 30 s; leave room for the rest of shutdown. */
  shutdownGrace: 10_000,
  /** Longer than common load balancers' 60 s idle timeout would cause resets; NGINX keepalive_timeout 75 s. */
  serverKeepAliveTimeout: 75_000,
  /** Whole-request time limit for a client sending its request (Node's default is 300 s). */
  requestTimeout: 300_000,
  preserveHost: false,
  backendHeader: true,
  /** DESIGN.md: `x-release-stage: canary` → candidate, `stable` → legacy. */
  overrideHeader: 'x-release-stage',
  overrideCandidate: 'canary',
  overrideLegacy: 'stable',
  weight: 0,
  /** Connections per backend instance; undici's Pool is unbounded by default, which hides overload. */
  connections: 256,
  /** Idle upstream keep-alive; below the common 5 s server default (Node's keepAliveTimeout) to avoid races. */
  upstreamKeepAlive: 4_000,
  health: { path: '/healthz', interval: 5_000, timeout: 1_000, healthy: 2, unhealthy: 3 },
  /**
   * DESIGN.md: opens at ≥ 50% errors over ≥ 20 requests in a 10 s window,
   * half-open after 5 s (resilience4j's failureRateThreshold 50 and Envoy's
   * practice); 3 probes as resilience4j's permittedNumberOfCallsInHalfOpenState
   * is 10 — fewer, so a recovered candidate closes in one round trip each.
   * A call slower than 1 s counts as slow; only all-slow trips (resilience4j's
   * slowCallRateThreshold default is 100%).
   */
  breaker: {
    errorRatio: 0.5,
    slowCall: 1_000,
    slowRatio: 1,
    minRequests: 20,
    window: 10_000,
    openFor: 5_000,
    probes: 3,
  },
  /**
   * Envoy's outlier detection: consecutive_5xx 5, base_ejection_time 30 s,
   * max_ejection_time 300 s; max share 50% (Envoy's 10% would never eject one
   * of two instances).
   */
  outlier: { consecutiveErrors: 5, ejectFor: 30_000, maxEjectFor: 300_000, maxEjectedPercent: 50 },
  /** Safe methods of RFC 9110 §9.2.1 resend without harm; 64 KiB keeps typical JSON bodies. */
  fallback: {
    on: ['connect', 'timeout', 'reset', '5xx'] as const,
    methods: ['GET', 'HEAD', 'OPTIONS'] as const,
    maxBodyBytes: 64 * 1024,
  },
  /**
   * Envoy's retry budget: 20% of active requests, at least 3 concurrent;
   * backoff with full jitter (AWS architecture blog) from 25 ms (Envoy's base
   * interval) capped at 250 ms (Envoy's 10 × base).
   */
  retry: { attempts: 2, budget: 0.2, minConcurrent: 3, backoff: 25, maxBackoff: 250 },
  /** DESIGN.md token bucket: 1000 requests/s, burst 1000; at most 10,000 keys kept (LRU). */
  limit: { rps: 1000, burst: 1000, maxKeys: 10_000 },
  /**
   * A cap on requests in flight; adaptive mode (gradient of a minimum-RTT
   * baseline, as Envoy's adaptive concurrency) never goes below minLimit and
   * sheds when latency exceeds tolerance × the baseline.
   */
  concurrency: { max: 500, adaptive: false, minLimit: 10, tolerance: 2 },
  /**
   * Shadow copies: 1 MiB covers typical JSON answers (issue 4); 256 copies in
   * flight per route bound the work (their bytes are bounded by shadowMemory
   * below); the newest 20 mismatch samples are enough to see a pattern.
   */
  shadow: { percent: 100, writes: false, maxBodyBytes: 1024 * 1024, maxInFlight: 256, samples: 20 },
  /**
   * Bytes all shadow copies of the process may hold at once (issue 9: 400
   * copies of 1 MiB answers reached 700+ MiB RSS). 64 MiB holds 32 pairs of
   * two full 1 MiB answers, or thousands of typical few-KiB pairs, and stays
   * an eighth of a 512 MiB container; the compare pool's queue is 64 pairs.
   */
  shadowMemory: 64 * 1024 * 1024,
  /** `learnNoise: true`: 1% of shadowed safe requests asked of legacy twice (issue 4's "small sample"). */
  learnNoiseSample: 0.01,
  /**
   * Rollouts. Steps 1, 5, 25, 50, 100 (DESIGN.md); 30 s per step and 10 min
   * of shadow are Flagger-like short holds; 200 requests before a decision
   * keep a 0.3% error bound meaningful (one error in 200 is 0.5%).
   * Two failed checks in a row roll back: one bad second is noise, two are a
   * trend. Gates check every second over the last 30 s.
   */
  rollout: {
    autoStart: true,
    steps: [1, 5, 25, 50, 100],
    interval: 30_000,
    shadowFor: 600_000,
    minRequests: 200,
    window: 30_000,
    failureLimit: 2,
    onSuccess: 'done',
  },
  /**
   * DESIGN.md: candidate 5xx above 0.3% or p95 above 800 ms roll back; error
   * rate and p99 within 5% of legacy's. The floors (0.1 percentage point,
   * 5 ms) keep a zero or tiny baseline from failing on one error or on
   * scheduler jitter. Shadow mismatches: at most 1% of compared pairs.
   */
  gates: {
    errorRate: 0.003,
    p95: 800,
    baseline: { errorRate: 0.05, p99: 0.05, errorRateFloor: 0.001, p99Floor: 5 },
    mismatchRate: 0.01,
  },
  rolloutCheckEvery: 1_000,
  /** Webhooks: 5 s to answer, 3 retries with backoff for events. */
  webhook: { timeout: 5_000, retries: 3 },
  /** Prometheus instant queries: 2 s, well inside a 1 s check cadence's patience of a few checks. */
  prometheusTimeout: 2_000,
  logLevel: 'info',
  accessLog: true,
  tracing: false,
} as const;
