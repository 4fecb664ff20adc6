// Incidents per week (docs/report.md "Incidents"): rollbacks and failed
// gate checks from the timeline, breaker openings from the history, and the
// imported CSV; counted per whole week from `from` and fitted to a·e^(−kt).
import type { RouteHistory } from '../telemetry/index.ts';
import { fitIncidentDecay, MIN_WEEKS } from './incident-decay.ts';
import {
  figure,
  type ImportedIncident,
  type IncidentRecord,
  type IncidentWeeks,
  type TimelineEvent,
} from './report-types.ts';

export const WEEK_MS = 7 * 24 * 3_600_000;

export function buildIncidents(
  from: number,
  until: number,
  routes: readonly RouteHistory[],
  timeline: readonly TimelineEvent[],
  imported: readonly ImportedIncident[],
): IncidentWeeks {
  const list: IncidentRecord[] = [];
  for (const e of timeline) {
    if (e.event === 'rollback' || e.event === 'gate-failure') {
      const gates = e.failedGates.map((g) => `${g.name} ${g.value ?? 'n/a'} vs ${g.threshold}`);
      list.push({
        at: e.at,
        source: e.event,
        route: e.route,
        note: [e.reason, ...gates].filter((s) => s !== '').join('; '),
      });
    }
  }
  for (const history of routes) {
    for (const m of history.minutes) {
      if (m.minute < from || m.minute >= until) continue;
      for (const side of ['legacy', 'candidate'] as const) {
        for (let i = 0; i < m.breakerOpenings[side]; i++) {
          list.push({
            at: m.minute,
            source: 'breaker',
            route: history.route,
            note: `${side} breaker opened`,
          });
        }
      }
    }
  }
  for (const incident of imported) {
    if (incident.at < from || incident.at >= until) continue;
    list.push({
      at: incident.at,
      source: 'imported',
      route: incident.route,
      note: incident.note === '' ? incident.kind : `${incident.kind}: ${incident.note}`,
    });
  }
  list.sort((a, b) => a.at - b.at);

  const whole = Math.max(0, Math.floor((until - from) / WEEK_MS));
  const weeks = Array.from({ length: whole }, (_, t) => ({
    start: from + t * WEEK_MS,
    rollbacks: 0,
    breakerOpenings: 0,
    gateFailures: 0,
    imported: 0,
    total: 0,
  }));
  let partialWeek = 0;
  for (const incident of list) {
    const week = weeks[Math.floor((incident.at - from) / WEEK_MS)];
    if (week === undefined) {
      partialWeek++;
      continue;
    }
    week.total++;
    if (incident.source === 'rollback') week.rollbacks++;
    else if (incident.source === 'breaker') week.breakerOpenings++;
    else if (incident.source === 'gate-failure') week.gateFailures++;
    else week.imported++;
  }
  return { weeks, partialWeek, fit: fitWeeks(weeks.map((w) => w.total)), list };
}

function fitWeeks(counts: number[]): IncidentWeeks['fit'] {
  if (counts.length < MIN_WEEKS) {
    return {
      na: `${counts.length} whole week(s) in the span; the fit needs at least ${MIN_WEEKS}`,
    };
  }
  const fit = fitIncidentDecay(counts);
  if (fit === undefined) return { na: 'no incident in the whole weeks of the span' };
  return {
    a: fit.a,
    k: fit.k,
    kLow: fit.kLow,
    kHigh: fit.kHigh,
    halfLifeWeeks: figure(
      fit.halfLifeWeeks,
      fit.k <= 0 ? 'no decline (k ≤ 0)' : 'the 95% interval of k includes 0: no proven decline',
    ),
    declining: fit.declining,
    dispersion: fit.dispersion,
  };
}
