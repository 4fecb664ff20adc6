// A weight is a percentage with at most two decimals (DESIGN.md), i.e. a whole
// number of the split's 10,000 buckets. `Math.round(w * 100) === w * 100`
// refused 0.29 and 1.13 because 0.29 × 100 is 28.999999999999996 in binary
// floating point; the check is made in hundredths with a tolerance instead.

/**
 * Far below one hundredth and far above the rounding error of `w * 100` for
 * w ≤ 100 (about 1e-12), so 0.29 passes and 0.291 does not.
 */
const HUNDREDTHS_TOLERANCE = 1e-9;

/** True when `value` has at most two decimals (12.34 yes, 0.291 no). */
export function hasAtMostTwoDecimals(value: number): boolean {
  const hundredths = value * 100;
  return Math.abs(hundredths - Math.round(hundredths)) < HUNDREDTHS_TOLERANCE;
}

/** A weight the split can apply: a finite number from 0 to 100 with at most two decimals. */
export function isWeight(value: number): boolean {
  return Number.isFinite(value) && value >= 0 && value <= 100 && hasAtMostTwoDecimals(value);
}
