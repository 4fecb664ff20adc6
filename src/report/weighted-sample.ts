/**
 * One value seen `count` times: a raw sample (count 1) or a histogram bucket
 * (its representative value — the bucket's upper bound, as Prometheus
 * reports it, +Inf included — and the number of observations in it). Counts
 * are whole numbers: a rank test counts observations, it does not weigh them.
 */
export interface WeightedValue {
  readonly value: number;
  readonly count: number;
}

/** Raw observations as weighted values of count 1. */
export function fromValues(values: readonly number[]): WeightedValue[] {
  return values.map((value) => ({ value, count: 1 }));
}

/** The number of observations, ignoring entries that `usable` drops. */
export function sampleSize(sample: readonly WeightedValue[]): number {
  let n = 0;
  for (const w of usable(sample)) n += w.count;
  return n;
}

/**
 * Entries a statistic may use: a value that is a number (±Infinity kept — the
 * +Inf bucket holds the slowest requests, the ones a verdict must not drop),
 * a whole positive count.
 */
export function usable(sample: readonly WeightedValue[]): WeightedValue[] {
  return sample.filter((w) => !Number.isNaN(w.value) && Number.isInteger(w.count) && w.count > 0);
}

/** Ascending order that, unlike `a - b`, is defined for two infinities. */
export function ascending(a: number, b: number): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * The median of a weighted sample (the lower median for an even count, as
 * a histogram can say no more than which bucket holds it); undefined when empty.
 */
export function weightedMedian(sample: readonly WeightedValue[]): number | undefined {
  const sorted = usable(sample).sort((x, y) => ascending(x.value, y.value));
  const n = sorted.reduce((s, w) => s + w.count, 0);
  if (n === 0) return undefined;
  const target = Math.ceil(n / 2);
  let seen = 0;
  for (const w of sorted) {
    seen += w.count;
    if (seen >= target) return w.value;
  }
  return sorted[sorted.length - 1].value;
}
