// Sliding windows of request outcomes per route × side, read by the rollout
// controller's gates every second. A ring of one-second slots, each with its
// own status-class counts and its own HDR histogram (HdrHistogram, Gil Tene),
// so a snapshot over any span up to `retainSeconds` is a merge of whole slots
// and percentiles stay accurate at the tail, where the gates look.
//
// record() is on the request path: after every slot has been created once it
// allocates nothing (a stale slot is reset in place), and it never throws on
// odd input (out-of-range statuses and latencies are folded in, see below).
import { Float64Histogram, Int32Histogram, type JsHistogram } from 'hdr-histogram-js';
import { countedClass } from './outcome.ts';

/**
 * Latencies are kept in units of 10 µs: fine enough for sub-millisecond
 * upstreams, coarse enough that 60 s still fits a small histogram.
 */
const UNITS_PER_MS = 100;
/** 60 s: nothing a gate cares about is slower; slower requests are counted as 60 s. */
export const WINDOW_LATENCY_MAX_MS = 60_000;
const MAX_UNITS = WINDOW_LATENCY_MAX_MS * UNITS_PER_MS;
/**
 * Two significant digits: a reported percentile is the top of its HDR bin,
 * capped at the exact max, so at most 1/128 (0.78%) above the exact value and
 * never below it, the conservative side for a gate. Three digits would cut
 * that to 0.1% at 6× the memory (57 KiB instead of 9.5 KiB per slot) and a
 * 6–8× slower snapshot (measured: ≈ 765 µs instead of ≈ 100 µs for 31 slots).
 */
const SIGNIFICANT_DIGITS = 2;
/** log2 of HDR's sub-bucket half count for SIGNIFICANT_DIGITS, computed as JsHistogram.init does. */
const HALF_MAGNITUDE = Math.ceil(Math.log2(2 * 10 ** SIGNIFICANT_DIGITS)) - 1;
const HALF_COUNT = 2 ** HALF_MAGNITUDE;
const CLASSES = 5;
/** Reads Date.now at each call (as the breaker's default does), so fake timers that replace it are seen. */
const defaultClock = (): number => Date.now();

/**
 * The histogram's counts index of `units` (1..MAX_UNITS), as
 * JsHistogram.countsArrayIndex computes it for lowestDiscernibleValue 1, but
 * with clz32 and shifts instead of log2 and pow: that call is most of the
 * library's recordValue (≈ 60 ns here). Exported for the test that checks
 * the two agree over the whole range.
 */
export function latencyBinIndex(units: number): number {
  const top = 31 - Math.clz32(units) - HALF_MAGNITUDE;
  const bucket = top > 0 ? top : 0;
  return ((bucket + 1) << HALF_MAGNITUDE) + (units >>> bucket) - HALF_COUNT;
}

export interface WindowSnapshot {
  /** All requests recorded in the span. */
  readonly requests: number;
  /** Requests by status class 1xx..5xx; 5xx holds the failed attempts, whatever their status (outcome.ts). */
  readonly byClass: readonly [number, number, number, number, number];
  /** Failed attempts (the 5xx class). */
  readonly errors: number;
  /** errors / requests; 0 when requests is 0. */
  readonly errorRate: number;
  /** Milliseconds; 0 when requests is 0. */
  readonly p50: number;
  readonly p95: number;
  readonly p99: number;
  readonly max: number;
  /**
   * Epoch ms actually covered: `since` is the start of the oldest slot used,
   * `until` the clock at the snapshot. Both equal the clock when no slot had requests.
   */
  readonly since: number;
  readonly until: number;
}

export interface SlidingWindowOptions {
  /** Whole seconds kept before the current one; snapshots cannot reach further back. */
  retainSeconds: number;
  /** Epoch ms; Date.now by default. */
  clock?: () => number;
}

/** 32-bit counts for a slot (one second cannot overflow them), 64-bit for the merge. */
function newHistogram(merge: boolean): JsHistogram {
  const histogram = merge
    ? new Float64Histogram(1, MAX_UNITS, SIGNIFICANT_DIGITS)
    : new Int32Histogram(1, MAX_UNITS, SIGNIFICANT_DIGITS);
  // A resize would allocate; values are clamped instead.
  histogram.autoResize = false;
  return histogram;
}

export class SlidingWindow {
  readonly #retainSeconds: number;
  readonly #clock: () => number;
  /** retainSeconds + 1: the current second plus the retained ones. */
  readonly #size: number;
  /** The epoch second each slot holds; -Infinity for a slot never written. */
  readonly #seconds: Float64Array;
  /** CLASSES counters per slot, slot-major. */
  readonly #counts: Float64Array;
  /** Created on a slot's first use, then reset and reused as the ring wraps. */
  readonly #histograms: (JsHistogram | null)[];
  /** Where snapshot() merges the slots; reused between calls. */
  #merged: JsHistogram | null;

  constructor(options: SlidingWindowOptions) {
    const { retainSeconds, clock = defaultClock } = options;
    if (!Number.isInteger(retainSeconds) || retainSeconds < 1) {
      throw new RangeError(`retainSeconds must be a positive integer, got ${retainSeconds}`);
    }
    this.#retainSeconds = retainSeconds;
    this.#clock = clock;
    this.#size = retainSeconds + 1;
    this.#seconds = new Float64Array(this.#size).fill(Number.NEGATIVE_INFINITY);
    this.#counts = new Float64Array(this.#size * CLASSES);
    this.#histograms = new Array<JsHistogram | null>(this.#size).fill(null);
    this.#merged = null;
  }

  get retainSeconds(): number {
    return this.#retainSeconds;
  }

  /**
   * `failed`: the attempt's outcome is a failure (outcome.ts decides; this
   * window does not judge statuses), counted as 5xx. `ms` is clamped to
   * 0.01..60,000 (NaN counts as 0.01). A caller that has just read the clock
   * may pass it as `now` and save a second read (≈ 50 ns on a VM).
   */
  record(status: number, ms: number, failed: boolean, now: number = this.#clock()): void {
    const second = Math.floor(now / 1000);
    const slot = second % this.#size;
    const histogram =
      this.#seconds[slot] === second ? this.#histograms[slot]! : this.#claim(slot, second);
    this.#counts[slot * CLASSES + countedClass(status, failed)]++;
    const units = Math.round(ms * UNITS_PER_MS);
    // Written so that NaN and negatives fall to 1, +Infinity to the top.
    const value = units > 1 ? (units < MAX_UNITS ? units : MAX_UNITS) : 1;
    // recordValue(value), with the index computed cheaply.
    histogram.incrementCountAtIndex(latencyBinIndex(value));
    histogram.incrementTotalCount();
    histogram.updateMinAndMax(value);
  }

  /** Merges every slot whose second is >= floor(sinceMs / 1000), up to now and no older than retainSeconds. */
  snapshot(sinceMs: number): WindowSnapshot {
    const now = this.#clock();
    const nowSecond = Math.floor(now / 1000);
    const from = Math.max(Math.floor(sinceMs / 1000), nowSecond - this.#retainSeconds);
    this.#merged ??= newHistogram(true);
    const merged = this.#merged;
    merged.reset();
    const byClass: [number, number, number, number, number] = [0, 0, 0, 0, 0];
    let oldest = Number.POSITIVE_INFINITY;
    for (let slot = 0; slot < this.#size; slot++) {
      const second = this.#seconds[slot];
      // Seconds after now only appear if the clock stepped back; they are not "up to now".
      if (second < from || second > nowSecond) continue;
      if (second < oldest) oldest = second;
      for (let c = 0; c < CLASSES; c++) byClass[c] += this.#counts[slot * CLASSES + c];
      merged.add(this.#histograms[slot]!);
    }
    const requests = byClass[0] + byClass[1] + byClass[2] + byClass[3] + byClass[4];
    const errors = byClass[4];
    const empty = requests === 0;
    // HDR answers the top of a percentile's bin; the exact max bounds it (no p99 above max).
    const max = merged.maxValue;
    const percentile = (p: number): number =>
      empty ? 0 : Math.min(merged.getValueAtPercentile(p), max) / UNITS_PER_MS;
    return {
      requests,
      byClass,
      errors,
      errorRate: empty ? 0 : errors / requests,
      p50: percentile(50),
      p95: percentile(95),
      p99: percentile(99),
      max: max / UNITS_PER_MS,
      since: empty ? now : oldest * 1000,
      until: now,
    };
  }

  /**
   * Requests of the last snapshot()'s span slower than `ms` (those in the bin
   * holding `ms` are not counted, so the answer never overstates).
   */
  countAbove(ms: number): number {
    const merged = this.#merged;
    if (!merged) return 0;
    const units = Math.round(ms * UNITS_PER_MS);
    if (!(units < MAX_UNITS)) return 0;
    let count = 0;
    const end = merged.countsArrayLength;
    for (let i = latencyBinIndex(units > 1 ? units : 1) + 1; i < end; i++) {
      count += merged.getCountAtIndex(i);
    }
    return count;
  }

  /** Bytes held by the histograms created so far, plus the ring's own arrays; grows until every slot has been used once. */
  get estimatedFootprintInBytes(): number {
    let bytes = this.#seconds.byteLength + this.#counts.byteLength;
    for (const histogram of this.#histograms) bytes += histogram?.estimatedFootprintInBytes ?? 0;
    return bytes + (this.#merged?.estimatedFootprintInBytes ?? 0);
  }

  /** Makes `slot` hold `second`, forgetting what it held: the ring has wrapped onto it, or it is new. */
  #claim(slot: number, second: number): JsHistogram {
    this.#seconds[slot] = second;
    this.#counts.fill(0, slot * CLASSES, slot * CLASSES + CLASSES);
    let histogram = this.#histograms[slot];
    if (histogram === null) {
      histogram = newHistogram(false);
      this.#histograms[slot] = histogram;
    } else {
      histogram.reset();
    }
    return histogram;
  }
}
