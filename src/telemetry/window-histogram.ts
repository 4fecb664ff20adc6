// The latency histogram every window slot uses, and the arithmetic of its
// bins: one place, so a slot recorded here, a slot decoded from another
// instance and the merge of both agree bin for bin.
import { Float64Histogram, Int32Histogram, type JsHistogram } from 'hdr-histogram-js';

/**
 * Latencies are kept in units of 10 µs: fine enough for sub-millisecond
 * upstreams, coarse enough that 60 s still fits a small histogram.
 */
export const UNITS_PER_MS = 100;
/** 60 s: nothing a gate cares about is slower; slower requests are counted as 60 s. */
export const WINDOW_LATENCY_MAX_MS = 60_000;
export const MAX_UNITS = WINDOW_LATENCY_MAX_MS * UNITS_PER_MS;
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
/** Requests by status class 1xx..5xx. */
export const CLASSES = 5;

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

/** The bins a recorded latency can fall in: values are clamped to 1..MAX_UNITS. */
export const FIRST_BIN = latencyBinIndex(1);
export const LAST_BIN = latencyBinIndex(MAX_UNITS);

/** 32-bit counts for a slot (one second cannot overflow them), 64-bit for the merge. */
export function newHistogram(merge: boolean): JsHistogram {
  const histogram = merge
    ? new Float64Histogram(1, MAX_UNITS, SIGNIFICANT_DIGITS)
    : new Int32Histogram(1, MAX_UNITS, SIGNIFICANT_DIGITS);
  // A resize would allocate; values are clamped instead.
  histogram.autoResize = false;
  return histogram;
}

/**
 * recordValue(ms in UNITS) with the index computed cheaply. `ms` is clamped
 * to 0.01..60,000: written so that NaN and negatives fall to the first bin,
 * +Infinity to the top.
 */
export function recordLatency(histogram: JsHistogram, ms: number): void {
  const units = Math.round(ms * UNITS_PER_MS);
  const value = units > 1 ? (units < MAX_UNITS ? units : MAX_UNITS) : 1;
  histogram.incrementCountAtIndex(latencyBinIndex(value));
  histogram.incrementTotalCount();
  histogram.updateMinAndMax(value);
}
