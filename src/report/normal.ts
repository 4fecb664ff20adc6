// The standard normal distribution, for the large-sample approximations of
// the Mann–Whitney test and the Wald interval of the decay fit.

/**
 * erf by W. J. Cody's rational approximation is overkill here; Abramowitz &
 * Stegun 7.1.26 has |error| < 1.5e-7, far below the resolution a verdict at
 * α = 0.05 needs.
 */
function erf(x: number): number {
  const sign = x < 0 ? -1 : 1;
  const ax = Math.abs(x);
  const t = 1 / (1 + 0.3275911 * ax);
  const poly =
    ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t;
  return sign * (1 - poly * Math.exp(-ax * ax));
}

/** P(Z ≤ z) for a standard normal Z. */
export function normalCdf(z: number): number {
  return 0.5 * (1 + erf(z / Math.SQRT2));
}

/** Two-sided p-value of a standard normal statistic: P(|Z| ≥ |z|). */
export function twoSidedP(z: number): number {
  return Math.min(1, 2 * (1 - normalCdf(Math.abs(z))));
}

/** z such that P(Z ≤ z) = 0.975: the 95% two-sided quantile. */
export const Z_975 = 1.959963984540054;
