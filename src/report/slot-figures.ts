// Figures of a set of minute slots: the percentiles as the gates compute
// them (telemetry's SlotMerge: the top of the HDR bin, capped at the exact
// max), and the bins as a weighted sample for the rank test.
import {
  latencyBinIndex,
  MAX_UNITS,
  SlotMerge,
  UNITS_PER_MS,
  type WindowSlot,
} from '../telemetry/index.ts';
import { figure, type SideFigures } from './report-types.ts';
import type { WeightedValue } from './weighted-sample.ts';

/** Bin indexes fit 16 bits (WindowSlot.bins is a Uint16Array). */
const BIN_SLOTS = 65_536;

/** One merge reused by every call: the report runs on one thread, one figure at a time. */
const MERGE = new SlotMerge();

/** Counts, error rate and p50/p95/p99 (ms) of `slots` merged; n/a figures when there is no request. */
export function sideFigures(slots: readonly WindowSlot[]): SideFigures {
  MERGE.reset();
  for (const slot of slots) MERGE.addSlot(0, slot);
  const s = MERGE.snapshot(0);
  const none = 'no request';
  const has = s.requests > 0;
  return {
    requests: s.requests,
    errors: s.errors,
    errorRate: figure(has ? s.errorRate : undefined, none),
    p50: figure(has ? s.p50 : undefined, none),
    p95: figure(has ? s.p95 : undefined, none),
    p99: figure(has ? s.p99 : undefined, none),
  };
}

/** The requests of `slot`. */
export function slotRequests(slot: WindowSlot): number {
  const c = slot.byClass;
  return c[0] + c[1] + c[2] + c[3] + c[4];
}

/** Bin index → its top value in ms (what HDR answers for a percentile in it); filled as bins are met. */
const BIN_TOP_MS = new Map<number, number>();

/**
 * The highest 10 µs unit that falls in `bin`, by binary search over
 * latencyBinIndex (monotone over 1..MAX_UNITS): the report does not repeat
 * the HDR layout arithmetic, it asks the function the window records with.
 */
function binTopMs(bin: number): number {
  const known = BIN_TOP_MS.get(bin);
  if (known !== undefined) return known;
  let low = 1;
  let high = MAX_UNITS;
  while (low < high) {
    const mid = Math.ceil((low + high) / 2);
    if (latencyBinIndex(mid) <= bin) low = mid;
    else high = mid - 1;
  }
  const ms = low / UNITS_PER_MS;
  BIN_TOP_MS.set(bin, ms);
  return ms;
}

/** The latencies of `slots` as a weighted sample: each bin's top value (ms) and its count. */
export function latencySample(slots: readonly WindowSlot[]): WeightedValue[] {
  // A dense array, not a Map: a month of minutes is 43,200 slots of dozens of bins each.
  const counts = new Float64Array(BIN_SLOTS);
  for (const s of slots) {
    for (let i = 0; i < s.bins.length; i++) counts[s.bins[i]] += s.counts[i];
  }
  const sample: WeightedValue[] = [];
  for (let bin = 0; bin < BIN_SLOTS; bin++) {
    if (counts[bin] > 0) sample.push({ value: binTopMs(bin), count: counts[bin] });
  }
  return sample;
}
