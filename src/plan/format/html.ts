// `cutover plan --format html`: one self-contained page (inline CSS and SVG,
// no script, no external asset) that reads on screen and on paper.
import type { PlanResult, Stage } from '../plan-result.ts';
import {
  costModel,
  count,
  FORMULA_LEGEND,
  percent,
  ROW_HEADERS,
  rowCells,
  STAGE_MEANING,
  score,
  sharedText,
  tracesLine,
} from './figures.ts';
import { dependencyGraph, escapeHtml, STAGE_COLORS } from './graph-svg.ts';

const CSS = `
body { font: 14px/1.45 system-ui, sans-serif; color: #1b1b1b; margin: 2rem auto; max-width: 1100px; padding: 0 1rem; }
h1 { font-size: 1.6rem; } h2 { font-size: 1.2rem; margin-top: 2rem; }
table { border-collapse: collapse; margin: .5rem 0; }
th, td { border: 1px solid #ccc; padding: .25rem .6rem; text-align: left; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.stage { font-weight: 600; padding: 0 .4rem; border-radius: 3px; color: #fff; }
${(Object.keys(STAGE_COLORS) as Stage[]).map((s) => `.stage-${s} .stage, .stage.${s}, svg .stage-${s} circle { background: ${STAGE_COLORS[s]}; fill: ${STAGE_COLORS[s]}; }`).join('\n')}
.legend span.stage { margin-right: .3rem; }
svg { max-width: 100%; height: auto; }
svg line { stroke: #555; } svg .store-link { stroke: #999; stroke-dasharray: 4 3; }
svg .edge-nocall { stroke: #aaa; stroke-dasharray: 1 3; }
svg text { font: 12px system-ui, sans-serif; text-anchor: middle; fill: #1b1b1b; }
svg .stage-text { fill: #fff; font-weight: 700; }
svg .edge-label { fill: #333; font-size: 11px; paint-order: stroke; stroke: #fff; stroke-width: 3px; }
svg .store path { fill: #e8eef7; stroke: #456; }
.warnings li { color: #8a1c12; }
@media print { body { margin: 0; max-width: none; } h2 { break-after: avoid; } table, svg { break-inside: avoid; }
  .stage, svg circle { -webkit-print-color-adjust: exact; print-color-adjust: exact; } }
`;

function table(
  headers: readonly string[],
  rows: readonly string[][],
  numeric: ReadonlySet<number>,
): string {
  const head = `<tr>${headers.map((h) => `<th>${escapeHtml(h)}</th>`).join('')}</tr>`;
  const body = rows
    .map(
      (r) =>
        `<tr>${r.map((c, i) => (numeric.has(i) ? `<td class="num">${c}</td>` : `<td>${c}</td>`)).join('')}</tr>`,
    )
    .join('\n');
  return `<table>\n<thead>${head}</thead>\n<tbody>\n${body}\n</tbody>\n</table>`;
}

const stageBadge = (s: Stage): string => `<span class="stage ${s}">${s}</span>`;

export function formatPlanHtml(result: PlanResult): string {
  const moduleRows = result.modules.map((m) => {
    const cells = rowCells(m).map(escapeHtml);
    cells[1] = stageBadge(m.stage);
    return cells;
  });
  const parts: string[] = [
    '<!doctype html>',
    '<html lang="en">',
    '<head><meta charset="utf-8"><title>Migration plan</title>',
    `<style>${CSS}</style></head>`,
    '<body>',
    '<h1>Migration plan</h1>',
    `<p>${escapeHtml(tracesLine(result))}</p>`,
    '<h2>Modules, in migration order</h2>',
    table(ROW_HEADERS, moduleRows, new Set([2, 4, 5, 6, 7, 8])),
    `<p class="legend">${(Object.entries(STAGE_MEANING) as [Stage, string][]).map(([s, t]) => `${stageBadge(s)}${escapeHtml(t)}`).join(' &nbsp; ')}</p>`,
    `<p>${escapeHtml(FORMULA_LEGEND)}</p>`,
  ];
  if (result.warnings.length > 0)
    parts.push(
      '<h2>Warnings</h2>',
      `<ul class="warnings">${result.warnings.map((w) => `<li><strong>${escapeHtml(w.kind)}</strong>: ${escapeHtml(w.message)}</li>`).join('')}</ul>`,
    );
  parts.push('<h2>Dependency graph</h2>', dependencyGraph(result));
  parts.push(
    '<p class="legend">Nodes: modules, coloured and labelled by stage. Edges: pairs that call each other, labelled calls a day · pair score (dotted: coupled through data or a transaction only, no call). Cylinders: data stores (dashed: which modules touch them).</p>',
  );
  if (result.pairs.length > 0)
    parts.push(
      '<h2>Pairs</h2>',
      table(
        ['pair', 'score', 'call ratio', 'calls/day', 'shared', 'tx hops', '2PC share'],
        result.pairs.map((p) => [
          `${escapeHtml(p.a)} ↔ ${escapeHtml(p.b)}`,
          score(p.score),
          percent(p.callRatio),
          count(p.callsPerDay),
          sharedText(p, escapeHtml),
          String(p.txHops),
          p.twoPhaseShare === undefined ? '-' : percent(p.twoPhaseShare),
        ]),
        new Set([1, 2, 3, 5, 6]),
      ),
    );
  if (result.dataStores.length > 0)
    parts.push(
      '<h2>Data stores</h2>',
      table(
        ['store', 'recognised by', 'modules', 'tables'],
        result.dataStores.map((d) => [
          escapeHtml(d.kind ? `${d.name} (${d.kind})` : d.name),
          escapeHtml(d.source),
          escapeHtml(d.modules.join(', ') || '-'),
          escapeHtml(d.tables.join(', ') || '-'),
        ]),
        new Set(),
      ),
    );
  const costed = result.modules.filter((m) => m.cost !== undefined);
  if (costed.length > 0)
    parts.push(
      '<h2>Cost (a model, not a measurement)</h2>',
      `<ul>${costed.map((m) => `<li><strong>${escapeHtml(m.name)}</strong>: ${escapeHtml(costModel(m.cost!))}</li>`).join('')}</ul>`,
    );
  parts.push('</body>', '</html>', '');
  return parts.join('\n');
}
