// The dashboard's live charts: for every route, one point a second for the
// last 15 minutes (legacy and candidate rate, error rate, p50/p95/p99, and the
// weight). Nothing is added to the request path: once a second a sampler
// reads the cumulative counters every SideStats keeps anyway (status classes
// and the Prometheus latency buckets) and stores the difference from the last
// read in a ring of small numbers per side. Percentiles come from the bucket
// counts, interpolated inside the bucket as Prometheus' histogram_quantile
// does; a side whose sliding window is on (a rollout reads it) gives the
// exact HDR figures of the second instead, the same the gates see.
import type { SeriesSide } from './fleet-payload.ts';
import type { MergedSecond } from './fleet-series.ts';
import { type SideStats, statsNow } from './request-stats.ts';
import { roundMs, SERIES_SECONDS, type SidePoint, SideRing } from './side-ring.ts';
import { SlotMerge } from './window-merge.ts';

export type { SidePoint };
export { SERIES_SECONDS };

/**
 * How far into each second the sample runs: the second before is over by
 * then (requests finishing at its very end have been counted), as the
 * fleet's figures are published 50 ms after each second (fleet-figures.ts).
 */
const SAMPLE_PHASE_MS = 50;

export interface SeriesPoint {
  /** Epoch second the point covers. */
  readonly t: number;
  readonly legacy: SidePoint | null;
  /** Null for a route without a candidate. */
  readonly candidate: SidePoint | null;
  readonly weight: number;
  /**
   * Instances whose figures the point holds: 1 alone (or when the fleet's
   * figures could not be read that second), else those that published it.
   */
  readonly instances: number;
}

/** What the sampler reads of a route each second. */
export interface SeriesRoute {
  readonly name: string;
  readonly legacy: SideStats;
  readonly candidate: SideStats | undefined;
  readonly weight: number;
}

/** This instance's last second, route by route (routes with requests only), as it publishes it. */
export type LocalSecond = ReadonlyMap<string, { legacy?: SeriesSide; candidate?: SeriesSide }>;

/**
 * The fleet behind the series (src/cli/fleet-series.ts). After each local
 * sample: `publish` gets this instance's second (every second: the gates
 * read it too), then `merge` answers the fleet's seconds to write over the
 * local points — the new one and any earlier one a late payload revised —
 * or none (alone, or the store away). A merge still running when the next
 * second comes is not queued behind: that second stays local.
 */
export interface SeriesFleet {
  publish(second: number, local: LocalSecond): void;
  merge(second: number): Promise<readonly MergedSecond[]>;
}

/** The recent figures of a side, for the all-routes table. */
export interface SideSummary {
  readonly rps: number;
  readonly errorRate: number | null;
  /** The highest per-second p99 of the span (an upper bound of the span's p99). */
  readonly p99: number | null;
}

class RouteRing {
  legacy: SideRing | undefined;
  candidate: SideRing | undefined;
  /** The route has a candidate (its side may have no ring yet: no requests). */
  hasCandidate = false;
  readonly weights = new Float32Array(SERIES_SECONDS);
  /** The epoch second each slot holds (0: never written; Uint32 holds epoch seconds until 2106). */
  readonly seconds = new Uint32Array(SERIES_SECONDS);
  /** The tick that last saw the route in the config; older rings are dropped. */
  seen = 0;
}

/** Reads a side's exact second from its sliding window into `merge`; undefined without one. */
function exactSecond(stats: SideStats, merge: SlotMerge, second: number): SlotMerge | undefined {
  const window = stats.activeWindow;
  if (!window) return undefined;
  merge.reset();
  window.mergeSecond(merge, second);
  return merge;
}

/** What a sample listener hears: the second just sampled, and earlier seconds the fleet's late figures rewrote. */
export type SampleListener = (second: number, revised: readonly number[]) => void;

export class SecondSeries {
  readonly #routes: () => Iterable<SeriesRoute>;
  readonly #rings = new Map<string, RouteRing>();
  readonly #listeners = new Set<SampleListener>();
  readonly #merge = new SlotMerge();
  /** Instances behind each second's points (see SeriesPoint.instances). */
  readonly #instances = new Uint16Array(SERIES_SECONDS);
  /** This instance's last second, for the fleet. */
  #local = new Map<string, { legacy?: SeriesSide; candidate?: SeriesSide }>();
  #fleet: SeriesFleet | undefined = undefined;
  /** A merge still running: the next second stays local rather than queue behind a slow store. */
  #merging = false;
  #ticks = 0;
  #last = -1;
  #timer: NodeJS.Timeout | undefined;

  /** `routes`: the routes now (read every second, so a reload's new routes appear). */
  constructor(routes: () => Iterable<SeriesRoute>) {
    this.#routes = routes;
  }

  /**
   * Samples every second, just after it ends by the stats clock, until
   * stop(). One timer for the process: the dashboard's streams hang off
   * onSample instead of keeping timers of their own.
   */
  /** From now on each second is published and the points are the fleet's (see SeriesFleet). */
  attach(fleet: SeriesFleet): void {
    this.#fleet = fleet;
  }

  start(clock: () => number = statsNow): void {
    if (this.#timer) return;
    // The bases now: requests before the first tick then count in its point, not in no point.
    this.sample(Math.floor(clock() / 1000) - 1);
    const schedule = (): void => {
      const now = clock();
      this.#timer = setTimeout(tick, 1000 - (now % 1000) + SAMPLE_PHASE_MS);
      this.#timer.unref();
    };
    const tick = (): void => {
      const second = Math.floor(clock() / 1000) - 1;
      // A tick late by a whole second (a stalled loop) samples once: the counters hold both seconds.
      try {
        if (second > this.#last) this.#tick(second);
      } finally {
        schedule();
      }
    };
    schedule();
  }

  stop(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /** One tick: the local sample, its publication, then the fleet's figures when a merge is free. */
  #tick(second: number): void {
    const fleet = this.#fleet;
    if (!fleet) {
      this.sample(second);
      return;
    }
    this.#sampleLocal(second);
    fleet.publish(second, this.#local);
    if (this.#merging) {
      this.#notify(second, []);
      return;
    }
    this.#merging = true;
    fleet
      .merge(second)
      .then(
        (merged) => {
          const revised: number[] = [];
          for (const m of merged) if (this.#write(m) && m.second !== second) revised.push(m.second);
          this.#notify(second, revised);
        },
        () => this.#notify(second, []),
      )
      .finally(() => {
        this.#merging = false;
      });
  }

  /** Calls `listener` after each sample with the second it covers; returns the unsubscribe. */
  onSample(listener: SampleListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** This instance's last sampled second as it publishes it (routes with requests only). */
  get localSecond(): LocalSecond {
    return this.#local;
  }

  /** The second last sampled (-1 before the first). */
  get lastSecond(): number {
    return this.#last;
  }

  /**
   * One sample of every route for epoch `second` (the one just over). The
   * first sample of a side only sets its base: it would hold every request
   * since the process started.
   */
  sample(second: number): void {
    this.#sampleLocal(second);
    this.#notify(second, []);
  }

  #notify(second: number, revised: readonly number[]): void {
    for (const listener of this.#listeners) listener(second, revised);
  }

  #sampleLocal(second: number): void {
    const tick = ++this.#ticks;
    this.#local = new Map();
    this.#instances[second % SERIES_SECONDS] = 1;
    const slot = second % SERIES_SECONDS;
    for (const r of this.#routes()) {
      let ring = this.#rings.get(r.name);
      // A route first seen now (start, a reload) counts from its counters now, not since the process began.
      const fresh = ring === undefined;
      if (!ring) {
        ring = new RouteRing();
        this.#rings.set(r.name, ring);
      }
      ring.seen = tick;
      ring.seconds[slot] = second;
      ring.weights[slot] = r.weight;
      const legacy = this.#side(ring.legacy, r.legacy, fresh, slot, second);
      ring.legacy = legacy.ring;
      ring.hasCandidate = r.candidate !== undefined;
      const candidate = r.candidate && this.#side(ring.candidate, r.candidate, fresh, slot, second);
      ring.candidate = candidate?.ring;
      if (legacy.published || candidate?.published) {
        this.#local.set(r.name, {
          ...(legacy.published && { legacy: legacy.published }),
          ...(candidate?.published && { candidate: candidate.published }),
        });
      }
    }
    for (const [name, ring] of this.#rings) if (ring.seen !== tick) this.#rings.delete(name);
    this.#last = second;
  }

  /**
   * Writes the fleet's second over the local points of every route sampled
   * in it; false when the second is no longer held (older than the ring).
   */
  #write(merged: MergedSecond): boolean {
    const { second, routes } = merged;
    if (second <= this.#last - SERIES_SECONDS || second > this.#last) return false;
    const slot = second % SERIES_SECONDS;
    this.#instances[slot] = Math.max(1, merged.instances);
    for (const [name, ring] of this.#rings) {
      if (ring.seconds[slot] !== second) continue;
      const r = routes.get(name);
      if (r?.legacy) ring.legacy ??= new SideRing(undefined);
      ring.legacy?.write(slot, r?.legacy);
      if (r?.candidate && ring.hasCandidate) ring.candidate ??= new SideRing(undefined);
      ring.candidate?.write(slot, r?.candidate);
    }
    return true;
  }

  /**
   * Samples one side into its ring. A side's ring is made by its first
   * requests (a route nobody calls costs no 12.6 KiB ring): from zero when the
   * route was sampled before with none, from the counters now for a route
   * seen for the first time.
   */
  #side(
    ring: SideRing | undefined,
    stats: SideStats,
    fresh: boolean,
    slot: number,
    second: number,
  ): { ring: SideRing | undefined; published?: SeriesSide } {
    if (!ring && (fresh || stats.count === 0))
      return { ring: fresh && stats.count > 0 ? new SideRing(stats) : undefined };
    const side = ring ?? new SideRing(undefined);
    const published = side.sample(stats, slot, exactSecond(stats, this.#merge, second));
    return { ring: side, ...(published && { published }) };
  }

  /** The points of the last `seconds` (at most SERIES_SECONDS), oldest first; undefined for an unknown route. */
  points(route: string, seconds: number = SERIES_SECONDS): SeriesPoint[] | undefined {
    const ring = this.#rings.get(route);
    if (!ring) return undefined;
    const out: SeriesPoint[] = [];
    const from = this.#last - Math.min(seconds, SERIES_SECONDS) + 1;
    for (let t = from; t <= this.#last; t++) {
      const point = this.#point(ring, t);
      if (point) out.push(point);
    }
    return out;
  }

  /** The route's point of epoch second `t`, if sampled. */
  point(route: string, t: number = this.#last): SeriesPoint | undefined {
    const ring = this.#rings.get(route);
    return ring ? this.#point(ring, t) : undefined;
  }

  #point(ring: RouteRing, t: number): SeriesPoint | undefined {
    const slot = ((t % SERIES_SECONDS) + SERIES_SECONDS) % SERIES_SECONDS;
    if (t <= 0 || ring.seconds[slot] !== t) return undefined;
    const empty = { rps: 0, errorRate: null, p50: null, p95: null, p99: null };
    return {
      t,
      legacy: ring.legacy ? ring.legacy.point(slot) : empty,
      candidate: ring.candidate ? ring.candidate.point(slot) : ring.hasCandidate ? empty : null,
      weight: ring.weights[slot],
      instances: this.#instances[slot] || 1,
    };
  }

  /** A side's figures over the last `seconds`: mean rate, error rate, the worst second's p99. */
  summary(route: string, side: 'legacy' | 'candidate', seconds: number): SideSummary | undefined {
    const ring = this.#rings.get(route);
    const sideRing = ring?.[side];
    if (!ring || !sideRing) return undefined;
    let requests = 0;
    let errors = 0;
    let p99: number | null = null;
    for (let t = this.#last - seconds + 1; t <= this.#last; t++) {
      const slot = ((t % SERIES_SECONDS) + SERIES_SECONDS) % SERIES_SECONDS;
      if (t <= 0 || ring.seconds[slot] !== t) continue;
      const f = sideRing.figures(slot);
      if (f.requests === 0) continue;
      requests += f.requests;
      errors += f.errors;
      if (p99 === null || f.p99 > p99) p99 = f.p99;
    }
    return {
      rps: Math.round((requests / seconds) * 100) / 100,
      errorRate: requests > 0 ? errors / requests : null,
      p99: p99 === null ? null : roundMs(p99),
    };
  }

  /** Bytes held by the rings (12.6 KiB per side with requests in the last 15 minutes, 7 KiB per route). */
  get footprintBytes(): number {
    let bytes = 0;
    for (const ring of this.#rings.values()) {
      bytes += ring.weights.byteLength + ring.seconds.byteLength;
      bytes += (ring.legacy?.bytes ?? 0) + (ring.candidate?.bytes ?? 0);
    }
    return bytes;
  }
}
