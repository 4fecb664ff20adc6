// How the plan's numbers read in every output (table, Markdown, HTML), so
// the three never disagree on rounding or wording.
import type { ModuleCost, PlanModule, PlanPair, PlanResult } from '../plan-result.ts';

/** The published formula and stage bounds (shared/DESIGN.md), one line, for every legend. */
export const FORMULA_LEGEND =
  'score = 0.40·call ratio + 0.35·min(shared columns/20, 1) + 0.25·min(tx hops/5, 1); ' +
  'a module takes its highest pair score; stages: L1 ≤ 0.2, L2 0.2–0.5, L3 > 0.5 (held back)';

export const STAGE_MEANING = {
  L1: 'move first: loosely coupled (score ≤ 0.2)',
  L2: 'move next: coupled (0.2 < score ≤ 0.5)',
  L3: 'held back: tightly coupled (score > 0.5)',
} as const;

export function score(n: number): string {
  return n.toFixed(2);
}

/** A ratio as a percentage with one decimal: 0.1234 → `12.3%`. */
export function percent(ratio: number): string {
  return `${(ratio * 100).toFixed(1)}%`;
}

/** A count with thousands separators, rounded: 52341.6 → `52,342`. */
export function count(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

/** Days with at most one decimal: 27 → `27`, 13.5 → `13.5`. */
export function days(n: number): string {
  return String(Math.round(n * 10) / 10);
}

/** The cost cell: calendar days for the team, or `-` without cost inputs. */
export function costCell(cost: ModuleCost | undefined): string {
  if (cost === undefined) return '-';
  return `${days(cost.calendarDays ?? cost.days / cost.inputs.teamSize)} d`;
}

/** The cost model spelled out with its inputs: it is a model, never a fact (issue 13). */
export function costModel(cost: ModuleCost): string {
  const { baseDays, skillFactor, teamSize } = cost.inputs;
  return (
    `model: inputs base ${days(baseDays)} d × skill ${skillFactor} = ${days(cost.days)} person-days ` +
    `(people ${days(cost.people)}, compatibility ${days(cost.compatibility)}, observability ${days(cost.observability)}) ` +
    `÷ team ${teamSize} = ${days(cost.calendarDays ?? cost.days / teamSize)} d`
  );
}

/** One module row's cells, in column order; shared by the table, Markdown and HTML. */
export const ROW_HEADERS = [
  'module',
  'stage',
  'score',
  'with',
  'call ratio',
  'shared cols',
  'tx hops',
  'traffic',
  'cost',
] as const;

export function rowCells(m: PlanModule): string[] {
  const p = m.pair;
  return [
    m.name,
    m.stage,
    score(m.score),
    p?.with ?? '-',
    p ? percent(p.callRatio) : '-',
    p ? String(p.sharedColumns) : '-',
    p ? String(p.txHops) : '-',
    count(m.traffic),
    costCell(m.cost),
  ];
}

/** `1,234 spans in 56 traces over 1 d (from … until …)`. */
export function tracesLine(r: PlanResult): string {
  const t = r.traces;
  const span = t.from && t.until ? ` (${t.from} … ${t.until})` : '';
  const over =
    t.days >= 1
      ? `${days(t.days)} d`
      : t.days >= 1 / 24
        ? `${days(t.days * 24)} h`
        : `${Math.max(1, Math.round(t.days * 1440))} min`;
  return `${count(t.spans)} spans in ${count(t.traces)} traces over ${over}${span}`;
}

const LEVEL_NOUN = { columns: 'column', tables: 'table', stores: 'store' } as const;

/** `14 columns: a, b, …`, `1 store: postgres`, or `-`; `escapeName` is the format's own. */
export function sharedText(p: PlanPair, escapeName: (text: string) => string): string {
  if (p.sharedLevel === 'none') return '-';
  const noun = LEVEL_NOUN[p.sharedLevel];
  return `${p.sharedColumns} ${p.sharedColumns === 1 ? noun : `${noun}s`}: ${p.shared.map(escapeName).join(', ')}`;
}
