// Prometheus metrics (prom-client). Label children are bound once per
// route × side when a config loads, so the hot path never builds label objects.
import { Counter, Gauge, Histogram, Registry } from 'prom-client';

/** Seconds; from 1 ms to 10 s, dense where API latencies live. */
const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const CLASSES = ['1xx', '2xx', '3xx', '4xx', '5xx'] as const;

export interface RouteSideMetrics {
  /** Count one finished request and its latency. */
  observe(status: number, seconds: number): void;
}

export class Metrics {
  readonly registry = new Registry();
  readonly #requests: Counter<'route' | 'side' | 'backend' | 'class'>;
  readonly #duration: Histogram<'route' | 'side' | 'backend'>;
  readonly #inFlight: Gauge;
  readonly #reloads: Counter<'result'>;
  readonly #backendUp: Gauge<'backend' | 'instance'>;
  readonly #unrouted: Counter<'status'>;

  constructor() {
    const registers = [this.registry];
    this.#requests = new Counter({
      name: 'cutover_requests_total',
      help: 'Requests proxied, by route, side (legacy|candidate), backend and status class',
      labelNames: ['route', 'side', 'backend', 'class'],
      registers,
    });
    this.#duration = new Histogram({
      name: 'cutover_request_duration_seconds',
      help: 'Time from request to the end of the response, by route, side and backend',
      labelNames: ['route', 'side', 'backend'],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.#inFlight = new Gauge({
      name: 'cutover_requests_in_flight',
      help: 'Requests being proxied now',
      registers,
    });
    this.#reloads = new Counter({
      name: 'cutover_config_reloads_total',
      help: 'Config reloads by result (ok|failed)',
      labelNames: ['result'],
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
      help: 'Requests answered by the gateway itself without a backend (no route, bad request, too large)',
      labelNames: ['status'],
      registers,
    });
    this.#reloads.inc({ result: 'ok' }, 0);
    this.#reloads.inc({ result: 'failed' }, 0);
  }

  forRouteSide(route: string, side: string, backend: string): RouteSideMetrics {
    const byClass = CLASSES.map((c) => this.#requests.labels(route, side, backend, c));
    const duration = this.#duration.labels(route, side, backend);
    return {
      observe(status: number, seconds: number): void {
        const cls = (status / 100) | 0;
        byClass[cls >= 1 && cls <= 5 ? cls - 1 : 4].inc();
        duration.observe(seconds);
      },
    };
  }

  requestStarted(): void {
    this.#inFlight.inc();
  }

  requestFinished(): void {
    this.#inFlight.dec();
  }

  unrouted(status: number): void {
    this.#unrouted.inc({ status: String(status) });
  }

  reload(ok: boolean): void {
    this.#reloads.inc({ result: ok ? 'ok' : 'failed' });
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
