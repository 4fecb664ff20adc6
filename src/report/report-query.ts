// The report's span and instance counts as people type them, read the same
// way by `cutover report` (its flags) and GET /api/report (its parameters).
// Each answers undefined for text it cannot read: the caller says what was
// wrong in its own terms (a usage error naming the flag, a 400).
import { parseDuration } from '../config/index.ts';

/** `7d`, `12h`, `90m` (that long before `now`) or an ISO 8601 date/time; epoch ms. */
export function timeFromText(text: string, now: number): number | undefined {
  const ago = parseDuration(text);
  if (ago !== undefined) return now - ago;
  // A bare number is neither: Date.parse would read it as a year.
  const at = /^\d{4}-\d{2}-\d{2}/.test(text) ? Date.parse(text) : Number.NaN;
  return Number.isNaN(at) ? undefined : at;
}

export interface InstanceCounts {
  readonly legacy: number;
  readonly candidate: number;
}

/**
 * `legacy=N,candidate=M` (whole numbers above 0); `malformed` for a part
 * that is not `side=N`, `incomplete` when a side is missing.
 */
export function instanceCountsFromText(text: string): InstanceCounts | 'malformed' | 'incomplete' {
  const counts: Record<string, number> = {};
  for (const part of text.split(',')) {
    const m = /^\s*(legacy|candidate)\s*=\s*(\d+)\s*$/.exec(part);
    if (!m || Number(m[2]) < 1) return 'malformed';
    counts[m[1]] = Number(m[2]);
  }
  if (counts.legacy === undefined || counts.candidate === undefined) return 'incomplete';
  return { legacy: counts.legacy, candidate: counts.candidate };
}
