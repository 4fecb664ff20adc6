// The published formulas and thresholds (shared/DESIGN.md, "Defaults taken
// from practice"; docs/plan.md, "Stages and warnings" and "Cost model"), as
// plain functions of the figures PlanBuilder counted.
import type { CostInputs } from '../modules/schema.ts';
import type { ModuleCost, PlanModule, Stage } from '../plan-result.ts';

/** Score weights and saturation points of the published coupling score. */
export const SCORE = {
  callWeight: 0.4,
  sharedWeight: 0.35,
  /** Shared columns past which the shared-data term is full. */
  sharedSaturation: 20,
  hopWeight: 0.25,
  /** Transaction hops past which the hop term is full. */
  hopSaturation: 5,
} as const;

/** Stage bounds: L1 ≤ 0.2, L2 ≤ 0.5, L3 above (held back). */
export const STAGE_BOUNDS = { l1: 0.2, l2: 0.5 } as const;

/** The published hard signals. */
export const HARD_SIGNALS = {
  /** Cross-module calls a day at or past which coupling is high. */
  callsPerDay: 50_000,
  /** Share of transactions in two phases past which coupling is strong. */
  twoPhaseShare: 0.15,
} as const;

/** The published split of migration effort. */
export const COST_WEIGHTS = { people: 0.45, compatibility: 0.3, observability: 0.25 } as const;

export const MICROS_PER_DAY = 86_400_000_000;
/** Per-day figures divide by at least one minute of traces, so a single span does not explode them. */
export const MIN_DAYS = 1 / 1440;

export function couplingScore(callRatio: number, sharedColumns: number, txHops: number): number {
  return (
    SCORE.callWeight * callRatio +
    SCORE.sharedWeight * Math.min(sharedColumns / SCORE.sharedSaturation, 1) +
    SCORE.hopWeight * Math.min(txHops / SCORE.hopSaturation, 1)
  );
}

export function stageOf(score: number): Stage {
  if (score <= STAGE_BOUNDS.l1) return 'L1';
  if (score <= STAGE_BOUNDS.l2) return 'L2';
  return 'L3';
}

/** Stage, then score, then traffic (low first: the least-used module is the safest to move), then name. */
export function byMigrationOrder(a: PlanModule, b: PlanModule): number {
  return (
    (a.stage < b.stage ? -1 : a.stage > b.stage ? 1 : 0) ||
    a.score - b.score ||
    a.traffic - b.traffic ||
    (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)
  );
}

/** Person-days = baseDays × skillFactor, split by COST_WEIGHTS; calendar days = person-days ÷ teamSize. */
export function moduleCost(module: string, inputs: CostInputs): ModuleCost {
  const baseDays = inputs.perModule[module]?.baseDays ?? inputs.baseDays;
  const days = baseDays * inputs.skillFactor;
  return {
    days,
    calendarDays: days / inputs.teamSize,
    people: days * COST_WEIGHTS.people,
    compatibility: days * COST_WEIGHTS.compatibility,
    observability: days * COST_WEIGHTS.observability,
    inputs: { baseDays, skillFactor: inputs.skillFactor, teamSize: inputs.teamSize },
  };
}
