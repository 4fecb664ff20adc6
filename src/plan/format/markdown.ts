// `cutover plan --format md`: the table, the pairs and data stores behind it,
// the warnings and the legend, for a pull request or a wiki page.
import type { PlanResult } from '../plan-result.ts';
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

/**
 * Names come from traces: every ASCII punctuation that Markdown reads
 * (emphasis, links, inline HTML, table pipes) is backslash-escaped
 * (CommonMark §2.4), and line breaks become spaces so a cell stays a cell.
 */
export function escapeMarkdown(text: string): string {
  return text.replace(/[\\`*_{}[\]()<>#+!|~&]/g, '\\$&').replace(/[\r\n]+/g, ' ');
}

function tableOf(headers: readonly string[], rows: readonly string[][]): string[] {
  return [
    `| ${headers.join(' | ')} |`,
    `|${headers.map(() => ' --- ').join('|')}|`,
    ...rows.map((r) => `| ${r.join(' | ')} |`),
  ];
}

export function formatPlanMarkdown(result: PlanResult): string {
  const out: string[] = ['# Migration plan', '', tracesLine(result), ''];
  out.push(
    ...tableOf(
      ROW_HEADERS,
      result.modules.map((m) => rowCells(m).map(escapeMarkdown)),
    ),
  );
  const costed = result.modules.filter((m) => m.cost !== undefined);
  if (costed.length > 0) {
    out.push('', '## Cost (a model, not a measurement)', '');
    for (const m of costed) out.push(`- **${escapeMarkdown(m.name)}**: ${costModel(m.cost!)}`);
  }
  if (result.warnings.length > 0) {
    out.push('', '## Warnings', '');
    for (const w of result.warnings) out.push(`- **${w.kind}**: ${escapeMarkdown(w.message)}`);
  }
  out.push('', '## Pairs', '');
  if (result.pairs.length === 0) out.push('No two modules call each other or share data.');
  else
    out.push(
      ...tableOf(
        ['pair', 'score', 'call ratio', 'calls/day', 'shared', 'tx hops', '2PC share'],
        result.pairs.map((p) => [
          `${escapeMarkdown(p.a)} ↔ ${escapeMarkdown(p.b)}`,
          score(p.score),
          percent(p.callRatio),
          count(p.callsPerDay),
          sharedText(p, escapeMarkdown),
          String(p.txHops),
          p.twoPhaseShare === undefined ? '-' : percent(p.twoPhaseShare),
        ]),
      ),
    );
  out.push('', '## Data stores', '');
  if (result.dataStores.length === 0) out.push('None recognised.');
  else
    out.push(
      ...tableOf(
        ['store', 'recognised by', 'modules', 'tables'],
        result.dataStores.map((d) => [
          escapeMarkdown(d.kind ? `${d.name} (${d.kind})` : d.name),
          escapeMarkdown(d.source),
          d.modules.map(escapeMarkdown).join(', ') || '-',
          d.tables.map(escapeMarkdown).join(', ') || '-',
        ]),
      ),
    );
  out.push('', '## How to read it', '', `- ${FORMULA_LEGEND}`);
  for (const [stage, meaning] of Object.entries(STAGE_MEANING))
    out.push(`- **${stage}**: ${escapeMarkdown(meaning)}`);
  out.push('');
  return out.join('\n');
}
