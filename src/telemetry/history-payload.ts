// The payloads of the report's minute-history rows (the state store keeps
// them as opaque strings) and the merge of two instances' slots of one
// minute. JSON around telemetry's slot codec (window-slot-codec.ts): a
// reader of another version meets a field it does not know, not a byte
// layout it misreads. Decoding never throws: rows come from other processes.
import type { ShadowMinute } from './history-types.ts';
import { CLASSES } from './window-histogram.ts';
import type { WindowSlot } from './window-merge.ts';
import { decodeWindowSlot, encodeWindowSlot } from './window-slot-codec.ts';

/** The store's `kind` of a route × side row and of a route's shadow row. */
export const ROUTE_KIND = 'route';
export const SHADOW_KIND = 'shadow';

/** ShadowMinute.fields holds at most this many paths (history-types.ts). */
export const TOP_FIELDS = 20;

/** One route × side minute: `{ slot, breakerOpenings }`. */
export function encodeRoutePayload(slot: WindowSlot, breakerOpenings: number): string {
  return JSON.stringify({ slot: encodeWindowSlot(slot), breakerOpenings });
}

export function decodeRoutePayload(
  text: string,
): { slot: WindowSlot; breakerOpenings: number } | undefined {
  const o = parseObject(text);
  if (!o || typeof o.slot !== 'string') return undefined;
  const slot = decodeWindowSlot(o.slot);
  const breakerOpenings = count(o.breakerOpenings);
  return slot && breakerOpenings !== undefined ? { slot, breakerOpenings } : undefined;
}

export type ShadowFigures = Omit<ShadowMinute, 'route' | 'minute' | 'instance'>;

/** One route's shadow minute: counts, the top fields, the paired latencies as encoded slots. */
export function encodeShadowPayload(s: ShadowFigures): string {
  return JSON.stringify({
    compared: s.compared,
    mismatched: s.mismatched,
    fields: s.fields,
    legacy: s.legacy && encodeWindowSlot(s.legacy),
    candidate: s.candidate && encodeWindowSlot(s.candidate),
  });
}

export function decodeShadowPayload(text: string): ShadowFigures | undefined {
  const o = parseObject(text);
  if (!o) return undefined;
  const compared = count(o.compared);
  const mismatched = count(o.mismatched);
  if (compared === undefined || mismatched === undefined || mismatched > compared) return undefined;
  const fields: Record<string, number> = {};
  if (typeof o.fields !== 'object' || o.fields === null || Array.isArray(o.fields))
    return undefined;
  for (const [path, n] of Object.entries(o.fields as Record<string, unknown>)) {
    const c = count(n);
    if (c === undefined) return undefined;
    fields[path] = c;
  }
  const side = (v: unknown): WindowSlot | undefined | false =>
    v === undefined || v === null
      ? undefined
      : typeof v === 'string'
        ? (decodeWindowSlot(v) ?? false)
        : false;
  const legacy = side(o.legacy);
  const candidate = side(o.candidate);
  if (legacy === false || candidate === false) return undefined;
  return { compared, mismatched, fields, legacy, candidate };
}

/** Both slots' requests in one: class counts add, bins merge, the max is the larger. */
export function mergeSlots(a: WindowSlot | undefined, b: WindowSlot): WindowSlot {
  if (a === undefined) return b;
  const byClass = [0, 0, 0, 0, 0] as [number, number, number, number, number];
  for (let c = 0; c < CLASSES; c++) byClass[c] = a.byClass[c] + b.byClass[c];
  const bins: number[] = [];
  const counts: number[] = [];
  let i = 0;
  let j = 0;
  while (i < a.bins.length || j < b.bins.length) {
    const ai = i < a.bins.length ? a.bins[i] : Number.POSITIVE_INFINITY;
    const bj = j < b.bins.length ? b.bins[j] : Number.POSITIVE_INFINITY;
    if (ai === bj) {
      bins.push(ai);
      counts.push(a.counts[i++] + b.counts[j++]);
    } else if (ai < bj) {
      bins.push(ai);
      counts.push(a.counts[i++]);
    } else {
      bins.push(bj);
      counts.push(b.counts[j++]);
    }
  }
  return {
    byClass,
    maxUnits: Math.max(a.maxUnits, b.maxUnits),
    bins: Uint16Array.from(bins),
    counts: Uint32Array.from(counts),
  };
}

/** The `limit` most frequent paths (ties by name), as ShadowMinute.fields keeps them. */
export function topFields(
  fields: ReadonlyMap<string, number> | Readonly<Record<string, number>>,
  limit = TOP_FIELDS,
): Record<string, number> {
  const entries = fields instanceof Map ? [...fields] : Object.entries(fields);
  entries.sort((x, y) => y[1] - x[1] || (x[0] < y[0] ? -1 : 1));
  return Object.fromEntries(entries.slice(0, limit));
}

function parseObject(text: string): Record<string, unknown> | undefined {
  try {
    const o: unknown = JSON.parse(text);
    return typeof o === 'object' && o !== null && !Array.isArray(o)
      ? (o as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

function count(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 ? v : undefined;
}
