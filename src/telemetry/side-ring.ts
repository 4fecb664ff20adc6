// One side's ring of the dashboard's series (second-series.ts): a point a
// second for the last 15 minutes — requests and errors as Float32, p50/p95/p99
// as 16-bit log-scale codes, 12.6 KiB a side — and the cumulative counters
// read last time, whose difference is the next point.
import { BUCKETS, bucketQuantile } from './bucket-quantile.ts';
import type { SeriesSide } from './fleet-payload.ts';
import type { MergedSide } from './fleet-series.ts';
import type { SideStats } from './request-stats.ts';
import type { SlotMerge } from './window-merge.ts';

/** 15 minutes at 1 s: what the route page's charts show (issue 14). */
export const SERIES_SECONDS = 900;

/** Counts per point of a side: requests, errors (Float32: exact to 16 million a second). */
const COUNT_FIELDS = 2;
/** Latencies per point of a side: p50, p95, p99, each a 16-bit log-scale code (msCode). */
const LATENCY_FIELDS = 3;

/**
 * Milliseconds as 16 bits on a log scale from 1 µs to 60 s (the windows'
 * clamp): each step is 0.027 % of the value, far finer than a bucket or an
 * HDR bin, and a side's ring is 12.6 KiB instead of 18 with Float32s.
 * 0 codes "no value".
 */
const MIN_MS = 0.001;
const LOG_STEP = Math.log(60_000 / MIN_MS) / 65_534;

function msCode(ms: number): number {
  if (!(ms > MIN_MS)) return 1;
  const code = 1 + Math.round(Math.log(ms / MIN_MS) / LOG_STEP);
  return code < 65_535 ? code : 65_535;
}

function msOf(code: number): number {
  return MIN_MS * Math.exp((code - 1) * LOG_STEP);
}

/** Status classes 1xx..5xx, as SideStats counts them. */
const CLASSES = 5;

export interface SidePoint {
  /** Requests a second. */
  readonly rps: number;
  /** Failed / all; null in a second without requests. */
  readonly errorRate: number | null;
  /** Milliseconds; null in a second without requests. */
  readonly p50: number | null;
  readonly p95: number | null;
  readonly p99: number | null;
}

/** Milliseconds to two decimals, as the API answers them. */
export const roundMs = (ms: number): number => Math.round(ms * 100) / 100;

/** One side's ring: its counts and latencies a second, and the counters read last time. */
export class SideRing {
  /** Freed after SERIES_SECONDS without requests (all zeros then), made again by the next. */
  counts: Float32Array | undefined = new Float32Array(SERIES_SECONDS * COUNT_FIELDS);
  latencies: Uint16Array | undefined = new Uint16Array(SERIES_SECONDS * LATENCY_FIELDS);
  /** Seconds in a row without requests. */
  #idle = 0;
  /** Cumulative class counts then bucket counts at the last read. */
  readonly #last = new Float64Array(CLASSES + BUCKETS);
  readonly #deltas = new Float64Array(BUCKETS);

  /** `base`: the counters to count from (their values now); none: from zero, the side's first requests. */
  constructor(base: SideStats | undefined) {
    if (base) this.#read(base, false);
  }

  get bytes(): number {
    return (this.counts?.byteLength ?? 0) + (this.latencies?.byteLength ?? 0);
  }

  /**
   * Reads `stats`; writes the point at `slot` (exact HDR figures when `exact`
   * holds the second). Answers the second as published (none without requests).
   */
  sample(stats: SideStats, slot: number, exact: SlotMerge | undefined): SeriesSide | undefined {
    const read = this.#read(stats, true);
    this.#idle = read.requests > 0 ? 0 : this.#idle + 1;
    if (this.#idle >= SERIES_SECONDS) {
      this.counts = undefined;
      this.latencies = undefined;
      return undefined;
    }
    this.counts ??= new Float32Array(SERIES_SECONDS * COUNT_FIELDS);
    this.latencies ??= new Uint16Array(SERIES_SECONDS * LATENCY_FIELDS);
    const c = this.counts;
    const l = this.latencies;
    const at = slot * COUNT_FIELDS;
    const lat = slot * LATENCY_FIELDS;
    const s = exact?.snapshot(0);
    const requests = s ? s.requests : read.requests;
    c[at] = requests;
    c[at + 1] = s ? s.errors : read.errors;
    if (requests === 0) {
      l.fill(0, lat, lat + LATENCY_FIELDS);
      return read.requests > 0 ? this.#wire(read) : undefined;
    }
    const d = this.#deltas;
    l[lat] = msCode(s ? s.p50 : bucketQuantile(d, requests, 0.5));
    l[lat + 1] = msCode(s ? s.p95 : bucketQuantile(d, requests, 0.95));
    l[lat + 2] = msCode(s ? s.p99 : bucketQuantile(d, requests, 0.99));
    return read.requests > 0 ? this.#wire(read) : undefined;
  }

  /** Writes the fleet's figures of the second at `slot` over this instance's. */
  write(slot: number, side: MergedSide | undefined): void {
    const requests = side?.requests ?? 0;
    if (requests > 0) this.#idle = 0;
    else if (!this.counts) return;
    this.counts ??= new Float32Array(SERIES_SECONDS * COUNT_FIELDS);
    this.latencies ??= new Uint16Array(SERIES_SECONDS * LATENCY_FIELDS);
    const at = slot * COUNT_FIELDS;
    const lat = slot * LATENCY_FIELDS;
    this.counts[at] = requests;
    this.counts[at + 1] = side?.errors ?? 0;
    if (!side || requests === 0) {
      this.latencies.fill(0, lat, lat + LATENCY_FIELDS);
      return;
    }
    this.latencies[lat] = msCode(side.p50);
    this.latencies[lat + 1] = msCode(side.p95);
    this.latencies[lat + 2] = msCode(side.p99);
  }

  /** The last read as published: [requests, errors, bucket, count, …] (fleet-payload.ts). */
  #wire(read: { requests: number; errors: number }): SeriesSide {
    const out = [read.requests, read.errors];
    const d = this.#deltas;
    for (let i = 0; i < BUCKETS; i++) if (d[i] > 0) out.push(i, d[i]);
    return out;
  }

  /** Requests, errors and p99 (ms) of `slot`; requests 0 when none or freed. */
  figures(slot: number): { requests: number; errors: number; p99: number } {
    const c = this.counts;
    const l = this.latencies;
    if (!c || !l || c[slot * COUNT_FIELDS] === 0) return { requests: 0, errors: 0, p99: 0 };
    const at = slot * COUNT_FIELDS;
    return { requests: c[at], errors: c[at + 1], p99: msOf(l[slot * LATENCY_FIELDS + 2]) };
  }

  /** Reads the counters; with `diff`, the requests and errors since the last read and the bucket deltas. */
  #read(stats: SideStats, diff: boolean): { requests: number; errors: number } {
    const last = this.#last;
    let requests = 0;
    let errors = 0;
    for (let c = 0; c < CLASSES; c++) {
      const now = stats.classCount(c);
      if (diff) requests += now - last[c];
      if (c === CLASSES - 1 && diff) errors = now - last[c];
      last[c] = now;
    }
    for (let i = 0; i < BUCKETS; i++) {
      const now = stats.bucketCount(i);
      if (diff) this.#deltas[i] = now - last[CLASSES + i];
      last[CLASSES + i] = now;
    }
    return { requests, errors };
  }

  point(slot: number): SidePoint {
    const c = this.counts;
    const l = this.latencies;
    const at = slot * COUNT_FIELDS;
    if (!c || !l || c[at] === 0)
      return { rps: 0, errorRate: null, p50: null, p95: null, p99: null };
    const lat = slot * LATENCY_FIELDS;
    return {
      rps: c[at],
      errorRate: c[at + 1] / c[at],
      p50: roundMs(msOf(l[lat])),
      p95: roundMs(msOf(l[lat + 1])),
      p99: roundMs(msOf(l[lat + 2])),
    };
  }
}
