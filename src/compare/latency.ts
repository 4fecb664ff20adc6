// Paired latency of shadow pairs: the last N values of each series in a ring,
// percentiles computed when someone reads them.

/** Nearest-rank percentiles; null while no value was recorded. */
export interface LatencyPercentiles {
  readonly p50: number | null;
  readonly p95: number | null;
  readonly p99: number | null;
}

/** A window of the last `size` numbers, with percentiles computed on demand. */
export class NumberWindow {
  readonly #values: Float64Array;
  #next = 0;
  #count = 0;

  constructor(size: number) {
    this.#values = new Float64Array(size);
  }

  get count(): number {
    return this.#count;
  }

  add(value: number): void {
    this.#values[this.#next] = value;
    this.#next = (this.#next + 1) % this.#values.length;
    if (this.#count < this.#values.length) this.#count++;
  }

  percentiles(): LatencyPercentiles {
    const n = this.#count;
    if (n === 0) return { p50: null, p95: null, p99: null };
    const sorted = this.#values.slice(0, n).sort();
    const rank = (p: number) => sorted[Math.max(0, Math.ceil((p / 100) * n) - 1)];
    return { p50: rank(50), p95: rank(95), p99: rank(99) };
  }
}
