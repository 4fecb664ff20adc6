// Incidents per week fitted to f(t) = a·e^(−k·t). Least squares on log
// counts cannot take a week with zero incidents (log 0) and is biased
// towards the small counts; a Poisson GLM with a log link fits the counts
// themselves: log E[y_t] = β₀ + β₁·t, a = e^β₀, k = −β₁ (McCullagh & Nelder,
// Generalized Linear Models, 2nd ed., §2.5 and §6.2), by iteratively
// reweighted least squares.
import { Z_975 } from './normal.ts';

export interface DecayFit {
  /** Fitted incidents in week 0. */
  readonly a: number;
  /** Decay rate per week; ≤ 0 means no decline. */
  readonly k: number;
  /** 95% Wald interval of k, widened for over-dispersion (quasi-Poisson). */
  readonly kLow: number;
  readonly kHigh: number;
  /** ln 2 / k in weeks, only when the whole interval is above 0. */
  readonly halfLifeWeeks: number | undefined;
  /** True only when the interval of k lies above 0: incidents do decline. */
  readonly declining: boolean;
  /** Pearson χ² / (n − 2), floored at 1: the factor the variance was scaled by. */
  readonly dispersion: number;
  readonly weeks: number;
}

const MAX_ITERATIONS = 50;
const TOLERANCE = 1e-10;
/** Two parameters need at least three weeks to leave a degree of freedom for the dispersion. */
export const MIN_WEEKS = 3;

/**
 * Fit weekly incident counts (week t = index, from 0). Undefined with fewer
 * than MIN_WEEKS weeks, a count that is not a whole non-negative number, or
 * no incident at all (nothing to decay).
 */
export function fitIncidentDecay(counts: readonly number[]): DecayFit | undefined {
  const n = counts.length;
  if (n < MIN_WEEKS || !counts.every((y) => Number.isInteger(y) && y >= 0)) return undefined;
  const total = counts.reduce((s, y) => s + y, 0);
  if (total === 0) return undefined;
  let b0 = Math.log(total / n);
  let b1 = 0;
  let info = { xx: 0, xt: 0, tt: 0 };
  for (let i = 0; i < MAX_ITERATIONS; i++) {
    // Weighted normal equations with weights μ and working response η + (y − μ)/μ.
    let sw = 0;
    let swt = 0;
    let swtt = 0;
    let swz = 0;
    let swtz = 0;
    for (let t = 0; t < n; t++) {
      const eta = b0 + b1 * t;
      const mu = Math.exp(eta);
      const z = eta + (counts[t] - mu) / mu;
      sw += mu;
      swt += mu * t;
      swtt += mu * t * t;
      swz += mu * z;
      swtz += mu * t * z;
    }
    const det = sw * swtt - swt * swt;
    if (!(det > 0)) return undefined;
    const n0 = (swtt * swz - swt * swtz) / det;
    const n1 = (sw * swtz - swt * swz) / det;
    info = { xx: sw, xt: swt, tt: swtt };
    const step = Math.abs(n0 - b0) + Math.abs(n1 - b1);
    b0 = n0;
    b1 = n1;
    if (step < TOLERANCE) break;
  }
  return summarise(counts, b0, b1, info);
}

function summarise(
  counts: readonly number[],
  b0: number,
  b1: number,
  info: { xx: number; xt: number; tt: number },
): DecayFit {
  const n = counts.length;
  let pearson = 0;
  for (let t = 0; t < n; t++) {
    const mu = Math.exp(b0 + b1 * t);
    pearson += (counts[t] - mu) ** 2 / mu;
  }
  // Counts of incidents cluster (one outage, several pages): a dispersion
  // above 1 widens the interval; below 1 is not trusted to narrow it.
  const dispersion = Math.max(1, pearson / (n - 2));
  // Var(β₁) = [(XᵀWX)⁻¹]₁₁ · φ; the information is taken at the final μ,
  // the one-step lag after convergence is below TOLERANCE.
  const det = info.xx * info.tt - info.xt * info.xt;
  const se = Math.sqrt((info.xx / det) * dispersion);
  const k = -b1;
  const kLow = k - Z_975 * se;
  const kHigh = k + Z_975 * se;
  const declining = kLow > 0;
  return {
    a: Math.exp(b0),
    k,
    kLow,
    kHigh,
    halfLifeWeeks: declining ? Math.LN2 / k : undefined,
    declining,
    dispersion,
    weeks: n,
  };
}
