// Request counts and latency per route × side, kept as plain numbers on the
// hot path (no label hashing per request, as prom-client's label children
// do) and turned into Prometheus series when /metrics is scraped.
import type { Registry } from 'prom-client';
import { GRPC_STATUS_NAMES } from '../config/index.ts';
import { NO_GRPC_STATUS } from './grpc-status.ts';
import type { MinuteHistory, MinuteSide } from './minute-history.ts';
import { countedClass, type Outcome } from './outcome.ts';
import { SlidingWindow } from './windows.ts';

/** Seconds; from 1 ms to 10 s, dense where API latencies live. */
export const LATENCY_BUCKETS = [
  0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
];
const CLASSES = ['1xx', '2xx', '3xx', '4xx', '5xx'] as const;
/** Counts of one side, in one array: status classes 1xx..5xx, then latency buckets (the last is +Inf). */
const BUCKETS_AT = CLASSES.length;
const COUNTS = BUCKETS_AT + LATENCY_BUCKETS.length + 1;

/**
 * Wall-clock milliseconds from the monotonic clock: on the hot path Date.now
 * costs ≈ 50 ns and allocates on this VM (bench/windows-micro.ts); the two
 * drift apart by milliseconds at most, far below the windows' 1 s slots.
 */
const ORIGIN = performance.timeOrigin;
function epochNow(): number {
  return ORIGIN + performance.now();
}

/** Epoch ms by the clock the stats windows record with: give it to a FleetFigures so both agree on the second. */
export const statsNow: () => number = epochNow;

/** The epoch second just over by the windows' clock: the one to publish (fleet-payload.ts). */
export function lastCompleteSecond(): number {
  return Math.floor(epochNow() / 1000) - 1;
}

export class SideStats {
  readonly route: string;
  readonly side: string;
  readonly backend: string;
  /**
   * Requests by status class, then non-cumulative latency bucket counts
   * (COUNTS layout); created by the first request, so a route nobody calls
   * holds no array (two typed arrays per side were ≈ 0.5 KiB a route, issue 10).
   */
  #counts: Float64Array | undefined = undefined;
  sum = 0;
  count = 0;
  /** Only while a rollout reads it: per-second slots cost memory and every request a record. */
  #window: SlidingWindow | undefined = undefined;
  /** gRPC answers by grpc-status (index = code); created by the first one, so HTTP sides hold none. */
  #grpc: Float64Array | undefined = undefined;
  /** Where the report's minute history of every route is kept (minute-history.ts). */
  readonly #history: MinuteHistory | undefined;
  /** This route × side's, bound by the first request: an idle route holds nothing of it. */
  #minute: MinuteSide | undefined = undefined;

  constructor(route: string, side: string, backend: string, history?: MinuteHistory) {
    this.route = route;
    this.side = side;
    this.backend = backend;
    this.#history = history;
  }

  /** Stops keeping the sliding window (the rollout that read it is over). */
  dropWindow(): void {
    this.#window = undefined;
  }

  /** The sliding window if one is kept (a rollout reads this side), without turning one on. */
  get activeWindow(): SlidingWindow | undefined {
    return this.#window;
  }

  /** The sliding window of this side, kept from now on for at least `seconds`. */
  window(seconds: number): SlidingWindow {
    const retain = Math.max(1, Math.ceil(seconds));
    if (!this.#window || this.#window.retainSeconds < retain) {
      this.#window = new SlidingWindow({ retainSeconds: retain, clock: epochNow });
    }
    return this.#window;
  }

  /** Requests of status class `c` (0 = 1xx … 4 = 5xx). */
  classCount(c: number): number {
    return this.#counts?.[c] ?? 0;
  }

  /** Requests in latency bucket `i` (non-cumulative; LATENCY_BUCKETS.length is +Inf). */
  bucketCount(i: number): number {
    return this.#counts?.[BUCKETS_AT + i] ?? 0;
  }

  /** gRPC answers whose grpc-status was `code` (0–16). */
  grpcCount(code: number): number {
    return this.#grpc?.[code] ?? 0;
  }

  /**
   * Count one finished attempt; a failure counts as 5xx whatever its status
   * (outcome.ts). `grpcStatus`: the code of a gRPC answer, else NO_GRPC_STATUS.
   * `at`: when the attempt ended (epoch ms by statsNow's clock) if the caller
   * has it; else the clock is read here.
   */
  observe(
    status: number,
    seconds: number,
    outcome: Outcome,
    grpcStatus = NO_GRPC_STATUS,
    at?: number,
  ): void {
    const failed = outcome.kind === 'failure';
    if (grpcStatus !== NO_GRPC_STATUS) {
      this.#grpc ??= new Float64Array(GRPC_STATUS_NAMES.length);
      this.#grpc[grpcStatus]++;
    }
    // One clock read for the window and the minute history (none when the caller gave it).
    const now = at ?? epochNow();
    if (this.#window !== undefined) this.#window.record(status, seconds * 1000, failed, now);
    if (this.#history !== undefined) {
      this.#minute ??= this.#history.side(this.route, this.side, this.backend);
      this.#minute.record(status, seconds * 1000, failed, now);
    }
    this.#counts ??= new Float64Array(COUNTS);
    const counts = this.#counts;
    counts[countedClass(status, failed)]++;
    let i = 0;
    while (i < LATENCY_BUCKETS.length && seconds > LATENCY_BUCKETS[i]) i++;
    counts[BUCKETS_AT + i]++;
    this.sum += seconds;
    this.count++;
  }
}

const GRPC_HELP =
  'Upstream gRPC answers by route, side, backend and grpc-status (trailers-only or trailers; none: what the HTTP status maps to)';

interface MetricValue {
  value: number;
  labels: Record<string, string | number>;
  metricName?: string;
}

/** Every SideStats ever created, exported as two metric families on a registry. */
export class RequestStats {
  readonly #stats = new Map<string, SideStats>();
  readonly #history: MinuteHistory | undefined;

  constructor(registry: Registry, history?: MinuteHistory) {
    this.#history = history;
    const stats = this.#stats;
    registry.registerMetric({
      name: 'cutover_requests_total',
      help: 'Upstream requests by route, side (legacy|candidate), backend and status class',
      type: 'counter',
      get: () => {
        const values: MetricValue[] = [];
        for (const s of stats.values()) {
          for (let c = 0; c < 5; c++) {
            const value = s.classCount(c);
            if (value === 0) continue;
            values.push({
              value,
              labels: { route: s.route, side: s.side, backend: s.backend, class: CLASSES[c] },
            });
          }
        }
        return {
          name: 'cutover_requests_total',
          help: 'Upstream requests by route, side (legacy|candidate), backend and status class',
          type: 'counter',
          values,
          aggregator: 'sum',
        };
      },
    } as unknown as Parameters<Registry['registerMetric']>[0]);
    registry.registerMetric({
      name: 'cutover_grpc_responses_total',
      help: GRPC_HELP,
      type: 'counter',
      get: () => {
        const values: MetricValue[] = [];
        for (const s of stats.values()) {
          for (let code = 0; code < GRPC_STATUS_NAMES.length; code++) {
            const value = s.grpcCount(code);
            if (value === 0) continue;
            values.push({
              value,
              labels: {
                route: s.route,
                side: s.side,
                backend: s.backend,
                grpc_status: GRPC_STATUS_NAMES[code],
              },
            });
          }
        }
        return {
          name: 'cutover_grpc_responses_total',
          help: GRPC_HELP,
          type: 'counter',
          values,
          aggregator: 'sum',
        };
      },
    } as unknown as Parameters<Registry['registerMetric']>[0]);
    registry.registerMetric({
      name: 'cutover_request_duration_seconds',
      help: 'Time from request to the end of the response, by route, side and backend',
      type: 'histogram',
      get: () => {
        const name = 'cutover_request_duration_seconds';
        const values: MetricValue[] = [];
        for (const s of stats.values()) {
          const labels = { route: s.route, side: s.side, backend: s.backend };
          let cumulative = 0;
          for (let i = 0; i <= LATENCY_BUCKETS.length; i++) {
            cumulative += s.bucketCount(i);
            const le = i < LATENCY_BUCKETS.length ? LATENCY_BUCKETS[i] : '+Inf';
            values.push({
              value: cumulative,
              labels: { ...labels, le },
              metricName: `${name}_bucket`,
            });
          }
          values.push({ value: s.sum, labels, metricName: `${name}_sum` });
          values.push({ value: s.count, labels, metricName: `${name}_count` });
        }
        return {
          name,
          help: 'Time from request to the end of the response, by route, side and backend',
          type: 'histogram',
          values,
          aggregator: 'sum',
        };
      },
    } as unknown as Parameters<Registry['registerMetric']>[0]);
  }

  /** The stats of one route × side × backend; the same object for the same names (kept across reloads). */
  side(route: string, side: string, backend: string): SideStats {
    const key = `${route}\u0000${side}\u0000${backend}`;
    let s = this.#stats.get(key);
    if (!s) {
      s = new SideStats(route, side, backend, this.#history);
      this.#stats.set(key, s);
    }
    return s;
  }
}
