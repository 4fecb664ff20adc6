// Token-bucket rate limiting per key (a user, a client IP, or '' for the
// whole route). The gateway computes the key with the split's
// `stickyKeyOf(limit.key, input) ?? ''`, so limits and sticky splits read a
// request the same way; requests that lack the key share the '' bucket, which
// `stickyKeyOf` never returns for a present key, so leaving the header out
// never escapes the limit.
import type { LimitConfig } from '../config/index.ts';
import { LruSlots } from './lru.ts';

/** What one `take` decided, in the units the RateLimit headers use. */
export interface LimitDecision {
  readonly allowed: boolean;
  /** The bucket's capacity (burst). */
  readonly limit: number;
  /** Whole tokens left after this request. */
  readonly remaining: number;
  /** Seconds until the bucket is full again, rounded up. */
  readonly resetSeconds: number;
  /** 0 when allowed; else seconds until one token is back, rounded up, at least 1. */
  readonly retryAfterSeconds: number;
}

/**
 * Counters behind a route's limit. Synchronous on purpose: the request path
 * never waits on a network round trip. `TokenBucketLimiter` (below) keeps the
 * buckets in this process; `ClusterLimiter` (cluster-limit.ts) answers from a
 * share of the fleet's bucket held locally and topped up from the state store
 * in the background.
 */
export interface RateLimiter {
  /** Spends one token of `key`'s bucket if it has one; `now` in milliseconds. */
  take(key: string, now: number): LimitDecision;
  /** For the admin API; a shared store may not know its key count. */
  snapshot?(): RateLimiterSnapshot;
}

export interface RateLimiterSnapshot {
  /** Keys with a bucket held right now. */
  readonly keys: number;
  readonly maxKeys: number;
  /** A cluster limit's mode: `shared`, or the fallback in force while the store is down. */
  readonly mode?: string;
}

/**
 * Tokens are counted in thousandths so that an integer-millisecond clock and
 * an integer rate refill exactly (rps units a millisecond): with plain
 * fractions, ten 1 ms refills of 0.1 token add up to 0.9999… and the request
 * that should pass is refused.
 */
const UNIT = 1000;

interface Bucket {
  /** Thousandths of a token, 0..burst × UNIT. */
  level: number;
  /** When `level` was last brought up to date, ms. */
  last: number;
}

/**
 * A token bucket per key: `burst` tokens of capacity, refilled at `rps` a
 * second, lazily — on each `take`, from the time of the previous one — so an
 * idle key costs no timer and no work.
 *
 * Keys are held in an LRU table of at most `maxKeys` (see lru.ts), so a flood
 * of distinct keys cannot exhaust memory. The trade-off: a key evicted and
 * seen again starts with a full bucket. A key idle for burst / rps seconds is
 * full anyway, so eviction forgets nothing unless more than `maxKeys` keys
 * are active within that time; set `maxKeys` above the number of clients
 * expected in one such window. A client able to mint that many keys can
 * reset its own bucket, which is why keys should be things a client cannot
 * choose freely (an IP, an authenticated user id).
 */
export class TokenBucketLimiter implements RateLimiter {
  readonly #burst: number;
  /** Capacity in thousandths. */
  readonly #capacity: number;
  /** Thousandths of a token added per millisecond (= rps). */
  readonly #refill: number;
  /** Thousandths of a token added per second: divides a shortfall into seconds. */
  readonly #perSecond: number;
  readonly #keys: LruSlots;
  /** Buckets by slot; a slot's bucket is reset, not replaced, when its key changes. */
  readonly #buckets: Bucket[] = [];

  constructor(config: LimitConfig) {
    this.#burst = config.burst;
    this.#capacity = config.burst * UNIT;
    this.#refill = config.rps;
    this.#perSecond = config.rps * 1000;
    this.#keys = new LruSlots(config.maxKeys);
  }

  /** Keys currently held (at most `maxKeys`). */
  get size(): number {
    return this.#keys.size;
  }

  snapshot(): RateLimiterSnapshot {
    return { keys: this.#keys.size, maxKeys: this.#keys.capacity };
  }

  take(key: string, now: number): LimitDecision {
    const bucket = this.#bucketOf(key, now);
    const elapsed = now - bucket.last;
    // A clock that went backwards refills nothing rather than draining.
    if (elapsed > 0) {
      const level = bucket.level + elapsed * this.#refill;
      bucket.level = Math.min(level, this.#capacity);
      bucket.last = now;
    }
    const allowed = bucket.level >= UNIT;
    if (allowed) bucket.level -= UNIT;
    const level = bucket.level;
    // A fresh small object rather than a shared mutable one: safe to keep
    // across an await, and V8 allocates it in a few nanoseconds.
    return {
      allowed,
      limit: this.#burst,
      remaining: Math.floor(level / UNIT),
      resetSeconds: Math.ceil((this.#capacity - level) / this.#perSecond),
      retryAfterSeconds: allowed ? 0 : this.#secondsToOneToken(level),
    };
  }

  #secondsToOneToken(level: number): number {
    const seconds = Math.ceil((UNIT - level) / this.#perSecond);
    return Math.max(seconds, 1);
  }

  /** The key's bucket; a key not held (new, or evicted earlier) gets a full one. */
  #bucketOf(key: string, now: number): Bucket {
    const slot = this.#keys.touch(key);
    if (slot >= 0) return this.#buckets[slot];
    const fresh = -1 - slot;
    let bucket = this.#buckets[fresh];
    if (bucket === undefined) {
      bucket = { level: this.#capacity, last: now };
      this.#buckets.push(bucket);
    } else {
      bucket.level = this.#capacity;
      bucket.last = now;
    }
    return bucket;
  }
}
