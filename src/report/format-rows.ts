// The rows and sentences the Markdown and HTML reports share, so both say the
// same thing: a route's figures, the incidents per week and the fit. Cells
// here are figures and dates, never user text; each format escapes the rest.
import { change, ms, percent } from './build-report.ts';
import { iso } from './format-markdown.ts';
import type { Figure, IncidentWeeks, MigrationReport, RouteReport } from './report-types.ts';

/**
 * The Figures section's first line: the counts, or n/a with the reason — the
 * whole migration's ratio carries it (not given, or Prometheus did not answer).
 */
export function instancesLine(report: MigrationReport): string {
  if (report.instances)
    return `Instances: legacy ${report.instances.legacy}, candidate ${report.instances.candidate}.`;
  const ratio = report.overall.throughputPerInstanceRatio;
  const why = ratio.value === null ? ratio.na : 'not given';
  return `Instances: n/a — ${why}, so the throughput per instance ratio is n/a.`;
}

/** Three significant digits, or n/a. */
export function fixed(f: Figure): string {
  return f.value === null ? 'n/a' : String(Number(f.value.toPrecision(3)));
}

export const ROUTE_FIGURE_HEADERS = ['figure (same windows)', 'legacy', 'candidate', 'change'];

/** A route's figures on the same windows, in ROUTE_FIGURE_HEADERS order. */
export function routeFigureRows(r: RouteReport): string[][] {
  const s = r.sameWindows;
  return [
    ['p50', ms(s.legacy.p50), ms(s.candidate.p50), ''],
    ['p95', ms(s.legacy.p95), ms(s.candidate.p95), ''],
    [
      'p99',
      ms(s.legacy.p99),
      ms(s.candidate.p99),
      `${change(s.p99DropRate)} (p99DropRate ${percent(s.p99DropRate, 1)})`,
    ],
    ['error rate (5xx)', percent(s.legacy.errorRate), percent(s.candidate.errorRate), ''],
    ['requests', String(s.legacy.requests), String(s.candidate.requests), ''],
    ['TPS (all minutes served)', fixed(r.tps.legacy), fixed(r.tps.candidate), ''],
    ['throughput per instance ratio', '', '', fixed(r.throughputPerInstanceRatio)],
    ['breaker openings', String(r.breakerOpenings.legacy), String(r.breakerOpenings.candidate), ''],
  ];
}

export const INCIDENT_WEEK_HEADERS = [
  'week from',
  'rollbacks',
  'breaker openings',
  'gate failures',
  'imported',
  'total',
] as const;

/** One row per whole week, in INCIDENT_WEEK_HEADERS order. */
export function incidentWeekRows(inc: IncidentWeeks): string[][] {
  return inc.weeks.map((w) => [
    iso(w.start).slice(0, 10),
    String(w.rollbacks),
    String(w.breakerOpenings),
    String(w.gateFailures),
    String(w.imported),
    String(w.total),
  ]);
}

/**
 * "Fit f(t) = a·e^(−kt): a = …, k = …/week (95% interval …), half-life …".
 * `escapeText` makes a reason safe for the format; `exponent` writes e's power
 * (`^(−kt)` in Markdown, `<sup>−kt</sup>` in HTML).
 */
export function fitSentence(
  fit: IncidentWeeks['fit'],
  escapeText: (text: string) => string,
  exponent: string,
): string {
  const head = `Fit f(t) = a·e${exponent}:`;
  if ('na' in fit) return `${head} n/a — ${escapeText(fit.na)}.`;
  const halfLife =
    fit.halfLifeWeeks.value === null
      ? `n/a — ${escapeText(fit.halfLifeWeeks.na)}`
      : `${fit.halfLifeWeeks.value.toPrecision(3)} weeks`;
  return (
    `${head} a = ${fit.a.toPrecision(3)}, k = ${fit.k.toPrecision(3)}/week ` +
    `(95% interval ${fit.kLow.toPrecision(3)} … ${fit.kHigh.toPrecision(3)}), half-life ` +
    `${halfLife}, dispersion ${fit.dispersion.toPrecision(3)}.`
  );
}
