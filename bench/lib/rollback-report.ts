// The rollback benchmark's summary: per variant the rollback times' median, p90 and
// max, what rolled back, and what clients saw, as a markdown block for RESULTS.md.
import type { Tally } from './open-loop.ts';

export interface Trial {
  n: number;
  /** Fault on → first admin answer with weight 0 (in a fleet, on the last instance to show it), ms; undefined on timeout. */
  ms: number | undefined;
  /** In a fleet: fault on → weight 0 on the first instance to show it. */
  firstMs?: number;
  state: string;
  reason: string;
  /** Requests sent from the fault's start until weight 0 was seen. */
  tally: Tally;
}

export interface VariantResult {
  variant: string;
  about: string;
  /** In a fleet: which instance held the lease. */
  leader?: string;
  trials: Trial[];
  rates: { offered: number; answered: number };
  /** Requests sent outside the trials (warm-up, recovery). */
  outside: Tally;
  /** Why the healthy candidate was rolled back during a warm-up, one entry per time. */
  spurious: string[];
}

export interface RunFacts {
  date: string;
  machine: string;
  node: string;
  pinning: string;
  settings: string;
  runSeconds: number;
  /** The target line, e.g. "weight 0 within 5 s". */
  target: string;
  /** Trials at or under this count as on target. */
  targetMs: number;
}

/** Nearest-rank percentile (p90 of 10 values is the 9th smallest). */
function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)];
}

/** A rollback reason without its figures, to count alike ones: "hard trip: …", "gates failed …". */
function kindOf(reason: string): string {
  if (reason.startsWith('hard trip')) return 'hard trip (breaker)';
  if (reason.startsWith('gates failed')) return 'gates';
  return reason;
}

function variantBlock(r: VariantResult, targetMs: number): string {
  const times = r.trials
    .map((t) => t.ms)
    .filter((ms): ms is number => ms !== undefined)
    .sort((a, b) => a - b);
  const timeouts = r.trials.length - times.length;
  const kinds = new Map<string, number>();
  for (const t of r.trials) kinds.set(kindOf(t.reason), (kinds.get(kindOf(t.reason)) ?? 0) + 1);
  const sent = r.trials.reduce((n, t) => n + t.tally.sent, 0);
  const notOk = r.trials.reduce((n, t) => n + t.tally.notOk, 0);
  const fmt = (ms: number | undefined) => (ms === undefined ? '–' : `${ms.toFixed(0)} ms`);
  const fleet = r.trials.some((t) => t.firstMs !== undefined);
  const firsts = r.trials
    .flatMap((t) => (t.firstMs === undefined ? [] : [t.firstMs]))
    .sort((a, b) => a - b);
  const lines = [
    `#### ${r.variant}: ${r.about}`,
    '',
    fleet
      ? '| trial | fault → weight 0 on every instance | on the first | rolled back by | client non-2xx / sent |'
      : '| trial | fault → weight 0 | rolled back by | client non-2xx / sent |',
    fleet ? '|---|---|---|---|---|' : '|---|---|---|---|',
    ...r.trials.map(
      (t) =>
        `| ${t.n} | ${t.ms === undefined ? 'timeout' : fmt(t.ms)} |${fleet ? ` ${fmt(t.firstMs)} |` : ''} ${t.reason.replaceAll('|', '\\|')} | ${t.tally.notOk} / ${t.tally.sent} |`,
    ),
    '',
    `- rollback: median **${fmt(times.length ? percentile(times, 50) : undefined)}**, p90 ${fmt(
      times.length ? percentile(times, 90) : undefined,
    )}, max ${fmt(times.at(-1))}${timeouts ? `, ${timeouts} timed out` : ''}; ${[2000, 5000]
      .map((limit) => `within ${limit / 1000} s: ${times.filter((ms) => ms <= limit).length}`)
      .join(', ')} of ${r.trials.length} (target ${targetMs / 1000} s)`,
    ...(fleet
      ? [
          `- weight 0 on the first instance: median ${fmt(firsts.length ? percentile(firsts, 50) : undefined)}, max ${fmt(firsts.at(-1))}` +
            `; leader: ${r.leader ?? 'unknown'}`,
        ]
      : []),
    `- rolled back by: ${[...kinds].map(([k, n]) => `${k} ×${n}`).join(', ')}`,
    `- load: ${r.rates.offered.toFixed(0)} requests/s offered, ${r.rates.answered.toFixed(0)}/s answered`,
    `- client-visible non-2xx during trials: ${notOk} of ${sent} (${((100 * notOk) / Math.max(1, sent)).toFixed(2)}%)` +
      `; outside trials: ${r.outside.notOk} of ${r.outside.sent} (${r.outside.describe()})`,
    `- rollbacks of the healthy candidate during warm-ups (trial restarted): ${r.spurious.length}`,
    ...r.spurious.map((why) => `  - ${why}`),
  ];
  return lines.join('\n');
}

export function formatSummary(results: readonly VariantResult[], facts: RunFacts): string {
  return [
    '```markdown',
    `### ${facts.date.slice(0, 10)} — rollback time (bench/rollback.ts)`,
    '',
    `- machine: ${facts.machine}; ${facts.pinning}`,
    `- Node: ${facts.node}; date ${facts.date}; run took ${facts.runSeconds.toFixed(0)} s`,
    `- ${facts.settings}`,
    `- target: ${facts.target}`,
    '',
    ...results.flatMap((r) => [variantBlock(r, facts.targetMs), '']),
    '```',
  ].join('\n');
}
