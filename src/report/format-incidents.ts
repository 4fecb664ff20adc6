// The incidents section's table rows and fit sentence, shared by the Markdown
// and HTML reports so both say the same thing; each escapes for its format.
import { iso } from './format-markdown.ts';
import type { IncidentWeeks } from './report-types.ts';

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
