// What one instance publishes for one second (the payload of the fleet
// store's FigureSlot, opaque to the store): for every route a rollout is
// reading, that second of each side's window and the route's running counts.
//
//   { "v": 1, "routes": { "<route>": {
//       "legacy"?: slot, "candidate"?: slot,   // window-slot-codec.ts; absent when the side had no request that second
//       "candidateCount": n,                   // candidate requests since this process started
//       "shadow"?: { "compared": n, "mismatched": n, "settled": bool },  // since the route's shadow began here
//       "candidateBreakerOpen"?: true } } }
//
// Which routes: those with a sliding window on (a rollout reads them, on the
// leader or anywhere). Such a route is listed every second even when it had
// no request that second, so the leader always has its running counts and
// breaker state; a route without a window is never listed (nobody gates it).
// The running counts are cumulative, not per second: a lost or late second
// loses nothing of them, and the leader takes the last one of each instance.
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

/** One route of a parsed payload. */
export interface RoutePayload {
  readonly legacy: WindowSlot | undefined;
  readonly candidate: WindowSlot | undefined;
  readonly candidateCount: number;
  readonly shadow: ShadowCounts | undefined;
  readonly candidateBreakerOpen: boolean;
}

interface WireRoute {
  legacy?: string;
  candidate?: string;
  candidateCount: number;
  shadow?: ShadowCounts;
  candidateBreakerOpen?: true;
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
): string | undefined {
  // No prototype: a route named "__proto__" is a key like any other.
  const routes: Record<string, WireRoute> = Object.create(null);
  let any = false;
  for (const s of sources) {
    if (s.legacy === undefined && s.candidate === undefined) continue;
    const entry: WireRoute = { candidateCount: s.candidateCount };
    const legacy = s.legacy?.slotAt(second);
    if (legacy !== undefined) entry.legacy = encodeWindowSlot(legacy);
    const candidate = s.candidate?.slotAt(second);
    if (candidate !== undefined) entry.candidate = encodeWindowSlot(candidate);
    if (s.shadow !== undefined) {
      const { compared, mismatched, settled } = s.shadow;
      entry.shadow = { compared, mismatched, settled };
    }
    if (s.candidateBreakerOpen) entry.candidateBreakerOpen = true;
    routes[s.route] = entry;
    any = true;
  }
  return any ? JSON.stringify({ v: FIGURES_PAYLOAD_VERSION, routes }) : undefined;
}

const isCount = (n: unknown): n is number => Number.isSafeInteger(n) && (n as number) >= 0;
const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

function parseShadow(v: unknown): ShadowCounts | undefined | null {
  if (v === undefined) return undefined;
  if (!isObject(v)) return null;
  const { compared, mismatched, settled } = v;
  if (!isCount(compared) || !isCount(mismatched) || mismatched > compared) return null;
  if (typeof settled !== 'boolean') return null;
  return { compared, mismatched, settled };
}

function parseSlot(v: unknown): WindowSlot | undefined | null {
  if (v === undefined) return undefined;
  return typeof v === 'string' ? (decodeWindowSlot(v) ?? null) : null;
}

/** null: the entry is malformed. */
function parseRoute(v: unknown): RoutePayload | null {
  if (!isObject(v) || !isCount(v.candidateCount)) return null;
  const legacy = parseSlot(v.legacy);
  const candidate = parseSlot(v.candidate);
  const shadow = parseShadow(v.shadow);
  const open = v.candidateBreakerOpen;
  if (legacy === null || candidate === null || shadow === null) return null;
  if (open !== undefined && typeof open !== 'boolean') return null;
  return {
    legacy,
    candidate,
    candidateCount: v.candidateCount,
    shadow,
    candidateBreakerOpen: !!open,
  };
}

/**
 * The routes of a payload, or undefined when it is not a version-1 payload
 * in every part (bad JSON, a bad slot, a negative count…): one bad route
 * rejects the whole second, since a half-read second would under-count the
 * instance. Never throws; the caller counts the rejects (FleetFigures does).
 */
export function parseFiguresPayload(text: string): Map<string, RoutePayload> | undefined {
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
  return routes;
}
