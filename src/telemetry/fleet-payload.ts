// What one instance publishes for one second (the payload of the fleet
// store's FigureSlot, opaque to the store): for every route a rollout is
// reading, that second of each side's window and the route's running counts.
//
//   { "v": 1, "routes": { "<route>": {
//       "l"?: slot, "c"?: slot,   // legacy, candidate: window-slot-codec.ts; absent when the side had no request that second
//       "n": count,               // candidate requests since this process started
//       "s"?: [compared, mismatched, settled 0|1],  // shadow pairs since the route's shadow began here
//       "o"?: 1 } },             // the candidate's breaker is open
//     "q"?: { "<route>": {       // the dashboard's series (issue 14): every route with requests or shadow pairs
//       "l"?: side, "c"?: side,  // [requests, errors, bucket, count, bucket, count, …] (LATENCY_BUCKETS, +Inf last; non-zero only)
//       "m"?: [compared, mismatched] } },  // shadow pairs since the route's shadow began here
//     "e"?: { "b"?: [transition…], "n"?: [entry…] } }  // breaker transitions and ledger entries that move nothing
//
// One-letter keys: with little traffic a route's slots are a few dozen
// bytes, and the names the parsed form uses ("candidateCount"…) were half
// of a route's bytes (docs/decisions.md, "Fleet figures (issue 11)").
//
// Which routes: those with a sliding window on (a rollout reads them, on the
// leader or anywhere). Such a route is listed every second even when it had
// no request that second, so the leader always has its running counts and
// breaker state; a route without a window is never listed (nobody gates it).
// The running counts are cumulative, not per second: a lost or late second
// loses nothing of them, and the leader takes the last one of each instance.
//
// `q` and `e` are for every instance's dashboard (fleet-series.ts), not for
// the gates: a reader of version 1 without them ignores them, and a bad `q`
// or `e` costs that part alone, never the routes the gates read.
import { LATENCY_BUCKETS } from './request-stats.ts';
import type { WindowSlot } from './window-merge.ts';
import { decodeWindowSlot, encodeWindowSlot } from './window-slot-codec.ts';
import type { SlidingWindow } from './windows.ts';

export const FIGURES_PAYLOAD_VERSION = 1;

/** A route's shadow pairs as this process counts them (compare's ShadowTally, without `since`). */
export interface ShadowCounts {
  readonly compared: number;
  /** Judged by the noise known when read. */
  readonly mismatched: number;
  /** False while noise is still being learned. */
  readonly settled: boolean;
}

/** What the gateway hands over for one route (see buildFiguresPayload). */
export interface RouteFigureSource {
  readonly route: string;
  /** The side's window if one is kept (SideStats.activeWindow), else undefined. */
  readonly legacy: SlidingWindow | undefined;
  readonly candidate: SlidingWindow | undefined;
  /** SideStats.count of the candidate side. */
  readonly candidateCount: number;
  /** The route's shadow tally now; undefined without shadow. */
  readonly shadow: ShadowCounts | undefined;
  readonly candidateBreakerOpen: boolean;
}

/**
 * One side's second for the dashboard: [requests, errors, bucket, count, …],
 * the latency buckets (request-stats.ts LATENCY_BUCKETS, +Inf last) that
 * gained requests, by index. Prometheus' buckets, not the windows' HDR bins:
 * every route has them, rollout or not, and 14 numbers say a second.
 */
export type SeriesSide = readonly number[];

/** A route's second as the dashboard's series reads it. */
export interface SeriesRoutePayload {
  readonly legacy?: SeriesSide;
  readonly candidate?: SeriesSide;
  /** Shadow pairs compared and mismatched since the route's shadow began on the instance. */
  readonly shadow?: readonly [number, number];
}

/** A breaker transition as another instance's dashboard shows it (admin's `breaker` event). */
export interface BreakerEventPayload {
  readonly backend: string;
  readonly route: string;
  readonly from: string;
  readonly to: string;
  readonly reason: string;
  /** Epoch ms. */
  readonly at: number;
}

/** What happened on an instance in a second that every dashboard should hear of. */
export interface FleetEventsPayload {
  readonly breakers: readonly BreakerEventPayload[];
  /** Ledger entries (rollout's LedgerEntry, opaque here) that move no rollout: gate changes, confirmations, notes. */
  readonly notes: readonly Record<string, unknown>[];
}

/** The parts of a payload beside the routes (undefined parts: absent or malformed). */
export interface PayloadExtras {
  readonly series?: ReadonlyMap<string, SeriesRoutePayload>;
  readonly events?: FleetEventsPayload;
}

/** One route of a parsed payload. */
export interface RoutePayload {
  readonly legacy: WindowSlot | undefined;
  readonly candidate: WindowSlot | undefined;
  readonly candidateCount: number;
  readonly shadow: ShadowCounts | undefined;
  readonly candidateBreakerOpen: boolean;
}

/** A route on the wire (see the file's head). */
interface WireRoute {
  l?: string;
  c?: string;
  n: number;
  s?: [number, number, 0 | 1];
  o?: 1;
}

/**
 * The payload of `second` (epoch seconds, a complete one: request-stats.ts
 * `lastCompleteSecond()`), or undefined when no route has a window on
 * (nothing to publish). The gateway calls it once a second with every route
 * that has a candidate:
 *
 *   buildFiguresPayload(routes.map((r) => ({ route: r.name,
 *     legacy: legacyStats.activeWindow, candidate: candidateStats.activeWindow,
 *     candidateCount: candidateStats.count, shadow: r.shadow?.results.tally(),
 *     candidateBreakerOpen: r.candidateBreaker?.state === 'open' })), second)
 */
export function buildFiguresPayload(
  sources: Iterable<RouteFigureSource>,
  second: number,
  extras: PayloadExtras = {},
): string | undefined {
  // No prototype: a route named "__proto__" is a key like any other.
  const routes: Record<string, WireRoute> = Object.create(null);
  let any = false;
  for (const s of sources) {
    if (s.legacy === undefined && s.candidate === undefined) continue;
    const entry: WireRoute = { n: s.candidateCount };
    const legacy = s.legacy?.slotAt(second);
    if (legacy !== undefined) entry.l = encodeWindowSlot(legacy);
    const candidate = s.candidate?.slotAt(second);
    if (candidate !== undefined) entry.c = encodeWindowSlot(candidate);
    if (s.shadow !== undefined) {
      const { compared, mismatched, settled } = s.shadow;
      entry.s = [compared, mismatched, settled ? 1 : 0];
    }
    if (s.candidateBreakerOpen) entry.o = 1;
    routes[s.route] = entry;
    any = true;
  }
  const wire: Record<string, unknown> = { v: FIGURES_PAYLOAD_VERSION, routes };
  const { series, events } = extras;
  if (series !== undefined) {
    const q: Record<string, { l?: SeriesSide; c?: SeriesSide; m?: readonly [number, number] }> =
      Object.create(null);
    for (const [name, r] of series) {
      q[name] = {
        ...(r.legacy && { l: r.legacy }),
        ...(r.candidate && { c: r.candidate }),
        ...(r.shadow && { m: r.shadow }),
      };
    }
    // Said even when empty: an instance with nothing to report still says it is there.
    wire.q = q;
    any = true;
  }
  if (events !== undefined && (events.breakers.length > 0 || events.notes.length > 0)) {
    wire.e = {
      ...(events.breakers.length > 0 && { b: events.breakers }),
      ...(events.notes.length > 0 && { n: events.notes }),
    };
    any = true;
  }
  return any ? JSON.stringify(wire) : undefined;
}

const isCount = (n: unknown): n is number => Number.isSafeInteger(n) && (n as number) >= 0;
const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

function parseShadow(v: unknown): ShadowCounts | undefined | null {
  if (v === undefined) return undefined;
  if (!Array.isArray(v) || v.length !== 3) return null;
  const [compared, mismatched, settled] = v as unknown[];
  if (!isCount(compared) || !isCount(mismatched) || mismatched > compared) return null;
  if (settled !== 0 && settled !== 1) return null;
  return { compared, mismatched, settled: settled === 1 };
}

function parseSlot(v: unknown): WindowSlot | undefined | null {
  if (v === undefined) return undefined;
  return typeof v === 'string' ? (decodeWindowSlot(v) ?? null) : null;
}

/** null: the entry is malformed. */
function parseRoute(v: unknown): RoutePayload | null {
  if (!isObject(v) || !isCount(v.n)) return null;
  const legacy = parseSlot(v.l);
  const candidate = parseSlot(v.c);
  const shadow = parseShadow(v.s);
  if (legacy === null || candidate === null || shadow === null) return null;
  if (v.o !== undefined && v.o !== 1) return null;
  return { legacy, candidate, candidateCount: v.n, shadow, candidateBreakerOpen: v.o === 1 };
}

/**
 * The routes of a payload, or undefined when it is not a version-1 payload
 * in every part (bad JSON, a bad slot, a negative count…): one bad route
 * rejects the whole second, since a half-read second would under-count the
 * instance. Never throws; the caller counts the rejects (FleetFigures does).
 */
export function parseFiguresPayload(text: string): Map<string, RoutePayload> | undefined {
  return parseFleetPayload(text)?.routes;
}

/** A whole payload: the routes as parseFiguresPayload reads them, and the extras each read alone. */
export interface ParsedFleetPayload extends PayloadExtras {
  readonly routes: Map<string, RoutePayload>;
}

/**
 * The routes and the extras of a payload; undefined as parseFiguresPayload.
 * A malformed `q` or `e` is left out (undefined) and the rest kept.
 */
export function parseFleetPayload(text: string): ParsedFleetPayload | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!isObject(parsed) || parsed.v !== FIGURES_PAYLOAD_VERSION || !isObject(parsed.routes)) {
    return undefined;
  }
  const routes = new Map<string, RoutePayload>();
  for (const [name, value] of Object.entries(parsed.routes)) {
    const route = parseRoute(value);
    if (route === null) return undefined;
    routes.set(name, route);
  }
  const series = parseSeries(parsed.q);
  const events = parseEvents(parsed.e);
  return { routes, ...(series && { series }), ...(events && { events }) };
}

/** Buckets a series side may name: LATENCY_BUCKETS and +Inf. */
const SERIES_BUCKETS = LATENCY_BUCKETS.length + 1;

function isSeriesSide(v: unknown): v is SeriesSide {
  if (!Array.isArray(v) || v.length < 2 || v.length % 2 !== 0) return false;
  if (!v.every(isCount) || v[1] > v[0]) return false;
  for (let i = 2; i < v.length; i += 2) if (v[i] >= SERIES_BUCKETS) return false;
  return true;
}

function parseSeries(v: unknown): Map<string, SeriesRoutePayload> | undefined {
  if (!isObject(v)) return undefined;
  const out = new Map<string, SeriesRoutePayload>();
  for (const [name, r] of Object.entries(v)) {
    if (!isObject(r)) return undefined;
    const { l, c, m } = r;
    if (l !== undefined && !isSeriesSide(l)) return undefined;
    if (c !== undefined && !isSeriesSide(c)) return undefined;
    const shadow =
      Array.isArray(m) && m.length === 2 && isCount(m[0]) && isCount(m[1]) && m[1] <= m[0]
        ? ([m[0], m[1]] as const)
        : undefined;
    if (m !== undefined && shadow === undefined) return undefined;
    out.set(name, {
      ...(l !== undefined && { legacy: l }),
      ...(c !== undefined && { candidate: c }),
      ...(shadow && { shadow }),
    });
  }
  return out;
}

const BREAKER_FIELDS = ['backend', 'route', 'from', 'to', 'reason'] as const;

function isBreakerEvent(v: unknown): v is BreakerEventPayload {
  return (
    isObject(v) &&
    BREAKER_FIELDS.every((f) => typeof v[f] === 'string') &&
    Number.isSafeInteger(v.at)
  );
}

function parseEvents(v: unknown): FleetEventsPayload | undefined {
  if (!isObject(v)) return undefined;
  const { b = [], n = [] } = v;
  if (!Array.isArray(b) || !b.every(isBreakerEvent)) return undefined;
  if (!Array.isArray(n) || !n.every((e) => isObject(e) && typeof e.route === 'string')) {
    return undefined;
  }
  return { breakers: b, notes: n as Record<string, unknown>[] };
}
