// A latency histogram that holds only the bins in use: the windows' HDR bins
// (window-histogram.ts: the same index, so a slot made here merges bin for
// bin with the windows' and another instance's), as two sorted typed arrays.
// The minute history keeps one per route × side for every route; a dense HDR
// histogram is ≈ 9.5 KiB however few requests it holds, which for 10,000
// routes would be 95 MiB (and breaks issue 10's 10 KiB a route). A minute of
// a busy side uses ≈ 100–200 bins (≈ 1 KiB here); a quiet one a few bytes.
//
// add() is on the request path: a binary search, and for a bin not yet used
// a shift of the bins above it; it allocates only when the arrays are full
// (their size doubles, up to every bin), so rarely after a side's first minutes.
import { LAST_BIN, latencyBinIndex, MAX_UNITS, UNITS_PER_MS } from './window-histogram.ts';

const FIRST_CAPACITY = 8;

export class SparseBins {
  /** Bin indexes in use, ascending, in [0, size). */
  #bins = new Uint16Array(FIRST_CAPACITY);
  /** Requests per bin of `#bins`. */
  #counts = new Uint32Array(FIRST_CAPACITY);
  #size = 0;
  /** The exact slowest latency added, in 10 µs units (0 when empty). */
  maxUnits = 0;

  /** Adds one latency of `ms`, clamped to 0.01..60,000 as the windows clamp it. */
  add(ms: number): void {
    const units = Math.round(ms * UNITS_PER_MS);
    // Written so that NaN and negatives fall to 1, +Infinity to the top.
    const value = units > 1 ? (units < MAX_UNITS ? units : MAX_UNITS) : 1;
    if (value > this.maxUnits) this.maxUnits = value;
    const bin = latencyBinIndex(value);
    const bins = this.#bins;
    let lo = 0;
    let hi = this.#size;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (bins[mid] < bin) lo = mid + 1;
      else hi = mid;
    }
    if (lo < this.#size && bins[lo] === bin) {
      this.#counts[lo]++;
      return;
    }
    this.#insert(lo, bin);
  }

  #insert(at: number, bin: number): void {
    if (this.#size === this.#bins.length) this.#grow();
    const bins = this.#bins;
    const counts = this.#counts;
    bins.copyWithin(at + 1, at, this.#size);
    counts.copyWithin(at + 1, at, this.#size);
    bins[at] = bin;
    counts[at] = 1;
    this.#size++;
  }

  #grow(): void {
    const capacity = Math.min(this.#bins.length * 2, LAST_BIN + 1);
    const bins = new Uint16Array(capacity);
    const counts = new Uint32Array(capacity);
    bins.set(this.#bins);
    counts.set(this.#counts);
    this.#bins = bins;
    this.#counts = counts;
  }

  /** Empties it, keeping its room. */
  reset(): void {
    this.#size = 0;
    this.maxUnits = 0;
  }

  get size(): number {
    return this.#size;
  }

  /** Copies of the bins in use and their counts (for a WindowSlot). */
  copy(): { bins: Uint16Array; counts: Uint32Array } {
    return { bins: this.#bins.slice(0, this.#size), counts: this.#counts.slice(0, this.#size) };
  }

  get byteLength(): number {
    return this.#bins.byteLength + this.#counts.byteLength;
  }
}
