// What the three fleets share about minute-history rows: their order, their
// key, and how far one write prunes.
import type { HistoryRow } from './fleet.ts';

/** One write drops at most this much of the oldest history: a shortened retention is caught up over several writes. */
export const HISTORY_PRUNE_SPAN_MS = 3_600_000;

/** Minute, route, kind, side, instance: the order readHistory answers in. */
export function compareHistoryRows(a: HistoryRow, b: HistoryRow): number {
  return (
    a.minute - b.minute ||
    cmp(a.route, b.route) ||
    cmp(a.kind, b.kind) ||
    cmp(a.side, b.side) ||
    cmp(a.instance, b.instance)
  );
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** A row's key within its minute, unambiguous whatever the names hold; its route comes first so a reader can filter by prefix. */
export function historyField(row: Omit<HistoryRow, 'minute' | 'payload'>): string {
  return JSON.stringify([row.route, row.kind, row.side, row.instance]);
}

/** The prefix of every historyField of `route`. */
export function historyRoutePrefix(route: string): string {
  return `${JSON.stringify([route]).slice(0, -1)},`;
}

/** The row a historyField and its minute and payload stand for, or undefined when the field is not one. */
export function historyRowOf(
  minute: number,
  field: string,
  payload: string,
): HistoryRow | undefined {
  let parts: unknown;
  try {
    parts = JSON.parse(field);
  } catch {
    return undefined;
  }
  if (!Array.isArray(parts) || parts.length !== 4 || !parts.every((p) => typeof p === 'string'))
    return undefined;
  const [route, kind, side, instance] = parts as string[];
  return { kind, route, side, minute, instance, payload };
}
