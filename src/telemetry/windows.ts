// Sliding windows of request outcomes per route × side, read by the rollout
// controller's gates every second. A ring of one-second slots, each with its
// own status-class counts and its own HDR histogram (HdrHistogram, Gil Tene),
// so a snapshot over any span up to `retainSeconds` is a merge of whole slots
// and percentiles stay accurate at the tail, where the gates look.
//
// record() is on the request path: after every slot has been created once it
// allocates nothing (a stale slot is reset in place), and it never throws on
// odd input (out-of-range statuses and latencies are folded in, see below).
import type { JsHistogram } from 'hdr-histogram-js';
import { countedClass } from './outcome.ts';
import {
  CLASSES,
  LAST_BIN,
  latencyBinIndex,
  newHistogram,
  recordLatency,
} from './window-histogram.ts';
import { SlotMerge, type WindowSlot, type WindowSnapshot } from './window-merge.ts';

export { latencyBinIndex, WINDOW_LATENCY_MAX_MS } from './window-histogram.ts';
export type { WindowSlot, WindowSnapshot } from './window-merge.ts';

/** Where slotAt gathers a slot's bins before copying them out (one thread: shared by every window). */
const SCRATCH_BINS = new Uint16Array(LAST_BIN + 1);
const SCRATCH_COUNTS = new Uint32Array(LAST_BIN + 1);

/** Reads Date.now at each call (as the breaker's default does), so fake timers that replace it are seen. */
const defaultClock = (): number => Date.now();

export interface SlidingWindowOptions {
  /** Whole seconds kept before the current one; snapshots cannot reach further back. */
  retainSeconds: number;
  /** Epoch ms; Date.now by default. */
  clock?: () => number;
}

/**
 * A copy of one recorded span: its CLASSES counts at `counts[offset]`, the
 * histogram's exact max and non-zero bins (it must hold requests). The bins
 * scan is most of the cost: only between the bins of the exact min and max
 * HDR keeps, in one pass into scratch arrays, then a copy.
 */
export function slotOf(counts: Float64Array, offset: number, histogram: JsHistogram): WindowSlot {
  const bins = SCRATCH_BINS;
  const binCounts = SCRATCH_COUNTS;
  const last = latencyBinIndex(histogram.maxValue);
  let n = 0;
  for (let i = latencyBinIndex(histogram.minNonZeroValue); i <= last; i++) {
    const count = histogram.getCountAtIndex(i);
    if (count === 0) continue;
    bins[n] = i;
    binCounts[n++] = count;
  }
  const c = counts;
  const at = offset;
  return {
    byClass: [c[at], c[at + 1], c[at + 2], c[at + 3], c[at + 4]],
    maxUnits: histogram.maxValue,
    bins: bins.slice(0, n),
    counts: binCounts.slice(0, n),
  };
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
  #merged: SlotMerge | null;

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

  /** Epoch ms by the window's clock (the one record() and snapshot() read). */
  now(): number {
    return this.#clock();
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
    recordLatency(histogram, ms);
  }

  /** Merges every slot whose second is >= floor(sinceMs / 1000), up to now and no older than retainSeconds. */
  snapshot(sinceMs: number): WindowSnapshot {
    const now = this.#clock();
    const nowSecond = Math.floor(now / 1000);
    const from = Math.max(Math.floor(sinceMs / 1000), nowSecond - this.#retainSeconds);
    this.#merged ??= new SlotMerge();
    const merged = this.#merged;
    merged.reset();
    for (let slot = 0; slot < this.#size; slot++) {
      const second = this.#seconds[slot];
      // Seconds after now only appear if the clock stepped back; they are not "up to now".
      if (second < from || second > nowSecond) continue;
      merged.addRecorded(second, this.#counts, slot * CLASSES, this.#histograms[slot]!);
    }
    return merged.snapshot(now);
  }

  /**
   * Requests of the last snapshot()'s span slower than `ms` (those in the bin
   * holding `ms` are not counted, so the answer never overstates).
   */
  countAbove(ms: number): number {
    return this.#merged ? this.#merged.countAbove(ms) : 0;
  }

  /**
   * Adds the epoch `second` to `merge` if this window holds it; false when it
   * does not (nothing recorded then, or gone from the ring). How a fleet view
   * reads this instance's seconds live, without copying them.
   */
  mergeSecond(merge: SlotMerge, second: number): boolean {
    const slot = second % this.#size;
    if (this.#seconds[slot] !== second) return false;
    merge.addRecorded(second, this.#counts, slot * CLASSES, this.#histograms[slot]!);
    return true;
  }

  /**
   * A copy of the epoch `second` (its class counts, exact max and non-zero
   * bins), or undefined when the window does not hold it. Read-only: it
   * allocates the copy and nothing else, and record() is not slowed by it.
   * Read it once the second is over (`Math.floor(window.now() / 1000) - 1`),
   * or later requests of the second will be missing from the copy.
   */
  slotAt(second: number): WindowSlot | undefined {
    const slot = second % this.#size;
    if (this.#seconds[slot] !== second) return undefined;
    return slotOf(this.#counts, slot * CLASSES, this.#histograms[slot]!);
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
