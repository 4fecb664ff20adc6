// `cutover plan`'s default output: a fixed-width terminal table, then the
// warnings, then the formula in one line. No table library: the widths come
// from the cells themselves.
import type { PlanResult, Stage } from '../plan-result.ts';
import { FORMULA_LEGEND, ROW_HEADERS, rowCells, tracesLine } from './figures.ts';

export interface TableOptions {
  /** ANSI colours for the stage cell (green / yellow / red); off unless asked (pipes, files). */
  readonly color?: boolean;
}

const STAGE_COLOR: Record<Stage, string> = { L1: '\x1b[32m', L2: '\x1b[33m', L3: '\x1b[31m' };
const RESET = '\x1b[0m';
/** Columns holding numbers are right-aligned so their digits line up. */
const NUMERIC = new Set([2, 4, 5, 6, 7, 8]);

/** Names come from traces: control characters would move the cursor of the user's terminal. */
function printable(text: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: that is the point
  return text.replace(/[\x00-\x1f\x7f-\x9f]/g, '?');
}

export function formatPlanTable(result: PlanResult, options: TableOptions = {}): string {
  const rows = [
    ROW_HEADERS.map((h) => h.toUpperCase()),
    ...result.modules.map((m) => rowCells(m).map(printable)),
  ];
  const widths = ROW_HEADERS.map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  const lines = rows.map((cells, r) =>
    cells
      .map((cell, i) => {
        const padded = NUMERIC.has(i) ? cell.padStart(widths[i]) : cell.padEnd(widths[i]);
        if (options.color && r > 0 && i === 1)
          return `${STAGE_COLOR[cell as Stage]}${cell}${RESET}${padded.slice(cell.length)}`;
        return padded;
      })
      .join('  ')
      .trimEnd(),
  );
  const out = [tracesLine(result), '', ...lines];
  if (result.modules.length === 0) out.push('(no modules: the traces hold no server spans)');
  if (result.warnings.length > 0) {
    out.push('', 'Warnings:');
    for (const w of result.warnings) out.push(`  ! ${w.kind}: ${printable(w.message)}`);
  }
  out.push('', FORMULA_LEGEND, '');
  return out.join('\n');
}
