export type {
  BreakerOptions,
  BreakerSnapshot,
  BreakerState,
  BreakerTransition,
  ForcedBreakerState,
} from './breaker.ts';
export { CircuitBreaker } from './breaker.ts';
export type {
  ClusterLimitOptions,
  LimitMode,
  LimitModeChange,
  SharedBuckets,
  SharedGrant,
} from './cluster-limit.ts';
export { ClusterLimiter } from './cluster-limit.ts';
export type { ConcurrencyOptions, ConcurrencySnapshot } from './concurrency.ts';
export { ConcurrencyLimiter } from './concurrency.ts';
export type { HealthBackend, HealthTarget } from './health.ts';
export { HealthChecker } from './health.ts';
export type { OutlierInstanceSnapshot, OutlierOptions, OutlierSnapshot } from './outlier.ts';
export { OutlierDetector } from './outlier.ts';
export type { ProbeBackend, ProbedBreaker } from './probe.ts';
export { BreakerProbes } from './probe.ts';
export type { LimitDecision, RateLimiter, RateLimiterSnapshot } from './rate-limit.ts';
export { TokenBucketLimiter } from './rate-limit.ts';
export { RateLimitHeaders, rateLimitPolicy } from './ratelimit-headers.ts';
export type { RetryBudgetSnapshot } from './retry.ts';
export { backoffDelay, RetryBudget, retryAfterMs } from './retry.ts';
