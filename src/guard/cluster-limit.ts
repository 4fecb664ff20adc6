// Cluster-wide rate limits (issue 11): one token bucket per key for the whole
// fleet, kept in the state store (an atomic Lua script on Redis, timed by the
// store's clock), answered synchronously from a share of tokens each instance
// holds. The hot path never waits on the store: a share is topped up in the
// background, in batches, when it runs low.
//
// The rules, and why (docs/config.md § Cluster rate limits has the user's view):
// - batch = ⌈rps × 50 ms⌉, at most ⌊burst / instances⌋, at least 1: about 20
//   store calls a second per key under load, whatever the rate, and a few
//   instances together never hold the whole burst.
// - A share is topped up to `batch` (asking batch − tokens) once it falls to
//   ⌊batch / 2⌋, so under load the refill lands before the share is empty.
// - An empty share refuses: admitting on the hope that a refill will grant
//   would turn every refill round trip into overshoot. Tokens a share holds but
//   has not spent are under-admission, not over: they were taken from the
//   shared bucket, so the others cannot spend them either.
// - Except a key this instance has never had an answer for: it admits up to
//   `batch` requests on credit while its first refill is in flight, so a
//   user's first request is not refused for want of a round trip. The refill
//   asks for the debt too and pays it first; a key new to the store starts
//   with a full bucket, which covers the credit.
// - When the shared bucket ran dry (a grant below what was asked), the share
//   does not ask again before a batch could have refilled: refused traffic
//   costs the store at most one call per key per instance per batch time.
//   Nothing is lost by waiting: tokens accumulate in the store until burst.
// So each instance holds between −batch (credit) and +batch tokens of a key,
// and over any window the fleet admits at most rps × window + burst +
// batch × instances.
import type { LimitConfig, LimitFallback } from '../config/index.ts';
import { LruSlots } from './lru.ts';
import {
  type LimitDecision,
  type RateLimiter,
  type RateLimiterSnapshot,
  TokenBucketLimiter,
} from './rate-limit.ts';

/** The store's answer to a take; structurally state's `TokenGrant`. */
export interface SharedGrant {
  /** Tokens granted: from 0 to the number asked. */
  readonly granted: number;
  /** Whole tokens left in the shared bucket after the grant. */
  readonly remaining: number;
  /** Milliseconds until the bucket is full again. */
  readonly fullInMs: number;
  /** Milliseconds until one token is back; 0 when tokens are left. */
  readonly nextInMs: number;
}

/**
 * What a cluster limit needs of the state store: the fleet store's
 * `takeTokens`, named here because guard may not import state (the gateway
 * hands the store in).
 */
export interface SharedBuckets {
  takeTokens(key: string, rps: number, burst: number, want: number): Promise<SharedGrant>;
}

/** `shared`: answering from the store's buckets; otherwise the fallback in force. */
export type LimitMode = 'shared' | LimitFallback;

export interface LimitModeChange {
  readonly route: string;
  readonly from: LimitMode;
  readonly to: LimitMode;
  readonly reason: string;
}

export interface ClusterLimitOptions {
  readonly route: string;
  /** Undefined: no shared store; the limit runs in its fallback from the start. */
  readonly buckets: SharedBuckets | undefined;
  /** Instances last seen in the fleet (divides the quota in `local` fallback); 1 by default. */
  readonly instances?: () => number;
  /** Called once per change of mode, never per request. */
  readonly onModeChange?: (change: LimitModeChange) => void;
}

/** A batch is this much of the cluster's rate (rps / 20). */
export const BATCH_WINDOW_MS = 50;
/** How often a limit in fallback asks the store whether it is back. */
export const STORE_RETRY_MS = 1_000;
/**
 * A refill unanswered this long counts as a store that is down. Five times
 * the 50 ms command timeout issue 11 asks of the store, so only a store that
 * hangs without failing its calls reaches it.
 */
export const REFILL_TIMEOUT_MS = 250;

/** One key's local share of its shared bucket. */
class Share {
  readonly storeKey: string;
  /** Whole tokens this instance may spend; below 0 while in debt for credit. */
  tokens = 0;
  /** False until the store first answered for this key: credit is allowed until then. */
  answered = false;
  /** Whole tokens the store said were left at its last answer (the bucket starts full). */
  remaining: number;
  /** When, by the last answer, the shared bucket is full again (ms, our clock). */
  fullAt = Number.NEGATIVE_INFINITY;
  /** When, by the last answer, a token is back. */
  nextAt = Number.NEGATIVE_INFINITY;
  /** No refill before this (set when the shared bucket ran dry). */
  notBefore = Number.NEGATIVE_INFINITY;
  refilling = false;
  askedAt = 0;
  /** Numbers the refills, so an answer that timed out does not clear a newer one's flag. */
  asks = 0;

  constructor(storeKey: string, burst: number) {
    this.storeKey = storeKey;
    this.remaining = burst;
  }
}

export class ClusterLimiter implements RateLimiter {
  readonly #config: LimitConfig;
  readonly #route: string;
  readonly #buckets: SharedBuckets | undefined;
  readonly #instances: () => number;
  readonly #onModeChange: (change: LimitModeChange) => void;
  /** `limit:<route>:` — a key's bucket in the store is this plus the key. */
  readonly #prefix: string;
  readonly #msPerToken: number;
  readonly #keys: LruSlots;
  readonly #shares: Share[] = [];
  #batch: number;
  #lowWater: number;
  #mode: LimitMode = 'shared';
  /** The `local` fallback's buckets, built when the limit falls back. */
  #local: TokenBucketLimiter | undefined = undefined;
  #nextProbeAt = Number.NEGATIVE_INFINITY;
  /** Answers of the `open` and `closed` fallbacks; the same every time. */
  readonly #admitAll: LimitDecision;
  readonly #refuseAll: LimitDecision;

  constructor(config: LimitConfig, options: ClusterLimitOptions) {
    this.#config = config;
    this.#route = options.route;
    this.#buckets = options.buckets;
    this.#instances = options.instances ?? (() => 1);
    this.#onModeChange = options.onModeChange ?? (() => {});
    this.#prefix = `limit:${options.route}:`;
    this.#msPerToken = 1000 / config.rps;
    this.#keys = new LruSlots(config.maxKeys);
    this.#batch = this.#batchSize();
    this.#lowWater = Math.floor(this.#batch / 2);
    this.#admitAll = Object.freeze({
      allowed: true,
      limit: config.burst,
      remaining: config.burst,
      resetSeconds: 0,
      retryAfterSeconds: 0,
    });
    const retry = Math.ceil(STORE_RETRY_MS / 1000);
    this.#refuseAll = Object.freeze({
      allowed: false,
      limit: config.burst,
      remaining: 0,
      resetSeconds: retry,
      retryAfterSeconds: retry,
    });
    if (!options.buckets) {
      this.#nextProbeAt = Number.POSITIVE_INFINITY;
      this.#fallBack('no shared state store was given to the gateway');
    }
  }

  /** Where answers come from now. */
  get mode(): LimitMode {
    return this.#mode;
  }

  /** Tokens a share is topped up to (recomputed at each refill from the instance count). */
  get batch(): number {
    return this.#batch;
  }

  snapshot(): RateLimiterSnapshot {
    return { keys: this.#keys.size, maxKeys: this.#keys.capacity, mode: this.#mode };
  }

  take(key: string, now: number): LimitDecision {
    if (this.#mode !== 'shared') return this.#takeFallback(key, now);
    const share = this.#shareOf(key);
    if (share.refilling && now - share.askedAt > REFILL_TIMEOUT_MS) {
      share.refilling = false;
      share.asks++;
      this.#fallBack(`the state store did not answer within ${REFILL_TIMEOUT_MS} ms`, now);
      return this.#takeFallback(key, now);
    }
    let allowed = false;
    if (share.tokens >= 1 || (!share.answered && share.tokens > -this.#batch)) {
      share.tokens--;
      allowed = true;
    }
    if (share.tokens <= this.#lowWater && !share.refilling && now >= share.notBefore) {
      this.#refill(share, now);
    }
    return this.#decision(share, allowed, now);
  }

  /** What the headers say: the store's last count plus (or minus) this instance's share. */
  #decision(share: Share, allowed: boolean, now: number): LimitDecision {
    const tokens = share.tokens;
    const burst = this.#config.burst;
    // Refused means nothing is left for this client now, whatever the store's
    // last count said (a refill may be in flight): r=0 with the refusal.
    const remaining = allowed ? Math.min(burst, Math.max(0, share.remaining + tokens)) : 0;
    const fullInMs = Math.max(0, share.fullAt - now) + Math.max(0, -tokens) * this.#msPerToken;
    return {
      allowed,
      limit: burst,
      remaining,
      resetSeconds: Math.ceil(fullInMs / 1000),
      retryAfterSeconds: allowed
        ? 0
        : Math.max(1, Math.ceil((Math.max(share.nextAt, share.notBefore) - now) / 1000)),
    };
  }

  #refill(share: Share, now: number): void {
    this.#batch = this.#batchSize();
    this.#lowWater = Math.floor(this.#batch / 2);
    const want = this.#batch - share.tokens;
    if (want <= 0) return;
    share.refilling = true;
    share.askedAt = now;
    const ask = ++share.asks;
    this.#buckets!.takeTokens(share.storeKey, this.#config.rps, this.#config.burst, want).then(
      (grant) => this.#answered(share, ask, want, grant),
      (error: unknown) => {
        if (ask !== share.asks) return;
        share.refilling = false;
        this.#fallBack(`the state store failed: ${messageOf(error)}`, share.askedAt);
      },
    );
  }

  #answered(share: Share, ask: number, want: number, grant: SharedGrant): void {
    // Granted tokens are real even when the answer came too late: the store
    // has counted them taken, so spending them is no overshoot.
    share.tokens += grant.granted;
    share.answered = true;
    if (ask !== share.asks) return;
    share.refilling = false;
    const at = share.askedAt;
    share.remaining = grant.remaining;
    share.fullAt = at + grant.fullInMs;
    share.nextAt = at + grant.nextInMs;
    if (grant.granted < want) {
      share.notBefore = at + Math.max(grant.nextInMs, this.#batch * this.#msPerToken);
    }
  }

  #batchSize(): number {
    const instances = Math.max(1, this.#instances());
    const ofRate = Math.ceil((this.#config.rps * BATCH_WINDOW_MS) / 1000);
    return Math.max(1, Math.min(ofRate, Math.floor(this.#config.burst / instances)));
  }

  #shareOf(key: string): Share {
    const slot = this.#keys.touch(key);
    if (slot >= 0) return this.#shares[slot];
    // A new object, not the evicted one reset: a refill of the evicted key
    // may still be in flight and must not land in the new key's share.
    const share = new Share(this.#prefix + key, this.#config.burst);
    this.#shares[-1 - slot] = share;
    return share;
  }

  #takeFallback(key: string, now: number): LimitDecision {
    if (now >= this.#nextProbeAt) this.#probe(key, now);
    if (this.#mode === 'local') return this.#local!.take(key, now);
    return this.#mode === 'open' ? this.#admitAll : this.#refuseAll;
  }

  /**
   * Asks the store for nothing (want 0: no token moves) to learn whether it is
   * back; at most once per STORE_RETRY_MS, driven by the traffic, so an idle
   * route costs no timer and a reload leaves none behind.
   */
  #probe(key: string, now: number): void {
    this.#nextProbeAt = now + STORE_RETRY_MS;
    const { rps, burst } = this.#config;
    this.#buckets!.takeTokens(this.#prefix + key, rps, burst, 0).then(
      () => this.#switch('shared', 'the state store answers again'),
      () => {},
    );
  }

  #fallBack(reason: string, at = Number.NEGATIVE_INFINITY): void {
    if (this.#mode !== 'shared') return;
    const fallback = this.#config.onStoreDown;
    if (fallback === 'local') {
      // The quota divided among the instances last seen: together they admit
      // about what the shared bucket would have, without talking.
      const instances = Math.max(1, this.#instances());
      this.#local = new TokenBucketLimiter({
        ...this.#config,
        rps: this.#config.rps / instances,
        burst: Math.max(1, Math.floor(this.#config.burst / instances)),
      });
    }
    if (at !== Number.NEGATIVE_INFINITY) this.#nextProbeAt = at + STORE_RETRY_MS;
    this.#switch(fallback, reason);
  }

  #switch(to: LimitMode, reason: string): void {
    const from = this.#mode;
    if (from === to) return;
    this.#mode = to;
    if (to === 'shared') this.#local = undefined;
    this.#onModeChange({ route: this.#route, from, to, reason });
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
