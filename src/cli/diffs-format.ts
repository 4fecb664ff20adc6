// The terminal report of `cutover diffs ROUTE`: what GET /api/routes/{name}/diffs
// returned, as plain aligned text (no colours: it is piped and pasted).
import type { LatencyPercentiles, ShadowResultsJSON } from '../gateway/index.ts';

/** Samples shown; the API returns more for tools that want them. */
const SHOWN_SAMPLES = 3;

/** Rows as left-aligned columns two spaces apart (the CLI's one table layout). */
export function table(rows: readonly (readonly string[])[]): string {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((row) => row[i].length)));
  return rows
    .map((row) =>
      row
        .map((c, i) => c.padEnd(widths[i]))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

function percent(ratio: number): string {
  return `${(ratio * 100).toFixed(ratio > 0 && ratio < 0.001 ? 3 : 1)}%`;
}

function ms(v: number | null): string {
  return v === null ? '-' : `${Number(v.toFixed(1))} ms`;
}

function times(v: number | null): string {
  return v === null ? '-' : `${v.toFixed(2)}×`;
}

/** A field value on one line: JSON text, `(missing)` when that side had none. */
function shown(v: unknown): string {
  return v === undefined ? '(missing)' : (JSON.stringify(v) ?? String(v));
}

function summaryLine(s: ShadowResultsJSON['summary']): string {
  const skipped = Object.entries(s.skipped).filter(([, n]) => n > 0);
  const total = skipped.reduce((sum, [, n]) => sum + n, 0);
  const reasons = skipped.map(([r, n]) => `${r} ${n}`).join(', ');
  const line =
    `route ${s.route}: compared ${s.compared}, matched ${s.matched}, ` +
    `mismatched ${s.mismatched} (${percent(s.mismatchRatio)}), ` +
    `skipped ${total}${reasons === '' ? '' : ` (${reasons})`}`;
  const notes: string[] = [];
  if (!s.settled) notes.push('noise still being learned: the ratio may still fall');
  if (s.overflowPairs > 0) {
    notes.push(`${s.overflowPairs} mismatched pairs past the field sets kept (always counted)`);
  }
  return notes.length === 0 ? line : `${line}\n${notes.join('\n')}`;
}

function latencyTable(l: ShadowResultsJSON['latency']): string {
  const row = (name: keyof LatencyPercentiles) => [
    name,
    ms(l.legacy[name]),
    ms(l.candidate[name]),
    times(l.ratio[name]),
  ];
  return table([['LATENCY', 'LEGACY', 'CANDIDATE', 'RATIO'], row('p50'), row('p95'), row('p99')]);
}

function fieldTable(fields: ShadowResultsJSON['fields']): string {
  const rows = [['FIELD', 'RAW', 'NOISE', 'KINDS', 'LAST LEGACY → LAST CANDIDATE']];
  for (const f of fields) {
    const kinds = Object.entries(f.kinds)
      .map(([k, n]) => `${k}:${n}`)
      .join(' ');
    rows.push([
      f.pattern,
      String(f.raw),
      String(f.noise),
      kinds,
      `${shown(f.lastLegacy)} → ${shown(f.lastCandidate)}`,
    ]);
  }
  return table(rows);
}

function sampleText(s: ShadowResultsJSON['samples'][number]): string {
  const lines = [
    `${s.at}  ${s.method} ${s.url}`,
    `  status ${s.legacyStatus} → ${s.candidateStatus}, ${ms(s.legacyMs)} → ${ms(s.candidateMs)}`,
  ];
  if (s.diff === '') lines.push('  (bodies equal after normalisation)');
  else for (const line of s.diff.split('\n')) lines.push(`  ${line}`);
  return lines.join('\n');
}

/** The readable report of one route's shadow results. */
export function formatDiffs(json: ShadowResultsJSON): string {
  const parts = [summaryLine(json.summary)];
  parts.push(
    json.latency.pairs === 0
      ? 'paired latency: no pairs yet'
      : `paired latency (${json.latency.pairs} pairs)\n${latencyTable(json.latency)}`,
  );
  parts.push(json.fields.length === 0 ? 'no field differences' : fieldTable(json.fields));
  const samples = json.samples.slice(0, SHOWN_SAMPLES);
  if (samples.length > 0) {
    const of = json.samples.length > samples.length ? ` of ${json.samples.length}` : '';
    parts.push(
      `newest ${samples.length}${of} mismatch samples\n\n${samples.map(sampleText).join('\n\n')}`,
    );
  }
  return parts.join('\n\n');
}
