// The terminal views of `cutover status`, `cutover rollout` and `cutover
// history`: what the admin API returned about rollouts, as plain aligned text
// (no colours: it is piped and pasted).
import type { GateResult, LedgerEntry, RolloutStatus } from '../rollout/index.ts';
import { table } from './diffs-format.ts';

/** Shown when no route has a rollout, with the one thing to do about it. */
export const NO_ROLLOUTS =
  'no rollouts: add a `rollout:` block to a route in the config file (docs/config.md, "Rollouts")';

const pad2 = (n: number): string => String(n).padStart(2, '0');

/** `45s`, `1m05s`, `2h03m`, `3d04h`: two units at most, enough to read at a glance. */
export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${pad2(s % 60)}s`;
  const h = Math.floor(m / 60);
  if (h < 24) return `${h}h${pad2(m % 60)}m`;
  return `${Math.floor(h / 24)}d${pad2(h % 24)}h`;
}

function gateValue(gate: GateResult, v: number | null): string {
  if (v === null) return '-';
  if (gate.unit === 'ratio') return `${(v * 100).toFixed(v !== 0 && v < 0.001 ? 3 : 2)}%`;
  if (gate.unit === 'ms') return `${Number(v.toFixed(1))}ms`;
  return String(Number(v.toFixed(3)));
}

/**
 * One gate in a table cell: `errorRate 0.00%≤0.30% ✓`, `p95 912ms>800ms ✗`,
 * `mismatchRate waiting`. The long form with sample sizes is describeGate's,
 * in the ledger and the JSON.
 */
export function formatGate(gate: GateResult): string {
  if (gate.status === 'waiting') return `${gate.name} waiting`;
  const v = gate.value;
  const over = v !== null && (gate.bound === 'max' ? v > gate.threshold : v < gate.threshold);
  const op = gate.bound === 'max' ? (over ? '>' : '≤') : over ? '<' : '≥';
  const mark = gate.status === 'passed' ? '✓' : '✗';
  return `${gate.name} ${gateValue(gate, v)}${op}${gateValue(gate, gate.threshold)} ${mark}`;
}

/** `2/5 (25%)`: the step in force, counted from 1; `-` outside canary and paused. */
export function formatStep(status: Pick<RolloutStatus, 'step' | 'steps'>): string {
  const { step, steps } = status;
  if (step === null || step >= steps.length) return '-';
  return `${step + 1}/${steps.length} (${steps[step]}%)`;
}

/** What the rollout waits for while it runs, else why it is where it is. */
const waitingOrReason = (s: RolloutStatus): string => s.waitingFor ?? s.reason;

/** A route without a rollout: its weight is set by hand. */
export interface ManualRoute {
  readonly name: string;
  readonly weight: number;
}

/**
 * Every route: the rollouts one line each, then the routes driven by hand
 * (state `manual`); NO_ROLLOUTS below when no route has a rollout.
 */
export function formatRollouts(
  rollouts: readonly RolloutStatus[],
  manual: readonly ManualRoute[] = [],
): string {
  if (rollouts.length === 0 && manual.length === 0) return NO_ROLLOUTS;
  const rows = [['ROUTE', 'STATE', 'STEP', 'WEIGHT', 'IN STATE', 'GATES', 'WAITING FOR / REASON']];
  for (const s of rollouts) {
    rows.push([
      s.configured ? s.route : `${s.route} (no rollout block)`,
      s.state,
      formatStep(s),
      `${s.weight}%`,
      s.since === null ? '-' : formatDuration(s.timeInStateMs),
      s.gates.length === 0 ? '-' : s.gates.map(formatGate).join(', '),
      waitingOrReason(s),
    ]);
  }
  for (const m of manual) {
    rows.push([m.name, 'manual', '-', `${m.weight}%`, '-', '-', 'no rollout: weight set by hand']);
  }
  return rollouts.length === 0 ? `${table(rows)}\n\n${NO_ROLLOUTS}` : table(rows);
}

/** One rollout after an action: a short block of labelled lines. */
export function formatRollout(s: RolloutStatus): string {
  const rows = [
    ['route', s.route],
    ['state', s.state],
    ['step', formatStep(s)],
    ['weight', `${s.weight}%`],
    ['reason', s.reason],
  ];
  if (s.waitingFor !== null) rows.push(['waiting for', s.waitingFor]);
  if (s.failures > 0) rows.push(['failures', `${s.failures} of ${s.failureLimit}`]);
  return table(rows);
}

/** `2024-05-01T12:00:03Z`: seconds are enough to read a history by. */
export function formatTime(iso: string): string {
  const t = new Date(iso);
  return Number.isNaN(t.getTime()) ? iso : t.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** `canary→paused` for a transition; a gate change or a confirm answer has no move, so its kind. */
function move(e: LedgerEntry): string {
  return e.kind === 'transition' ? `${e.from}→${e.to}` : e.kind;
}

function weightChange(e: LedgerEntry): string {
  return e.previousWeight === e.weight ? `${e.weight}%` : `${e.previousWeight}%→${e.weight}%`;
}

/** A route's rollout history, oldest first as the API returns it. */
export function formatHistory(route: string, history: readonly LedgerEntry[]): string {
  if (history.length === 0) return `no rollout history for route "${route}"`;
  const rows = [['TIME', 'BY', 'FROM→TO', 'WEIGHT', 'REASON']];
  for (const e of history) rows.push([formatTime(e.at), e.by, move(e), weightChange(e), e.reason]);
  return table(rows);
}
