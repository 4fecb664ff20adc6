// Minute history rows for report tests, built the way the gateway builds
// them: the latencies are recorded in a real SlidingWindow and read back
// with slotAt, so the bins are the ones production writes.
import type { TimelineInput } from '../../src/report/index.ts';
import { type RouteHistory, SlidingWindow, type WindowSlot } from '../../src/telemetry/index.ts';

const T = 1_700_000_000_000;

/** A slot holding `latencies` (ms); the first `failures` of them count as failed (5xx class). */
export function slotFrom(latencies: readonly number[], failures = 0): WindowSlot {
  const window = new SlidingWindow({ retainSeconds: 2, clock: () => T });
  latencies.forEach((ms, i) => {
    window.record(i < failures ? 500 : 200, ms, i < failures, T);
  });
  const slot = window.slotAt(Math.floor(T / 1000));
  if (slot === undefined) throw new Error('slotFrom needs at least one latency');
  return slot;
}

export type HistoryMinute = RouteHistory['minutes'][number];

/** A minute row with defaults: no breaker opening, no shadow, one instance. */
export function minuteRow(
  minute: number,
  sides: Partial<Omit<HistoryMinute, 'minute'>>,
): HistoryMinute {
  return {
    minute,
    legacy: sides.legacy,
    candidate: sides.candidate,
    breakerOpenings: sides.breakerOpenings ?? { legacy: 0, candidate: 0 },
    shadow: sides.shadow,
    instances: sides.instances ?? 1,
  };
}

/**
 * The value HDR answers for percentile `p` of `values`, computed exactly:
 * the value at rank max(1, round(p/100 · n)) of the sorted values (what
 * getValueAtPercentile ranks; it then answers the top of that value's bin).
 */
export function exactPercentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.max(1, Math.floor((p / 100) * sorted.length + 0.5));
  return sorted[rank - 1];
}

/** A ledger entry as the report reads it: a canary transition unless `fields` say otherwise. */
export function timelineEntry(
  at: number,
  route: string,
  fields: Partial<TimelineInput>,
): TimelineInput {
  return {
    at: new Date(at).toISOString(),
    route,
    kind: 'transition',
    from: 'canary',
    to: 'canary',
    step: null,
    previousWeight: 0,
    weight: 0,
    by: 'controller',
    reason: '',
    failures: 0,
    gates: [],
    ...fields,
  };
}
