// The guards of one route that sit in front of the split: rate limit and
// concurrency cap (admission), plus the retry budget and the counters the
// exchange reports to. Built once per route config and kept across reloads
// while that route's guard settings do not change, so limits keep their state.
import type { ServerResponse } from 'node:http';
import type { RouteConfig } from '../config/index.ts';
import { OverloadedError, RateLimitedError } from '../errors.ts';
import {
  ConcurrencyLimiter,
  type RateLimiter,
  RateLimitHeaders,
  RetryBudget,
  TokenBucketLimiter,
} from '../guard/index.ts';
import { problemFromError, sendProblem } from '../problem.ts';
import type { Metrics, RouteGuardMetrics } from '../telemetry/index.ts';
import { type SplitInput, stickyKeyOf } from './split.ts';

/** What decides whether a route's guards can be kept across a reload. */
export function guardKey(rc: RouteConfig): string {
  return JSON.stringify([rc.limit, rc.concurrency, rc.retry]);
}

export class RouteGuards {
  readonly key: string;
  readonly #route: string;
  readonly #config: RouteConfig;
  readonly #limiter: RateLimiter | undefined;
  readonly #headers: RateLimitHeaders | undefined;
  readonly #concurrency: ConcurrencyLimiter | undefined;
  readonly #retryBudget: RetryBudget | undefined;
  readonly #metrics: RouteGuardMetrics;
  /** Requests of this route in flight (admitted, not finished): the retry budget's base. */
  #inFlight = 0;

  /** `limiter`: the route's limit when it is not this process's own (a cluster limit). */
  constructor(rc: RouteConfig, metrics: Metrics, limiter?: RateLimiter) {
    this.key = guardKey(rc);
    this.#route = rc.name;
    this.#config = rc;
    this.#limiter = rc.limit ? (limiter ?? new TokenBucketLimiter(rc.limit)) : undefined;
    this.#headers = rc.limit ? new RateLimitHeaders(rc.limit) : undefined;
    this.#concurrency = rc.concurrency ? new ConcurrencyLimiter(rc.concurrency) : undefined;
    this.#retryBudget = rc.retry ? new RetryBudget(rc.retry) : undefined;
    this.#metrics = metrics.forRouteGuards(rc.name);
  }

  /**
   * Rate limit, then concurrency. Answers 429 or 503 itself and returns false
   * when the request may not go on; a true answer holds a concurrency slot
   * until `finished`.
   */
  admit(input: SplitInput, res: ServerResponse, requestId: string): boolean {
    const limiter = this.#limiter;
    if (limiter) {
      const key =
        this.#config.limit!.key.length === 0
          ? ''
          : (stickyKeyOf(this.#config.limit!.key, input) ?? '');
      const decision = limiter.take(key, Date.now());
      const headers = this.#headers!.forDecision(decision);
      if (!decision.allowed) {
        this.#metrics.rateLimited();
        sendProblem(
          res,
          problemFromError(new RateLimitedError(this.#route), { route: this.#route, requestId }),
          {
            ...headers,
            'x-request-id': requestId,
          },
        );
        return false;
      }
      for (const name in headers) res.setHeader(name, headers[name]);
    }
    const cc = this.#concurrency;
    if (cc && !cc.tryAcquire()) {
      this.#metrics.shed();
      sendProblem(
        res,
        problemFromError(new OverloadedError(this.#route, cc.limit), {
          route: this.#route,
          requestId,
        }),
        { 'retry-after': '1', 'x-request-id': requestId },
      );
      return false;
    }
    this.#inFlight++;
    return true;
  }

  /** A cluster limit's mode (`shared` or its fallback); undefined for a limit of this process or none. */
  get limitMode(): string | undefined {
    return this.#config.limit?.scope === 'cluster' ? this.#limiter!.snapshot?.().mode : undefined;
  }

  /** The request is over (any outcome): frees its concurrency slot and feeds the adaptive limit. */
  finished(ms: number, ok: boolean): void {
    this.#inFlight--;
    this.#concurrency?.release(ms, ok);
  }

  /** A backend's concurrency cap refused an attempt of this route. */
  shed(): void {
    this.#metrics.shed();
  }

  fallback(reason: string): void {
    this.#metrics.fallback(reason);
  }

  /** An attempt that is a retry went out. */
  retried(): void {
    this.#metrics.retry();
  }

  canRetry(): boolean {
    return this.#retryBudget?.canRetry(this.#inFlight) ?? false;
  }

  retryStarted(): void {
    this.#retryBudget?.retryStarted();
  }

  retryFinished(): void {
    this.#retryBudget?.retryFinished();
  }

  snapshot(): Record<string, unknown> {
    return {
      limit: this.#config.limit
        ? {
            rps: this.#config.limit.rps,
            burst: this.#config.limit.burst,
            scope: this.#config.limit.scope,
            ...this.#limiter!.snapshot?.(),
          }
        : null,
      concurrency: this.#concurrency ? this.#concurrency.snapshot() : null,
      retry: this.#retryBudget ? this.#retryBudget.snapshot() : null,
      inFlight: this.#inFlight,
    };
  }
}
