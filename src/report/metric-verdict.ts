// A verdict per metric in the manner of Kayenta's NetflixACAJudge: a rank
// test says whether the candidate differs, an effect size says whether the
// difference matters, and too little data says so instead of "pass".
import { mannWhitney } from './mann-whitney.ts';
import { sampleSize, type WeightedValue, weightedMedian } from './weighted-sample.ts';

export type Verdict = 'pass' | 'higher' | 'lower' | 'nodata';

export interface VerdictOptions {
  /** Significance level of the two-sided test. */
  readonly alpha: number;
  /** Relative change of the median below which a significant difference still passes. */
  readonly tolerance: number;
  /** Fewer observations than this in either sample gives `nodata`. */
  readonly minSamples: number;
}

/**
 * α = 0.05: Kayenta's MannWhitneyClassifier runs at confidence 0.95.
 * tolerance = 0.1: with the millions of requests a cut-over sees, a 1% shift
 * is "significant"; an operator acts on a change of the median of 10% or more.
 * minSamples = 20: the normal approximation of U is within a few thousandths
 * of the exact p at n₁, n₂ ≥ 20 (Siegel & Castellan 1988, §6.4); Kayenta
 * only says NODATA for an empty sample, we refuse a verdict earlier.
 */
export const DEFAULT_VERDICT_OPTIONS: VerdictOptions = Object.freeze({
  alpha: 0.05,
  tolerance: 0.1,
  minSamples: 20,
});

export interface MetricVerdict {
  readonly verdict: Verdict;
  /** Candidate median ÷ baseline median; undefined with no data, a zero baseline median or both medians infinite. */
  readonly medianRatio: number | undefined;
  readonly p: number | undefined;
  readonly z: number | undefined;
  readonly baselineCount: number;
  readonly candidateCount: number;
  /** Why: one sentence for the report. */
  readonly reason: string;
}

/** Judge the candidate (new) sample of one metric against the baseline (old). */
export function judgeMetric(
  baseline: readonly WeightedValue[],
  candidate: readonly WeightedValue[],
  options: VerdictOptions = DEFAULT_VERDICT_OPTIONS,
): MetricVerdict {
  const baselineCount = sampleSize(baseline);
  const candidateCount = sampleSize(candidate);
  if (baselineCount < options.minSamples || candidateCount < options.minSamples) {
    return {
      verdict: 'nodata',
      medianRatio: undefined,
      p: undefined,
      z: undefined,
      baselineCount,
      candidateCount,
      reason: `fewer than ${options.minSamples} observations (baseline ${baselineCount}, candidate ${candidateCount})`,
    };
  }
  const test = mannWhitney(baseline, candidate);
  const medianRatio = ratio(
    weightedMedian(candidate) as number,
    weightedMedian(baseline) as number,
  );
  const common = { medianRatio, p: test.p, z: test.z, baselineCount, candidateCount };
  if (test.p >= options.alpha) {
    return {
      verdict: 'pass',
      ...common,
      reason: `no significant difference (p = ${test.p.toPrecision(3)})`,
    };
  }
  const higher = test.z > 0;
  const big =
    medianRatio === undefined ||
    (higher ? medianRatio >= 1 + options.tolerance : medianRatio <= 1 / (1 + options.tolerance));
  if (!big) {
    return {
      verdict: 'pass',
      ...common,
      reason: `significant but within ${options.tolerance * 100}% of the baseline median`,
    };
  }
  return {
    verdict: higher ? 'higher' : 'lower',
    ...common,
    reason: `candidate ${higher ? 'higher' : 'lower'} (p = ${test.p.toPrecision(3)})`,
  };
}

/**
 * new ÷ old; undefined when no ratio exists (old is 0, or both medians sit
 * in the +Inf bucket): the test alone decides then. A finite baseline and a
 * candidate median in the +Inf bucket gives Infinity.
 */
function ratio(candidate: number, baseline: number): number | undefined {
  const r = candidate / baseline;
  return baseline === 0 || Number.isNaN(r) ? undefined : r;
}
