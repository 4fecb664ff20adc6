// Per-route Prometheus series bound on first use. A route table holds one of
// each per route; prom-client's label children (a labels object and bound
// functions each) made eagerly for every route cost ≈ 1 KiB a route, spent on
// routes that never rate-limit, shed, retry or tunnel (issue 10, memory per route).
import type { Counter, Gauge } from 'prom-client';
import type { RouteGuardMetrics, RouteTunnelMetrics, TunnelEnd } from './metrics.ts';

/** Route guard counters, each label child bound the first time it counts (no label hashing after that). */
export class LazyRouteGuardMetrics implements RouteGuardMetrics {
  readonly #route: string;
  readonly #rateLimitedCounter: Counter<'route'>;
  readonly #shedCounter: Counter<'route'>;
  readonly #retriesCounter: Counter<'route'>;
  readonly #fallbacks: Counter<'route' | 'reason'>;
  #rateLimited: { inc(): void } | undefined = undefined;
  #shed: { inc(): void } | undefined = undefined;
  #retries: { inc(): void } | undefined = undefined;

  constructor(
    route: string,
    rateLimited: Counter<'route'>,
    shed: Counter<'route'>,
    retries: Counter<'route'>,
    fallbacks: Counter<'route' | 'reason'>,
  ) {
    this.#route = route;
    this.#rateLimitedCounter = rateLimited;
    this.#shedCounter = shed;
    this.#retriesCounter = retries;
    this.#fallbacks = fallbacks;
  }

  fallback(reason: string): void {
    this.#fallbacks.inc({ route: this.#route, reason });
  }

  rateLimited(): void {
    this.#rateLimited ??= this.#rateLimitedCounter.labels(this.#route);
    this.#rateLimited.inc();
  }

  shed(): void {
    this.#shed ??= this.#shedCounter.labels(this.#route);
    this.#shed.inc();
  }

  retry(): void {
    this.#retries ??= this.#retriesCounter.labels(this.#route);
    this.#retries.inc();
  }
}

/** A route's tunnel series, bound on its first upgrade. */
export class LazyRouteTunnelMetrics implements RouteTunnelMetrics {
  readonly #route: string;
  readonly #openGauge: Gauge<'route'>;
  readonly #closedCounter: Counter<'route' | 'reason'>;
  #open: { inc(): void; dec(): void } | undefined = undefined;
  #closed: Record<TunnelEnd, { inc(): void }> | undefined = undefined;

  constructor(route: string, open: Gauge<'route'>, closed: Counter<'route' | 'reason'>) {
    this.#route = route;
    this.#openGauge = open;
    this.#closedCounter = closed;
  }

  opened(): void {
    this.#open ??= this.#openGauge.labels(this.#route);
    this.#open.inc();
  }

  closed(reason: TunnelEnd): void {
    this.#open ??= this.#openGauge.labels(this.#route);
    this.#open.dec();
    const route = this.#route;
    const counter = this.#closedCounter;
    this.#closed ??= {
      idle: counter.labels(route, 'idle'),
      client: counter.labels(route, 'client'),
      backend: counter.labels(route, 'backend'),
    };
    this.#closed[reason].inc();
  }
}
