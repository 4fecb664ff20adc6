// The RateLimit header fields of draft-ietf-httpapi-ratelimit-headers (-10,
// the structured-field form): `RateLimit-Policy` names a quota policy and
// states its quota and window, `RateLimit` the live counters for it; both are
// Structured Field Lists (RFC 9651) of one item, a quoted policy name with
// parameters. `Retry-After` (RFC 9110 §10.2.3) tells a refused client when a
// token is back.
import type { LimitConfig } from '../config/index.ts';
import type { LimitDecision } from './rate-limit.ts';

/** One policy per route, so one fixed name. */
const POLICY_NAME = '"default"';

/**
 * `"default";q=<burst>;w=<window>`: the quota is the bucket's capacity and the
 * window the seconds an empty bucket takes to fill (burst / rps, rounded up),
 * so q / w never promises more than the long-run rate.
 */
export function rateLimitPolicy(config: Pick<LimitConfig, 'rps' | 'burst'>): string {
  return `${POLICY_NAME};q=${config.burst};w=${Math.ceil(config.burst / config.rps)}`;
}

/** A route's RateLimit header values; the policy string is built once, here. */
export class RateLimitHeaders {
  readonly policy: string;

  constructor(config: Pick<LimitConfig, 'rps' | 'burst'>) {
    this.policy = rateLimitPolicy(config);
  }

  /**
   * The headers to send with a decision, names lower-cased as Node keeps them:
   * `ratelimit-policy`, `ratelimit` (`"default";r=<remaining>;t=<seconds until
   * full>`), and `retry-after` in delta-seconds only when the request was refused.
   */
  forDecision(decision: LimitDecision): Record<string, string> {
    const rateLimit = `${POLICY_NAME};r=${decision.remaining};t=${decision.resetSeconds}`;
    if (decision.allowed) return { 'ratelimit-policy': this.policy, ratelimit: rateLimit };
    return {
      'ratelimit-policy': this.policy,
      ratelimit: rateLimit,
      'retry-after': String(decision.retryAfterSeconds),
    };
  }
}
