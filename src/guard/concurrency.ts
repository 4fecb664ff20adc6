// A cap on a route's requests in flight. Static: the cap is `max`. Adaptive:
// the cap follows the backend's latency, so a backend that slows down gets
// fewer requests at once and the excess is shed (the gateway answers 503 with
// Retry-After) instead of queueing until everything times out.
//
// The adaptive algorithm is a gradient limiter after Envoy's adaptive
// concurrency filter and Netflix's concurrency-limits (Gradient2):
//
//   recent    the median latency of the current interval: 100 samples, or
//             100 ms with at least 10 samples (Envoy's concurrency update
//             interval is 100 ms and it takes the p50 of the samples in it).
//             A median, so one slow outlier (a 3 s timeout) among 99 fast
//             answers does not shed anything.
//   baseline  the lowest interval median of successful calls over the last
//             30–60 s: two 30 s windows, the finished one and the current
//             one. It falls at once when the backend is faster and rises
//             only when a window ends, so a slowdown lasting tens of seconds
//             (a GC storm, a database failover) is judged against the healthy
//             latency before it, while a lasting change (a slower but healthy
//             release) becomes the new normal within a minute instead of
//             shedding forever (Envoy re-measures its minimum RTT every 60 s).
//             Failed calls are left out of the baseline: a backend failing
//             fast would otherwise set a baseline no healthy answer can meet.
//   gradient  clamp(baseline × tolerance / recent, 0.5, 1): 1 while the median
//             stays within `tolerance` × the baseline; the cap at most halves
//             per interval so one bad interval cannot collapse it.
//   limit     limit × gradient + √limit, clamped to [minLimit, max]. The √limit
//             headroom (Envoy's default, Netflix's queue size) grows a healthy
//             limit back: from 10 to 500 in about 40 intervals (≈ 4 s at
//             100 ms). Under a persistent gradient g the limit settles near
//             (1 / (1 − g))², so at g = 0.5 it falls to minLimit.
//
// The limit starts at `max`: a gateway that just started (or reloaded) knows
// nothing of the backend and should not shed before it does. Choose
// `tolerance` above the backend's normal spread of interval medians (the
// default 2 leaves room for a median doubling under ordinary load).
import type { ConcurrencyConfig } from '../config/index.ts';

/** Samples in one interval, at most; the buffers are sized once. */
const INTERVAL_SAMPLES = 100;
/** An interval also ends after this long, if it has enough samples to judge. */
const INTERVAL_MS = 100;
const MIN_INTERVAL_SAMPLES = 10;
/** Length of one baseline window; the baseline is the lower of two. */
const BASELINE_WINDOW_MS = 30_000;
const MIN_GRADIENT = 0.5;
const MAX_GRADIENT = 1;

export interface ConcurrencySnapshot {
  readonly adaptive: boolean;
  /** Requests admitted at once right now. */
  readonly limit: number;
  readonly inFlight: number;
  /** Requests refused by `tryAcquire` since start. */
  readonly rejected: number;
  /** Lowest interval median of successful calls, ms; undefined before the first interval. */
  readonly baselineMs: number | undefined;
  /** Median latency of the last finished interval, ms; undefined before the first. */
  readonly recentMs: number | undefined;
}

export interface ConcurrencyOptions {
  /** Milliseconds, monotonic; `performance.now` unless a test injects a clock. */
  readonly now?: () => number;
}

export class ConcurrencyLimiter {
  readonly #adaptive: boolean;
  readonly #max: number;
  readonly #minLimit: number;
  readonly #tolerance: number;
  readonly #now: () => number;
  /** The limit before rounding down; the gradient works on it. */
  #exactLimit: number;
  #limit: number;
  #inFlight = 0;
  #rejected = 0;
  // The current interval: every latency, and the successful ones apart.
  readonly #all: Float64Array;
  readonly #ok: Float64Array;
  #allCount = 0;
  #okCount = 0;
  #intervalStart: number;
  // Baseline windows: the lowest interval median in each.
  #windowStart: number;
  #windowBest = Number.POSITIVE_INFINITY;
  #previousBest = Number.POSITIVE_INFINITY;
  #recent = Number.NaN;

  constructor(config: ConcurrencyConfig, options?: ConcurrencyOptions) {
    this.#adaptive = config.adaptive;
    this.#max = config.max;
    this.#minLimit = Math.min(config.minLimit, config.max);
    this.#tolerance = config.tolerance;
    this.#now = options?.now ?? performance.now.bind(performance);
    this.#exactLimit = config.max;
    this.#limit = config.max;
    this.#all = new Float64Array(config.adaptive ? INTERVAL_SAMPLES : 0);
    this.#ok = new Float64Array(config.adaptive ? INTERVAL_SAMPLES : 0);
    const now = config.adaptive ? this.#now() : 0;
    this.#intervalStart = now;
    this.#windowStart = now;
  }

  /** Requests admitted at once right now. */
  get limit(): number {
    return this.#limit;
  }

  get inFlight(): number {
    return this.#inFlight;
  }

  /** Takes a slot, or returns false when `limit` requests are already in flight. */
  tryAcquire(): boolean {
    if (this.#inFlight >= this.#limit) {
      this.#rejected++;
      return false;
    }
    this.#inFlight++;
    return true;
  }

  /** Gives back the slot of a finished call; `ok` false for failures and timeouts. */
  release(latencyMs: number, ok: boolean): void {
    if (this.#inFlight > 0) this.#inFlight--;
    if (!this.#adaptive) return;
    this.#all[this.#allCount++] = latencyMs;
    if (ok) this.#ok[this.#okCount++] = latencyMs;
    const count = this.#allCount;
    if (count < MIN_INTERVAL_SAMPLES) return;
    if (count < INTERVAL_SAMPLES) {
      const now = this.#now();
      if (now - this.#intervalStart < INTERVAL_MS) return;
      this.#endInterval(now);
    } else {
      this.#endInterval(this.#now());
    }
  }

  snapshot(): ConcurrencySnapshot {
    const baseline = this.#baseline();
    return {
      adaptive: this.#adaptive,
      limit: this.#limit,
      inFlight: this.#inFlight,
      rejected: this.#rejected,
      baselineMs: Number.isFinite(baseline) ? baseline : undefined,
      recentMs: Number.isNaN(this.#recent) ? undefined : this.#recent,
    };
  }

  #baseline(): number {
    return Math.min(this.#windowBest, this.#previousBest);
  }

  #endInterval(now: number): void {
    const recent = medianOf(this.#all, this.#allCount);
    if (this.#okCount >= MIN_INTERVAL_SAMPLES) {
      const okMedian = medianOf(this.#ok, this.#okCount);
      if (okMedian < this.#windowBest) this.#windowBest = okMedian;
    }
    this.#allCount = 0;
    this.#okCount = 0;
    this.#intervalStart = now;
    this.#recent = recent;
    const baseline = this.#baseline();
    if (now - this.#windowStart >= BASELINE_WINDOW_MS) {
      this.#previousBest = this.#windowBest;
      this.#windowBest = Number.POSITIVE_INFINITY;
      this.#windowStart = now;
    }
    if (!Number.isFinite(baseline)) return;
    this.#updateLimit(baseline, recent);
  }

  #updateLimit(baseline: number, recent: number): void {
    let gradient = recent > 0 ? (baseline * this.#tolerance) / recent : MAX_GRADIENT;
    if (gradient < MIN_GRADIENT) gradient = MIN_GRADIENT;
    else if (gradient > MAX_GRADIENT) gradient = MAX_GRADIENT;
    const current = this.#exactLimit;
    let next = current * gradient + Math.sqrt(current);
    if (next < this.#minLimit) next = this.#minLimit;
    else if (next > this.#max) next = this.#max;
    this.#exactLimit = next;
    this.#limit = Math.floor(next);
  }
}

/**
 * The upper median of the first `n` values, found in place (Hoare's
 * selection): the buffer's order is destroyed, which is fine as it is
 * refilled from the start. No allocation; O(n) on average.
 */
function medianOf(values: Float64Array, n: number): number {
  const k = n >> 1;
  let lo = 0;
  let hi = n - 1;
  while (lo < hi) {
    const pivot = values[(lo + hi) >> 1];
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (values[i] < pivot) i++;
      while (values[j] > pivot) j--;
      if (i <= j) {
        const t = values[i];
        values[i] = values[j];
        values[j] = t;
        i++;
        j--;
      }
    }
    if (k <= j) hi = j;
    else if (k >= i) lo = i;
    else break;
  }
  return values[k];
}
