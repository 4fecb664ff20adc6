// Prometheus metrics (prom-client). Request counts per route × side are plain
// numbers (request-stats.ts); other per-route series are bound on first use
// (route-series.ts), so neither the hot path nor an idle route builds label objects.
import { Counter, Gauge, Registry } from 'prom-client';
import { type BreakerSeries, registerBreakerGauge } from './breaker-gauge.ts';
import { type LimitModeSeries, registerLimitModeGauge } from './limit-mode-gauge.ts';
import { MinuteHistory } from './minute-history.ts';
import type { Outcome } from './outcome.ts';
import { RequestStats, type SideStats, statsNow } from './request-stats.ts';
import { LazyRouteGuardMetrics, LazyRouteTunnelMetrics } from './route-series.ts';

export interface RouteSideMetrics {
  /**
   * Count one finished attempt, its latency and its outcome (a failure counts
   * as 5xx); `grpcStatus`: the code of a gRPC answer (0–16), else NO_GRPC_STATUS;
   * `at`: when it ended, epoch ms by the stats clock (performance.timeOrigin +
   * performance.now()), when the caller has just read it (saves a read).
   */
  observe(
    status: number,
    seconds: number,
    outcome: Outcome,
    grpcStatus?: number,
    at?: number,
  ): void;
}

/** Pre-bound counters of one route's guards. */
export interface RouteGuardMetrics {
  fallback(reason: string): void;
  rateLimited(): void;
  shed(): void;
  retry(): void;
}

/** Pre-bound series of one backend's connection queue. */
export interface BackendQueueMetrics {
  /** Requests now waiting for a connection: +1 when one starts waiting, −1 when it stops. */
  waiting(delta: 1 | -1): void;
  rejected(reason: 'full' | 'timeout'): void;
}

export interface RouteShadowMetrics {
  /** A compared pair, by its verdict when it was compared (the ratio gauge follows later noise). */
  compared(match: boolean): void;
  skipped(reason: string): void;
}

/** Why a tunnel ended: no byte either way for tunnelIdleTimeout, or which side closed first. */
export type TunnelEnd = 'idle' | 'client' | 'backend';

/** Pre-bound tunnel series of one route. */
export interface RouteTunnelMetrics {
  opened(): void;
  closed(reason: TunnelEnd): void;
}

/** What the in-flight gauge shows (read at scrape time). */
export interface InFlightFigures {
  readonly requests: number;
}

/** What the shadow memory budget shows (read at scrape time). */
export interface ShadowMemoryFigures {
  readonly held: number;
  readonly limit: number;
  readonly peak: number;
}

export class Metrics {
  readonly registry = new Registry();
  /** The report's minute history of every route (flushed to the store by the process: cli/run.ts). */
  readonly history = new MinuteHistory({ clock: statsNow });
  readonly #requests: RequestStats;
  /** What is in flight, read at scrape time (the gateway's one count). */
  #inFlight: InFlightFigures | undefined;
  #fleet: { storeUp(): boolean; leader(): boolean } | undefined;
  readonly #reloads: Counter<'result'>;
  readonly #connectionsRefused: Counter;
  readonly #backendUp: Gauge<'backend' | 'instance'>;
  readonly #unrouted: Counter<'status'>;
  /** Where cutover_breaker_state finds the breakers at scrape time. */
  readonly #breakerSources = new Set<() => Iterable<BreakerSeries>>();
  readonly #limitModeSources = new Set<() => Iterable<LimitModeSeries>>();
  readonly #breakerTransitions: Counter<'backend' | 'route' | 'from' | 'to'>;
  readonly #fallbacks: Counter<'route' | 'reason'>;
  readonly #rateLimited: Counter<'route'>;
  readonly #shed: Counter<'route'>;
  readonly #retries: Counter<'route'>;
  readonly #ejections: Counter<'backend' | 'instance'>;
  readonly #shadow: Counter<'route' | 'result'>;
  /** Read at scrape time: the ratio moves when noise is learned, with no new pair. */
  readonly #shadowRatios = new Map<string, () => number>();
  readonly #tunnelsOpen: Gauge<'route'>;
  readonly #tunnelsClosed: Counter<'route' | 'reason'>;
  readonly #queued: Gauge<'backend'>;
  readonly #queueRejected: Counter<'backend' | 'reason'>;
  readonly #clientTimeouts: Counter<'kind'>;
  #shadowMemory: ShadowMemoryFigures | undefined;

  constructor() {
    const registers = [this.registry];
    this.#requests = new RequestStats(this.registry, this.history);
    const metrics = this;
    new Gauge({
      name: 'cutover_requests_in_flight',
      help: 'Requests being proxied now',
      registers,
      collect() {
        this.set(metrics.#inFlight?.requests ?? 0);
      },
    });
    new Gauge({
      name: 'cutover_state_store_up',
      help: '1 while the fleet state store answers, 0 while this instance serves on the last state it knew',
      registers,
      collect() {
        if (metrics.#fleet) this.set(metrics.#fleet.storeUp() ? 1 : 0);
      },
    });
    new Gauge({
      name: 'cutover_fleet_leader',
      help: '1 while this instance holds the controller lease (runs the rollout checks), else 0',
      registers,
      collect() {
        if (metrics.#fleet) this.set(metrics.#fleet.leader() ? 1 : 0);
      },
    });
    this.#reloads = new Counter({
      name: 'cutover_config_reloads_total',
      help: 'Config reloads by result (ok|failed)',
      labelNames: ['result'],
      registers,
    });
    this.#connectionsRefused = new Counter({
      name: 'cutover_connections_refused_total',
      help: 'Client connections closed on arrival because server.maxConnections were open',
      registers,
    });
    this.#backendUp = new Gauge({
      name: 'cutover_backend_up',
      help: '1 when a backend instance passes its health checks, else 0',
      labelNames: ['backend', 'instance'],
      registers,
    });
    this.#unrouted = new Counter({
      name: 'cutover_unrouted_requests_total',
      help: 'Requests the gateway answered itself, without a backend (no route, bad request, too large, rate limited, shed), by status',
      labelNames: ['status'],
      registers,
    });
    registerBreakerGauge(this.registry, this.#breakerSources);
    registerLimitModeGauge(this.registry, this.#limitModeSources);
    this.#breakerTransitions = new Counter({
      name: 'cutover_breaker_transitions_total',
      help: 'Circuit breaker state changes',
      labelNames: ['backend', 'route', 'from', 'to'],
      registers,
    });
    this.#fallbacks = new Counter({
      name: 'cutover_fallbacks_total',
      help: 'Requests meant for the candidate that legacy answered, by reason',
      labelNames: ['route', 'reason'],
      registers,
    });
    this.#rateLimited = new Counter({
      name: 'cutover_rate_limited_total',
      help: 'Requests refused with 429 by the route rate limit',
      labelNames: ['route'],
      registers,
    });
    this.#shed = new Counter({
      name: 'cutover_shed_total',
      help: 'Requests refused with 503 by the route concurrency limit',
      labelNames: ['route'],
      registers,
    });
    this.#retries = new Counter({
      name: 'cutover_retries_total',
      help: 'Upstream attempts that were retries',
      labelNames: ['route'],
      registers,
    });
    this.#ejections = new Counter({
      name: 'cutover_outlier_ejections_total',
      help: 'Backend instances ejected by outlier detection',
      labelNames: ['backend', 'instance'],
      registers,
    });
    this.#shadow = new Counter({
      name: 'cutover_shadow_total',
      help: 'Shadow copies by route and result (matched, mismatched, skipped_<reason>)',
      labelNames: ['route', 'result'],
      registers,
    });
    const ratios = this.#shadowRatios;
    new Gauge({
      name: 'cutover_shadow_mismatch_ratio',
      help: 'Mismatched / compared shadow pairs of a route since start, judged by the noise known now',
      labelNames: ['route'],
      registers,
      collect() {
        // Only the routes that shadow now: a route whose shadow a reload removed is gone.
        this.reset();
        for (const [route, ratio] of ratios) this.set({ route }, ratio());
      },
    });
    this.#tunnelsOpen = new Gauge({
      name: 'cutover_tunnels_open',
      help: 'Upgraded connections (after a 101) open now',
      labelNames: ['route'],
      registers,
    });
    this.#tunnelsClosed = new Counter({
      name: 'cutover_tunnels_closed_total',
      help: 'Upgraded connections closed, by reason (idle: tunnelIdleTimeout; client or backend: the side that closed first)',
      labelNames: ['route', 'reason'],
      registers,
    });
    this.#queued = new Gauge({
      name: 'cutover_backend_queued',
      help: 'Requests waiting for a free connection to a backend (all its instances)',
      labelNames: ['backend'],
      registers,
    });
    this.#queueRejected = new Counter({
      name: 'cutover_backend_queue_rejected_total',
      help: 'Requests that got no connection to a backend: queue full or queueTimeout passed (503 or fallback)',
      labelNames: ['backend', 'reason'],
      registers,
    });
    this.#clientTimeouts = new Counter({
      name: 'cutover_client_timeouts_total',
      help: 'Client connections closed for slowness: body (request body gap over clientBodyTimeout, 408) or send (answer unread for sendTimeout)',
      labelNames: ['kind'],
      registers,
    });
    this.#shadowMemory = undefined;
    new Gauge({
      name: 'cutover_shadow_buffered_bytes',
      help: 'Bytes held by shadow copies now (bodies and answers kept for comparison), all routes',
      registers,
      collect() {
        this.set(metrics.#shadowMemory?.held ?? 0);
      },
    });
    new Gauge({
      name: 'cutover_shadow_buffered_bytes_max',
      help: 'Most bytes held by shadow copies at once since start',
      registers,
      collect() {
        this.set(metrics.#shadowMemory?.peak ?? 0);
      },
    });
    new Gauge({
      name: 'cutover_shadow_memory_limit_bytes',
      help: 'The shadow memory budget (server.shadowMemory)',
      registers,
      collect() {
        this.set(metrics.#shadowMemory?.limit ?? 0);
      },
    });
    const history = this.history;
    new Gauge({
      name: 'cutover_history_write_failures',
      help: 'Writes of the report minute history that failed since start (their rows are written again at the next minute)',
      registers,
      collect() {
        this.set(history.failures);
      },
    });
    new Gauge({
      name: 'cutover_history_pending_rows',
      help: 'Minute-history rows waiting for the state store',
      registers,
      collect() {
        this.set(history.pendingRows);
      },
    });
    this.#reloads.inc({ result: 'ok' }, 0);
    this.#reloads.inc({ result: 'failed' }, 0);
  }

  forRouteSide(route: string, side: string, backend: string): RouteSideMetrics {
    return this.#requests.side(route, side, backend);
  }

  /** The same stats object, with its counts and sliding window (rollouts read these). */
  sideStats(route: string, side: string, backend: string): SideStats {
    return this.#requests.side(route, side, backend);
  }

  /** A route's guard counters, bound on first use (route-series.ts). */
  forRouteGuards(route: string): RouteGuardMetrics {
    return new LazyRouteGuardMetrics(
      route,
      this.#rateLimited,
      this.#shed,
      this.#retries,
      this.#fallbacks,
    );
  }

  /** Breakers that cutover_breaker_state shows (read at each scrape, so no update is needed on a change). */
  breakerSource(source: () => Iterable<BreakerSeries>): void {
    this.#breakerSources.add(source);
  }

  /** Cluster rate limits that cutover_rate_limit_mode shows (read at each scrape). */
  limitModeSource(source: () => Iterable<LimitModeSeries>): void {
    this.#limitModeSources.add(source);
  }

  breakerTransition(backend: string, route: string, from: string, to: string): void {
    this.#breakerTransitions.inc({ backend, route, from, to });
    if (to === 'open') this.history.breakerOpened(route, backend);
  }

  /** After a reload: the mismatch ratio is kept for these routes only (the others' results are let go). */
  keepShadowRatios(routes: ReadonlySet<string>): void {
    for (const route of this.#shadowRatios.keys()) {
      if (!routes.has(route)) this.#shadowRatios.delete(route);
    }
  }

  /**
   * Pre-bound shadow counters of a route (no label hashing per pair);
   * `mismatchRatio` is what cutover_shadow_mismatch_ratio shows at each scrape.
   */
  forRouteShadow(route: string, mismatchRatio: () => number): RouteShadowMetrics {
    const matched = this.#shadow.labels(route, 'matched');
    const mismatched = this.#shadow.labels(route, 'mismatched');
    this.#shadowRatios.set(route, mismatchRatio);
    const counter = this.#shadow;
    return {
      compared: (match) => (match ? matched : mismatched).inc(),
      skipped: (reason) => counter.inc({ route, result: `skipped_${reason}` }),
    };
  }

  /** A route's tunnel series, bound on the route's first upgrade (most routes never tunnel). */
  forRouteTunnels(route: string): RouteTunnelMetrics {
    return new LazyRouteTunnelMetrics(route, this.#tunnelsOpen, this.#tunnelsClosed);
  }

  /** Pre-bound queue series of a backend; the gauge shows 0 from the start. */
  forBackendQueue(backend: string): BackendQueueMetrics {
    const queued = this.#queued.labels(backend);
    queued.inc(0);
    const full = this.#queueRejected.labels(backend, 'full');
    const timeout = this.#queueRejected.labels(backend, 'timeout');
    return {
      waiting: (delta) => queued.inc(delta),
      rejected: (reason) => (reason === 'full' ? full : timeout).inc(),
    };
  }

  clientTimeout(kind: 'body' | 'send'): void {
    this.#clientTimeouts.inc({ kind });
  }

  /** The budget whose figures the shadow memory gauges show. */
  shadowMemory(figures: ShadowMemoryFigures): void {
    this.#shadowMemory = figures;
  }

  ejected(backend: string, instance: string): void {
    this.#ejections.inc({ backend, instance });
  }

  /** The count the in-flight gauge shows (read at scrape time, never counted twice). */
  inFlight(figures: InFlightFigures): void {
    this.#inFlight = figures;
  }

  /** What the fleet gauges read at scrape time. */
  fleet(source: { storeUp(): boolean; leader(): boolean }): void {
    this.#fleet = source;
  }

  unrouted(status: number): void {
    this.#unrouted.inc({ status: String(status) });
  }

  reload(ok: boolean): void {
    this.#reloads.inc({ result: ok ? 'ok' : 'failed' });
  }

  connectionRefused(): void {
    this.#connectionsRefused.inc();
  }

  backendUp(backend: string, instance: string, up: boolean): void {
    this.#backendUp.set({ backend, instance }, up ? 1 : 0);
  }

  removeBackend(backend: string, instance: string): void {
    this.#backendUp.remove({ backend, instance });
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  render(): Promise<string> {
    return this.registry.metrics();
  }
}
