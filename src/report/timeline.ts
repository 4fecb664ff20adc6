// The rollout timeline from the ledger entries (docs/report.md "Timeline"):
// what each entry was (a step, a pause, a rollback …), the weight after it,
// and the failed gates behind a rollback or a failed check.
import type {
  RouteReport,
  TimelineEvent,
  TimelineEventKind,
  TimelineInput,
} from './report-types.ts';

/** What a ledger entry did, in the timeline's words. */
export function eventKind(entry: TimelineInput): TimelineEventKind {
  if (entry.kind === 'gates') {
    return entry.gates.some((g) => g.status === 'failed') ? 'gate-failure' : 'other';
  }
  if (entry.kind !== 'transition') return 'other';
  switch (entry.to) {
    case 'rolled-back':
      return 'rollback';
    case 'done':
      return 'promote';
    case 'paused':
      return 'pause';
    case 'shadow':
      return 'shadow';
    case 'off':
      return 'off';
    case 'canary':
      if (entry.from === 'paused' && entry.weight === entry.previousWeight) return 'resume';
      return 'step';
    default:
      return 'other';
  }
}

/**
 * Ledger entries in the span, oldest first (ties keep the input order),
 * without the checks that changed nothing (`gates` entries where no gate failed).
 */
export function buildTimeline(
  entries: readonly TimelineInput[],
  from: number,
  until: number,
): TimelineEvent[] {
  const events: TimelineEvent[] = [];
  for (const entry of entries) {
    const at = Date.parse(entry.at);
    if (!(at >= from && at < until)) continue;
    const event = eventKind(entry);
    if (event === 'other' && entry.kind === 'gates') continue;
    events.push({
      at,
      route: entry.route,
      event,
      from: entry.from,
      to: entry.to,
      previousWeight: entry.previousWeight,
      weight: entry.weight,
      by: entry.by,
      reason: entry.reason,
      failedGates: entry.gates.filter((g) => g.status === 'failed'),
    });
  }
  // Array.prototype.sort is stable: entries at the same instant keep the ledger's order.
  return events.sort((a, b) => a.at - b.at);
}

/** The route's weight after every event that changed it (or rolled it back), for the step chart. */
export function weightsOf(events: readonly TimelineEvent[], route: string): RouteReport['weights'] {
  const weights: { at: number; weight: number; rollback: boolean }[] = [];
  for (const e of events) {
    if (e.route !== route || e.event === 'gate-failure') continue;
    const rollback = e.event === 'rollback';
    if (!rollback && e.weight === e.previousWeight && weights.length > 0) continue;
    if (weights.length === 0 && e.previousWeight !== e.weight) {
      weights.push({ at: e.at, weight: e.previousWeight, rollback: false });
    }
    weights.push({ at: e.at, weight: e.weight, rollback });
  }
  return weights;
}
