// The merge of one-second slots into the figures a gate reads. One merge for
// both kinds of slot — a second recorded in this process (SlidingWindow's
// ring) and a second published by another instance (WindowSlot, decoded from
// the fleet store) — so a snapshot over the fleet's seconds is exactly the
// snapshot one window would give had it recorded every instance's requests.
import type { JsHistogram } from 'hdr-histogram-js';
import {
  CLASSES,
  latencyBinIndex,
  MAX_UNITS,
  newHistogram,
  UNITS_PER_MS,
} from './window-histogram.ts';

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

/**
 * One second of one window, read out of the ring (SlidingWindow.slotAt) or
 * decoded from another instance (window-slot-codec.ts). Latencies are in the
 * histogram's 10 µs units; only the bins holding requests are listed.
 */
export interface WindowSlot {
  /** Requests by status class 1xx..5xx; their sum is the slot's requests (never 0). */
  readonly byClass: readonly [number, number, number, number, number];
  /** The exact slowest request of the second, in 10 µs units (1..6,000,000): HDR keeps it apart from the bins. */
  readonly maxUnits: number;
  /** Histogram bin indexes holding requests, ascending (at most LAST_BIN, which fits 16 bits). */
  readonly bins: Uint16Array;
  /** Requests in each bin of `bins` (an Int32Histogram's counts: 32 bits hold them). */
  readonly counts: Uint32Array;
}

/** Slots merged for one snapshot; reset and reused between snapshots, so it allocates once. */
export class SlotMerge {
  /** 64-bit counts: a merge of many seconds may pass 2^31 in a bin. */
  readonly #histogram: JsHistogram = newHistogram(true);
  readonly #byClass = new Float64Array(CLASSES);
  /** The oldest second merged since the last reset; +Infinity when none. */
  #oldest = Number.POSITIVE_INFINITY;

  reset(): void {
    this.#histogram.reset();
    this.#byClass.fill(0);
    this.#oldest = Number.POSITIVE_INFINITY;
  }

  /** Adds a second recorded in this process: its CLASSES counts at `counts[offset]` and its histogram. */
  addRecorded(second: number, counts: Float64Array, offset: number, histogram: JsHistogram): void {
    if (second < this.#oldest) this.#oldest = second;
    for (let c = 0; c < CLASSES; c++) this.#byClass[c] += counts[offset + c];
    this.#histogram.add(histogram);
  }

  /** Adds a second of another instance (or of this one, read back); the same result as adding the histogram it came from. */
  addSlot(second: number, slot: WindowSlot): void {
    if (second < this.#oldest) this.#oldest = second;
    let requests = 0;
    for (let c = 0; c < CLASSES; c++) {
      this.#byClass[c] += slot.byClass[c];
      requests += slot.byClass[c];
    }
    const histogram = this.#histogram;
    const { bins, counts } = slot;
    for (let i = 0; i < bins.length; i++) histogram.addToCountAtIndex(bins[i], counts[i]);
    // What JsHistogram.add does after the counts: the total, then the exact max.
    histogram.addToTotalCount(requests);
    histogram.updateMinAndMax(slot.maxUnits);
  }

  /** The figures of what was merged since the last reset, with `now` as the span's end. */
  snapshot(now: number): WindowSnapshot {
    const merged = this.#histogram;
    const c = this.#byClass;
    const byClass: [number, number, number, number, number] = [c[0], c[1], c[2], c[3], c[4]];
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
      since: empty ? now : this.#oldest * 1000,
      until: now,
    };
  }

  /**
   * Requests merged slower than `ms` (those in the bin holding `ms` are not
   * counted, so the answer never overstates).
   */
  countAbove(ms: number): number {
    const merged = this.#histogram;
    const units = Math.round(ms * UNITS_PER_MS);
    if (!(units < MAX_UNITS)) return 0;
    let count = 0;
    const end = merged.countsArrayLength;
    for (let i = latencyBinIndex(units > 1 ? units : 1) + 1; i < end; i++) {
      count += merged.getCountAtIndex(i);
    }
    return count;
  }

  get estimatedFootprintInBytes(): number {
    return this.#histogram.estimatedFootprintInBytes + this.#byClass.byteLength;
  }
}
