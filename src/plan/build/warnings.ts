// The published hard signals and what the input lacked, as warnings beside
// the scores: a pair (or a module) past 50,000 cross-module calls a day, 2PC
// in more than 15% of a pair's transactions, spans skipped while reading,
// span links to spans the input lacks, and modules.yaml names that no span
// showed.
import type { ModulesFile } from '../modules/schema.ts';
import type { PlanResult, PlanWarning } from '../plan-result.ts';
import type { ReadSummary } from '../traces/read-spans.ts';
import { HARD_SIGNALS } from './figures.ts';

const perDay = (n: number): string => Math.round(n).toLocaleString('en-US');

function couplingWarnings(plan: PlanResult): PlanWarning[] {
  const out: PlanWarning[] = [];
  const warned = new Set<string>();
  for (const p of plan.pairs) {
    if (p.callsPerDay >= HARD_SIGNALS.callsPerDay) {
      out.push({
        kind: 'high-coupling',
        message: `${p.a} and ${p.b} call each other ${perDay(p.callsPerDay)} times a day (≥ ${perDay(HARD_SIGNALS.callsPerDay)}: high coupling)`,
        modules: [p.a, p.b],
      });
      warned.add(p.a);
      warned.add(p.b);
    }
  }
  // A module may pass the line only over all its pairs together.
  const total = new Map<string, number>();
  for (const p of plan.pairs) {
    total.set(p.a, (total.get(p.a) ?? 0) + p.callsPerDay);
    total.set(p.b, (total.get(p.b) ?? 0) + p.callsPerDay);
  }
  for (const [module, calls] of [...total].sort((x, y) => (x[0] < y[0] ? -1 : 1))) {
    if (calls >= HARD_SIGNALS.callsPerDay && !warned.has(module)) {
      out.push({
        kind: 'high-coupling',
        message: `${module} makes and receives ${perDay(calls)} cross-module calls a day (≥ ${perDay(HARD_SIGNALS.callsPerDay)}: high coupling)`,
        modules: [module],
      });
    }
  }
  for (const p of plan.pairs) {
    if (p.twoPhaseShare !== undefined && p.twoPhaseShare > HARD_SIGNALS.twoPhaseShare) {
      out.push({
        kind: 'two-phase',
        message: `${(p.twoPhaseShare * 100).toFixed(1)}% of the transactions of ${p.a} and ${p.b} commit in two phases (> ${HARD_SIGNALS.twoPhaseShare * 100}%: strong coupling)`,
        modules: [p.a, p.b],
      });
    }
  }
  return out;
}

function skippedWarning(summary: ReadSummary): PlanWarning[] {
  const reasons = Object.entries(summary.skipped).filter(([, n]) => (n ?? 0) > 0);
  const total = reasons.reduce((sum, [, n]) => sum + (n ?? 0), 0);
  if (total === 0) return [];
  const detail = reasons.map(([reason, n]) => `${n} ${reason}`).join(', ');
  return [
    {
      kind: 'spans-skipped',
      message: `${total} span${total === 1 ? ' was' : 's were'} skipped (${detail}); the figures leave them out`,
      modules: [],
    },
  ];
}

function unresolvedLinksWarning(unresolved: number): PlanWarning[] {
  if (unresolved === 0) return [];
  const spans =
    unresolved === 1 ? 'server or consumer span links' : 'server or consumer spans link';
  return [
    {
      kind: 'links-unresolved',
      message: `${unresolved} ${spans} to a span the traces do not hold (another export, or sampled out); those calls are not counted`,
      modules: [],
    },
  ];
}

/** Names modules.yaml uses in shared / twoPhase / cost without a `modules` section to check them against. */
function unknownNameWarnings(
  file: ModulesFile | undefined,
  present: ReadonlySet<string>,
): PlanWarning[] {
  if (!file) return [];
  const named = new Set<string>([
    ...file.shared.flatMap((s) => s.modules),
    ...file.twoPhase.flatMap((t) => t.modules),
    ...Object.keys(file.cost?.perModule ?? {}),
    ...Object.keys(file.modules),
  ]);
  return [...named]
    .filter((n) => !present.has(n))
    .sort()
    .map((n) => ({
      kind: 'unknown-module',
      message: `${file.source} names module "${n}", which no span belongs to`,
      modules: [n],
    }));
}

export function planWarnings(
  plan: PlanResult,
  summary: ReadSummary,
  file: ModulesFile | undefined,
  present: ReadonlySet<string>,
  unresolvedLinks: number,
): PlanWarning[] {
  return [
    ...couplingWarnings(plan),
    ...skippedWarning(summary),
    ...unresolvedLinksWarning(unresolvedLinks),
    ...unknownNameWarnings(file, present),
  ];
}
