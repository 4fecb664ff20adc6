// A latency histogram that holds only the bins in use: the windows' HDR bins
// (window-histogram.ts: the same index, so a slot made here merges bin for
// bin with the windows' and another instance's). The minute history keeps
// one per route × side for every route; a dense HDR histogram is ≈ 9.5 KiB
// however few requests it holds, which for 10,000 routes would be 95 MiB
// (issue 10 holds a route to 10 KiB).
//
// add() is on the request path. A quiet side keeps its bins as two sorted
// typed arrays (a binary search; a new bin shifts the ones above it; the
// arrays double when full). Past DENSE_AT bins in use it is a busy side: its
// counts move to one array of every bin (≈ 9 KiB, a window slot's size),
// where add() is an index; it stays so, reset in place each minute.
import { LAST_BIN, latencyBinIndex, MAX_UNITS, UNITS_PER_MS } from './window-histogram.ts';

const FIRST_CAPACITY = 8;
/** Bins in use past which one dense array is faster, and small beside the traffic. */
const DENSE_AT = 64;

export class SparseBins {
  /** Bin indexes in use, ascending, in [0, size) (sparse mode). */
  #bins = new Uint16Array(FIRST_CAPACITY);
  /** Requests per bin of `#bins`. */
  #counts = new Uint32Array(FIRST_CAPACITY);
  #size = 0;
  /** Every bin's count (dense mode, once a minute went past DENSE_AT bins). */
  #dense: Uint32Array | undefined = undefined;
  /** The lowest and highest bin counted in `#dense` since the last reset. */
  #low = LAST_BIN + 1;
  #high = -1;
  /** The exact slowest latency added, in 10 µs units (0 when empty). */
  maxUnits = 0;

  /** Adds one latency of `ms`, clamped to 0.01..60,000 as the windows clamp it. */
  add(ms: number): void {
    const units = Math.round(ms * UNITS_PER_MS);
    // Written so that NaN and negatives fall to 1, +Infinity to the top.
    const value = units > 1 ? (units < MAX_UNITS ? units : MAX_UNITS) : 1;
    if (value > this.maxUnits) this.maxUnits = value;
    this.#addBin(latencyBinIndex(value));
  }

  #addBin(bin: number): void {
    const dense = this.#dense;
    if (dense !== undefined) {
      if (dense[bin]++ === 0) {
        if (bin < this.#low) this.#low = bin;
        if (bin > this.#high) this.#high = bin;
      }
      return;
    }
    const bins = this.#bins;
    let lo = 0;
    let hi = this.#size;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (bins[mid] < bin) lo = mid + 1;
      else hi = mid;
    }
    if (lo < this.#size && bins[lo] === bin) this.#counts[lo]++;
    else if (this.#size < DENSE_AT) this.#insert(lo, bin);
    else {
      this.#toDense();
      this.#addBin(bin);
    }
  }

  #insert(at: number, bin: number): void {
    if (this.#size === this.#bins.length) {
      const capacity = this.#bins.length * 2;
      const bins = new Uint16Array(capacity);
      const counts = new Uint32Array(capacity);
      bins.set(this.#bins);
      counts.set(this.#counts);
      this.#bins = bins;
      this.#counts = counts;
    }
    const bins = this.#bins;
    const counts = this.#counts;
    bins.copyWithin(at + 1, at, this.#size);
    counts.copyWithin(at + 1, at, this.#size);
    bins[at] = bin;
    counts[at] = 1;
    this.#size++;
  }

  #toDense(): void {
    const dense = new Uint32Array(LAST_BIN + 1);
    for (let i = 0; i < this.#size; i++) dense[this.#bins[i]] = this.#counts[i];
    this.#low = this.#bins[0];
    this.#high = this.#bins[this.#size - 1];
    this.#dense = dense;
    // The sparse arrays are not used again.
    this.#bins = new Uint16Array(0);
    this.#counts = new Uint32Array(0);
    this.#size = 0;
  }

  /** Empties it, keeping its room (and its mode). */
  reset(): void {
    if (this.#dense !== undefined && this.#high >= this.#low)
      this.#dense.fill(0, this.#low, this.#high + 1);
    this.#low = LAST_BIN + 1;
    this.#high = -1;
    this.#size = 0;
    this.maxUnits = 0;
  }

  /** Copies of the bins in use, ascending, and their counts (for a WindowSlot). */
  copy(): { bins: Uint16Array; counts: Uint32Array } {
    const dense = this.#dense;
    if (dense === undefined)
      return { bins: this.#bins.slice(0, this.#size), counts: this.#counts.slice(0, this.#size) };
    let n = 0;
    for (let i = this.#low; i <= this.#high; i++) if (dense[i] !== 0) n++;
    const bins = new Uint16Array(n);
    const counts = new Uint32Array(n);
    n = 0;
    for (let i = this.#low; i <= this.#high; i++) {
      if (dense[i] === 0) continue;
      bins[n] = i;
      counts[n++] = dense[i];
    }
    return { bins, counts };
  }

  /** Bytes of its arrays. */
  get byteLength(): number {
    return this.#bins.byteLength + this.#counts.byteLength + (this.#dense?.byteLength ?? 0);
  }
}
