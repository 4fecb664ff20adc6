// The report as one self-contained HTML file: inline CSS (print-friendly,
// light background), inline SVG charts, no script, no external asset. Every
// text that comes from users (route names, reasons, field paths) is escaped.
import { change, ms, percent } from './build-report.ts';
import { gateText, iso } from './format-markdown.ts';
import {
  fitSentence,
  INCIDENT_WEEK_HEADERS,
  incidentWeekRows,
  instancesLine,
  ROUTE_FIGURE_HEADERS,
  routeFigureRows,
} from './format-rows.ts';
import type { MetricVerdict } from './metric-verdict.ts';
import type { Figure, MigrationReport, RouteReport } from './report-types.ts';
import { type ChartSeries, escapeHtml as h, svgChart } from './svg-chart.ts';

const LEGACY = '#b45309';
const CANDIDATE = '#1d4ed8';

const CSS = `
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Helvetica,Arial,sans-serif;color:#111;background:#fff;max-width:980px;margin:24px auto;padding:0 16px}
h1{font-size:24px}h2{font-size:19px;border-bottom:1px solid #ccc;padding-bottom:2px;margin-top:28px}h3{font-size:16px}
table{border-collapse:collapse;margin:8px 0}th,td{border:1px solid #ccc;padding:3px 8px;text-align:left;vertical-align:top}
th{background:#f3f4f6}td.n{text-align:right;font-variant-numeric:tabular-nums}
.summary{font-size:15px;border-left:4px solid #1d4ed8;padding:6px 12px;background:#f8fafc}
.na{color:#555;font-style:italic}figure{margin:8px 0}svg{max-width:100%;height:auto}
svg text{font:11px system-ui,sans-serif;fill:#222}svg .t{font-size:13px;font-weight:600}
svg .g{stroke:#e5e7eb}svg .a{stroke:#444}svg .m{stroke:#b91c1c;stroke-dasharray:3 3}svg .ml{fill:#b91c1c}
.v-lower,.v-pass{color:#166534}.v-higher{color:#b91c1c}.v-nodata{color:#555}
@media print{body{margin:0;max-width:none}h2{break-after:avoid}figure,table{break-inside:avoid}.summary{background:none}}
`;

function td(text: string, numeric = false): string {
  return numeric ? `<td class="n">${h(text)}</td>` : `<td>${h(text)}</td>`;
}

function table(head: string[], rows: string[][], numericFrom = 1): string {
  const headRow = `<tr>${head.map((c) => `<th>${h(c)}</th>`).join('')}</tr>`;
  const body = rows.map((r) => `<tr>${r.map((c, i) => td(c, i >= numericFrom)).join('')}</tr>`);
  return `<table><thead>${headRow}</thead><tbody>${body.join('')}</tbody></table>`;
}

function naNotes(items: [string, Figure][]): string {
  const notes = items.flatMap(([label, f]) =>
    f.value === null ? [`<li>${h(label)}: n/a — ${h(f.na)}</li>`] : [],
  );
  return notes.length === 0 ? '' : `<ul class="na">${notes.join('')}</ul>`;
}

function verdict(v: MetricVerdict): string {
  const ratio =
    v.medianRatio === undefined ? '' : `, median ratio ${Number(v.medianRatio.toPrecision(3))}`;
  return `<strong class="v-${v.verdict}">${h(v.verdict)}</strong> — ${h(v.reason)}${h(ratio)}`;
}

const val = (f: Figure | undefined): number | null => (f === undefined ? null : f.value);

function charts(r: RouteReport): string {
  const pts = (pick: (p: RouteReport['series'][number]) => number | null) =>
    r.series.map((p) => [p.at, pick(p)] as const);
  const latency: ChartSeries[] = [
    { name: 'legacy p99', color: LEGACY, style: 'line', points: pts((p) => val(p.legacy?.p99)) },
    {
      name: 'legacy p50',
      color: LEGACY,
      style: 'line',
      dashed: true,
      points: pts((p) => val(p.legacy?.p50)),
    },
    {
      name: 'candidate p99',
      color: CANDIDATE,
      style: 'line',
      points: pts((p) => val(p.candidate?.p99)),
    },
    {
      name: 'candidate p50',
      color: CANDIDATE,
      style: 'line',
      dashed: true,
      points: pts((p) => val(p.candidate?.p50)),
    },
  ];
  const pct = (v: number | null) => (v === null ? null : v * 100);
  const errors: ChartSeries[] = [
    {
      name: 'legacy 5xx %',
      color: LEGACY,
      style: 'line',
      points: pts((p) => pct(val(p.legacy?.errorRate))),
    },
    {
      name: 'candidate 5xx %',
      color: CANDIDATE,
      style: 'line',
      points: pts((p) => pct(val(p.candidate?.errorRate))),
    },
  ];
  const bucket = `${r.bucketMs / 60_000} min buckets`;
  const out = [
    svgChart({
      title: `${r.route}: latency (${bucket})`,
      yLabel: 'ms',
      xTime: true,
      series: latency,
    }),
    svgChart({
      title: `${r.route}: error rate (${bucket})`,
      yLabel: '% 5xx',
      xTime: true,
      series: errors,
    }),
  ];
  if (r.weights.length > 0) {
    out.push(
      svgChart({
        title: `${r.route}: candidate weight`,
        yLabel: '% of users',
        xTime: true,
        series: [
          {
            name: 'weight',
            color: CANDIDATE,
            style: 'step',
            points: r.weights.map((w) => [w.at, w.weight]),
          },
        ],
        markers: r.weights.filter((w) => w.rollback).map((w) => ({ x: w.at, label: 'rollback' })),
      }),
    );
  }
  if (r.shadow !== null) {
    out.push(
      svgChart({
        title: `${r.route}: shadow mismatch rate (${r.shadow.bucketMs / 60_000} min buckets)`,
        yLabel: '% mismatched',
        xTime: true,
        series: [
          {
            name: 'mismatch %',
            color: '#7c3aed',
            style: 'line',
            points: r.shadow.series.map((m) => [m.at, pct(m.mismatchRate.value)]),
          },
        ],
      }),
    );
  }
  return out.join('\n');
}

function routeSection(r: RouteReport): string {
  const s = r.sameWindows;
  const parts = [
    `<section class="route"><h3>${h(r.route)}</h3>`,
    `<p>Minutes served: legacy ${r.minutes.legacy}, candidate ${r.minutes.candidate}, both ${r.minutes.both} (the same windows).</p>`,
    table(ROUTE_FIGURE_HEADERS, routeFigureRows(r)),
    naNotes([
      ['p99 drop rate', s.p99DropRate],
      ['throughput per instance ratio', r.throughputPerInstanceRatio],
      ['legacy TPS', r.tps.legacy],
      ['candidate TPS', r.tps.candidate],
    ]),
    `<p>Latency verdict: ${verdict(r.verdicts.latency)}<br>Error-rate verdict: ${verdict(r.verdicts.errorRate)}</p>`,
  ];
  const sh = r.shadow;
  if (sh !== null) {
    parts.push(
      `<h4>Shadow</h4><p>${sh.compared} pairs compared, ${sh.mismatched} mismatched (${h(percent(sh.mismatchRate))}). Same requests: p99 ${h(ms(sh.paired.legacy.p99))} → ${h(ms(sh.paired.candidate.p99))} (${h(change(sh.paired.p99DropRate))}); verdict ${verdict(sh.pairedLatencyVerdict)}.</p>`,
      sh.topFields.length === 0
        ? '<p class="na">No differing field recorded.</p>'
        : table(
            ['differing field', 'pairs', 'share of mismatches'],
            sh.topFields.map((f) => [f.path, String(f.count), percent({ value: f.share }, 1)]),
          ),
    );
  }
  parts.push(charts(r), '</section>');
  return parts.join('\n');
}

function incidents(report: MigrationReport): string {
  const inc = report.incidents;
  const fit = inc.fit;
  const weekIndex = inc.weeks.map((_, t) => t);
  const series: ChartSeries[] = [
    {
      name: 'incidents',
      color: '#6b7280',
      style: 'bars',
      points: inc.weeks.map((w, t) => [t, w.total]),
    },
  ];
  if (!('na' in fit)) {
    series.push({
      name: 'fitted a·e^(−kt)',
      color: '#b91c1c',
      style: 'line',
      points: weekIndex.map((t) => [t, fit.a * Math.exp(-fit.k * t)]),
    });
  }
  const fitText = fitSentence(fit, h, '<sup>−kt</sup>');
  return [
    '<h2>Incidents</h2>',
    inc.weeks.length === 0
      ? '<p class="na">No whole week in the span.</p>'
      : table([...INCIDENT_WEEK_HEADERS], incidentWeekRows(inc)),
    inc.partialWeek > 0
      ? `<p>${inc.partialWeek} incident(s) after the last whole week (not fitted).</p>`
      : '',
    `<p>${fitText}</p>`,
    svgChart({
      title: 'Incidents per week',
      yLabel: 'incidents',
      xTime: false,
      series,
      xFormat: (t) => `week ${t}`,
    }),
  ].join('\n');
}

function timeline(report: MigrationReport): string {
  if (report.timeline.length === 0)
    return '<h2>Timeline</h2><p class="na">No rollout ledger entry in the span.</p>';
  return `<h2>Timeline</h2>${table(
    ['at', 'route', 'event', 'state', 'weight', 'by', 'reason', 'failed gates'],
    report.timeline.map((e) => [
      iso(e.at),
      e.route,
      e.event,
      `${e.from} → ${e.to}`,
      `${e.previousWeight}% → ${e.weight}%`,
      e.by,
      e.reason,
      e.failedGates.map(gateText).join('; '),
    ]),
    99,
  )}`;
}

function plan(report: MigrationReport): string {
  if (report.plan === null)
    return '<h2>Cost model</h2><p class="na">No plan given: cost model n/a.</p>';
  return `<h2>Cost model</h2><p>The plan’s effort model (person-days; a model with its inputs, not a fact), beside the benefit figures above.</p>${table(
    ['module', 'stage', 'days', 'people 45%', 'compatibility 30%', 'observability 25%', 'inputs'],
    report.plan.map((m) =>
      m.cost === undefined
        ? [m.name, m.stage, 'n/a', '', '', '', 'no cost inputs']
        : [
            m.name,
            m.stage,
            m.cost.days.toFixed(1),
            m.cost.people.toFixed(1),
            m.cost.compatibility.toFixed(1),
            m.cost.observability.toFixed(1),
            `base ${m.cost.inputs.baseDays} d × skill ${m.cost.inputs.skillFactor}, team ${m.cost.inputs.teamSize}`,
          ],
    ),
    2,
  )}`;
}

export function formatReportHtml(report: MigrationReport): string {
  const all = report.routes.length > 1 ? [report.overall, ...report.routes] : report.routes;
  const instances = instancesLine(report);
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Migration report ${h(report.from)} – ${h(report.until)}</title>
<style>${CSS}</style></head><body>
<h1>Migration report</h1>
<p>Span ${h(report.from)} – ${h(report.until)}; generated ${h(report.generatedAt)}.</p>
<h2>Summary</h2><p class="summary">${h(report.summary)}</p>
<h2>Figures</h2><p>${h(instances)}</p>
${all.map(routeSection).join('\n')}
${timeline(report)}
${incidents(report)}
${plan(report)}
</body></html>
`;
}
