// buildReport: the whole migration report from the history, the ledger and
// the optional inputs. Pure: the CLI reads the store and the files and
// formats the result (Markdown, JSON, HTML).
import type { RouteHistory } from '../telemetry/index.ts';
import { buildIncidents } from './incidents.ts';
import type { Figure, MigrationReport, ReportInput, RouteReport } from './report-types.ts';
import { buildRouteReport, type MinuteSlots, minuteSlotsOf } from './route-figures.ts';
import { buildTimeline, weightsOf } from './timeline.ts';

/** The name of the whole-migration row: every route's minutes merged. */
export const ALL_ROUTES = 'all routes';

/** Every route's minutes side by side, minute by minute: the whole migration as one route. */
function mergeRoutes(routes: readonly RouteHistory[]): MinuteSlots[] {
  const byMinute = new Map<number, MinuteSlots>();
  for (const history of routes) {
    for (const m of minuteSlotsOf(history)) {
      const seen = byMinute.get(m.minute);
      byMinute.set(
        m.minute,
        seen === undefined
          ? m
          : {
              minute: m.minute,
              legacy: [...seen.legacy, ...m.legacy],
              candidate: [...seen.candidate, ...m.candidate],
              breakerOpenings: {
                legacy: seen.breakerOpenings.legacy + m.breakerOpenings.legacy,
                candidate: seen.breakerOpenings.candidate + m.breakerOpenings.candidate,
              },
              shadow: [...seen.shadow, ...m.shadow],
            },
      );
    }
  }
  return [...byMinute.values()].sort((x, y) => x.minute - y.minute);
}

export function buildReport(input: ReportInput): MigrationReport {
  const { from, until } = input;
  const timeline = buildTimeline(input.timeline, from, until);
  const context = (route: string) => ({
    from,
    until,
    instances: input.instances,
    weights: weightsOf(timeline, route),
  });
  const routes = [...input.routes]
    .sort((a, b) => (a.route < b.route ? -1 : a.route > b.route ? 1 : 0))
    .map((h) => buildRouteReport(h.route, minuteSlotsOf(h), context(h.route)));
  const overall = buildRouteReport(ALL_ROUTES, mergeRoutes(input.routes), {
    ...context(ALL_ROUTES),
    weights: [],
  });
  const incidents = buildIncidents(from, until, input.routes, timeline, input.incidents ?? []);
  const report: Omit<MigrationReport, 'summary'> = {
    version: 1,
    generatedAt: new Date(input.generatedAt).toISOString(),
    from: new Date(from).toISOString(),
    until: new Date(until).toISOString(),
    instances: input.instances === undefined || 'na' in input.instances ? null : input.instances,
    overall,
    routes,
    timeline,
    incidents,
    plan: input.plan ? [...input.plan.modules] : null,
  };
  return { ...report, summary: summarise(report) };
}

/** 412 ms, 9.6 ms: three significant digits at most. */
export function ms(f: Figure): string {
  return f.value === null ? 'n/a' : `${Number(f.value.toPrecision(3))} ms`;
}

/** 0.21%: a rate as a percentage. */
export function percent(f: Figure, digits = 2): string {
  return f.value === null ? 'n/a' : `${Number((f.value * 100).toFixed(digits))}%`;
}

/** A drop rate as a change: −77% when the new p99 is 77% lower. */
export function change(f: Figure): string {
  if (f.value === null) return 'n/a';
  const pct = Number((-f.value * 100).toFixed(1));
  return pct > 0 ? `+${pct}%` : pct < 0 ? `−${-pct}%` : '±0%';
}

function routeSentence(r: RouteReport): string {
  const s = r.sameWindows;
  if (s.minutes === 0) {
    return `${r.route}: no minute where both legacy and candidate served requests, so no comparison`;
  }
  return (
    `${r.route}: p99 ${ms(s.legacy.p99)} → ${ms(s.candidate.p99)} (${change(s.p99DropRate)}), ` +
    `errors ${percent(s.legacy.errorRate)} → ${percent(s.candidate.errorRate)}, ` +
    `verdicts latency ${r.verdicts.latency.verdict}, errors ${r.verdicts.errorRate.verdict}`
  );
}

function summarise(report: Omit<MigrationReport, 'summary'>): string {
  // The whole migration first: that is the sentence leadership reads.
  const parts = report.routes.map(routeSentence);
  if (report.routes.length > 1) parts.unshift(routeSentence(report.overall));
  if (report.routes.length === 0) parts.push('no route had history in the span');
  const ratio = report.overall.throughputPerInstanceRatio;
  parts.push(
    ratio.value === null
      ? `throughput per instance ratio n/a (${ratio.na})`
      : `throughput per instance ×${Number(ratio.value.toPrecision(3))}`,
  );
  const rollbacks = report.timeline.filter((e) => e.event === 'rollback').length;
  const fit = report.incidents.fit;
  const decay =
    'na' in fit
      ? `incident trend n/a (${fit.na})`
      : fit.halfLifeWeeks.value !== null
        ? `incidents halve every ${Number(fit.halfLifeWeeks.value.toPrecision(2))} weeks`
        : `incidents show no proven decline (${fit.halfLifeWeeks.na})`;
  parts.push(`${rollbacks} rollback(s), ${report.incidents.list.length} incident(s); ${decay}`);
  if (report.plan !== null) {
    const costed = report.plan.filter((m) => m.cost !== undefined);
    const days = costed.reduce((total, m) => total + (m.cost?.days ?? 0), 0);
    parts.push(
      costed.length === 0
        ? 'the plan gave no cost inputs'
        : `modelled effort ${Math.round(days)} person-days for ${costed.length} module(s) (the plan's cost model)`,
    );
  }
  return `${parts.join('; ')}.`;
}
