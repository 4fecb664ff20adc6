// The report as Markdown: the leadership summary first, then one section per
// part (docs/report.md "Output formats"). Every n/a carries its reason.

import { change, ms, percent } from './build-report.ts';
import {
  fitSentence,
  INCIDENT_WEEK_HEADERS,
  incidentWeekRows,
  instancesLine,
  ROUTE_FIGURE_HEADERS,
  routeFigureRows,
} from './format-rows.ts';
import type { MetricVerdict } from './metric-verdict.ts';
import type { Figure, MigrationReport, RouteReport, TimelineGate } from './report-types.ts';

/** A table cell: user text (route names, reasons, field paths) must not break the table. */
export function cell(text: string): string {
  return text
    .replace(/\\/g, '\\\\')
    .replace(/\|/g, '\\|')
    .replace(/[\r\n]+/g, ' ');
}

function table(head: string[], rows: string[][]): string {
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
  return [line(head), line(head.map(() => '---')), ...rows.map(line)].join('\n');
}

/** n/a with its reason, for the notes under a table. */
function na(label: string, f: Figure): string[] {
  return f.value === null ? [`- ${label}: n/a — ${cell(f.na)}`] : [];
}

export function iso(at: number): string {
  return new Date(at).toISOString().replace('.000Z', 'Z');
}

export function gateText(g: TimelineGate): string {
  const value = g.value === null ? 'n/a' : formatGateValue(g.value, g.unit);
  const op = g.bound === 'max' ? '>' : '<';
  return `${g.name} ${value} ${op} ${formatGateValue(g.threshold, g.unit)}`;
}

function formatGateValue(v: number, unit: TimelineGate['unit']): string {
  if (unit === 'ratio') return `${Number((v * 100).toPrecision(3))}%`;
  if (unit === 'ms') return `${Number(v.toPrecision(4))} ms`;
  return String(Number(v.toPrecision(4)));
}

export function verdictText(v: MetricVerdict): string {
  const ratio =
    v.medianRatio === undefined ? '' : `, median ratio ${Number(v.medianRatio.toPrecision(3))}`;
  return `**${v.verdict}** — ${cell(v.reason)}${ratio}`;
}

function routeSection(r: RouteReport): string {
  const s = r.sameWindows;
  const out = [
    `### ${cell(r.route)}`,
    '',
    `Minutes served: legacy ${r.minutes.legacy}, candidate ${r.minutes.candidate}, both ${r.minutes.both} (the same windows). ` +
      `Requests in the span: legacy ${r.requests.legacy}, candidate ${r.requests.candidate}.`,
    '',
    table(ROUTE_FIGURE_HEADERS, routeFigureRows(r)),
    '',
    ...na('p99 drop rate', s.p99DropRate),
    ...na('throughput per instance ratio', r.throughputPerInstanceRatio),
    ...na('legacy TPS', r.tps.legacy),
    ...na('candidate TPS', r.tps.candidate),
  ];
  return out.join('\n');
}

function shadowSection(r: RouteReport): string[] {
  const sh = r.shadow;
  if (sh === null) return [`### ${cell(r.route)}`, '', 'No shadow pairs in the span.', ''];
  const p = sh.paired;
  return [
    `### ${cell(r.route)}`,
    '',
    `${sh.compared} pairs compared, ${sh.mismatched} mismatched (${percent(sh.mismatchRate)}).`,
    '',
    table(
      ['same requests (paired)', 'legacy', 'candidate'],
      [
        ['p50', ms(p.legacy.p50), ms(p.candidate.p50)],
        ['p95', ms(p.legacy.p95), ms(p.candidate.p95)],
        ['p99', ms(p.legacy.p99), ms(p.candidate.p99)],
      ],
    ),
    '',
    `Paired p99 change: ${change(p.p99DropRate)}; verdict ${verdictText(sh.pairedLatencyVerdict)}.`,
    '',
    `Mismatch rate per ${sh.bucketMs / 60_000} min:`,
    '',
    table(
      ['from', 'compared', 'mismatched', 'rate'],
      sh.series.map((m) => [
        iso(m.at),
        String(m.compared),
        String(m.mismatched),
        percent(m.mismatchRate),
      ]),
    ),
    '',
    sh.topFields.length === 0
      ? 'No differing field recorded.'
      : table(
          ['differing field', 'pairs', 'share of mismatches'],
          sh.topFields.map((f) => [
            `\`${cell(f.path).replace(/`/g, "'")}\``,
            String(f.count),
            percent({ value: f.share }, 1),
          ]),
        ),
    '',
  ];
}

export function formatReportMarkdown(report: MigrationReport): string {
  const all = report.routes.length > 1 ? [report.overall, ...report.routes] : report.routes;
  const out: string[] = [
    '# Migration report',
    '',
    `Span ${report.from} – ${report.until}; generated ${report.generatedAt}.`,
    '',
    '## Summary',
    '',
    cell(report.summary),
    '',
    '## Figures',
    '',
    instancesLine(report),
    '',
    ...all.map((r) => `${routeSection(r)}\n`),
    '## Verdicts',
    '',
    table(
      ['route', 'latency', 'error rate'],
      all.map((r) => [
        cell(r.route),
        verdictText(r.verdicts.latency),
        verdictText(r.verdicts.errorRate),
      ]),
    ),
    '',
    '## Shadow',
    '',
    ...report.routes.flatMap(shadowSection),
    '## Timeline',
    '',
    report.timeline.length === 0
      ? 'No rollout ledger entry in the span.'
      : table(
          ['at', 'route', 'event', 'state', 'weight', 'by', 'reason', 'failed gates'],
          report.timeline.map((e) => [
            iso(e.at),
            cell(e.route),
            e.event,
            `${cell(e.from)} → ${cell(e.to)}`,
            `${e.previousWeight}% → ${e.weight}%`,
            cell(e.by),
            cell(e.reason),
            cell(e.failedGates.map(gateText).join('; ')),
          ]),
        ),
    '',
    ...incidentsSection(report),
    ...planSection(report),
  ];
  return `${out
    .join('\n')
    .replace(/\n{3,}/g, '\n\n')
    .trimEnd()}\n`;
}

function incidentsSection(report: MigrationReport): string[] {
  const inc = report.incidents;
  const fit = inc.fit;
  const fitText = fitSentence(fit, cell, '^(−kt)');
  return [
    '## Incidents',
    '',
    inc.weeks.length === 0
      ? 'No whole week in the span.'
      : table([...INCIDENT_WEEK_HEADERS], incidentWeekRows(inc)),
    '',
    inc.partialWeek > 0
      ? `${inc.partialWeek} incident(s) after the last whole week (not fitted).`
      : '',
    '',
    fitText,
    '',
  ];
}

function planSection(report: MigrationReport): string[] {
  if (report.plan === null)
    return ['## Cost model', '', 'No plan given (`--plan`): cost model n/a.'];
  const rows = report.plan.map((m) =>
    m.cost === undefined
      ? [cell(m.name), cell(m.stage), 'n/a', '', '', '', 'no cost inputs']
      : [
          cell(m.name),
          cell(m.stage),
          m.cost.days.toFixed(1),
          m.cost.people.toFixed(1),
          m.cost.compatibility.toFixed(1),
          m.cost.observability.toFixed(1),
          `base ${m.cost.inputs.baseDays} d × skill ${m.cost.inputs.skillFactor}, team ${m.cost.inputs.teamSize}`,
        ],
  );
  return [
    '## Cost model',
    '',
    'The plan’s effort model (person-days; a model with its inputs, not a fact), beside the benefit figures above.',
    '',
    table(
      ['module', 'stage', 'days', 'people 45%', 'compatibility 30%', 'observability 25%', 'inputs'],
      rows,
    ),
  ];
}
