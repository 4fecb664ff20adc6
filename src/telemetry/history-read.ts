// The report's minute history, read back: every instance's rows of a span,
// decoded and merged per route and minute (counts add, histograms merge,
// instances counted) into the RouteHistory the report builder reads.
import {
  decodeRoutePayload,
  decodeShadowPayload,
  mergeSlots,
  ROUTE_KIND,
  SHADOW_KIND,
  type ShadowFigures,
  topFields,
} from './history-payload.ts';
import type { RouteHistory } from './history-types.ts';
import type { HistoryRowOut } from './minute-history.ts';
import type { WindowSlot } from './window-merge.ts';

/** Where rows come from (a FleetStore). */
export interface HistorySource {
  readHistory(fromMs: number, untilMs: number, route?: string): Promise<HistoryRowOut[]>;
}

export interface HistoryQuery {
  /** Epoch ms, both ends included (a minute counts when its start is inside). */
  readonly from: number;
  readonly until: number;
  /** One route only. */
  readonly route?: string;
}

export interface HistoryRead {
  readonly routes: RouteHistory[];
  /** Rows that could not be decoded (another version, corruption): left out, counted. */
  readonly rejected: number;
}

interface MinuteAcc {
  minute: number;
  legacy: WindowSlot | undefined;
  candidate: WindowSlot | undefined;
  breakerOpenings: { legacy: number; candidate: number };
  shadow: ShadowFigures | undefined;
  instances: Set<string>;
}

/** Every route's history over the span (routes by name, minutes in time order). */
export async function readRouteHistory(
  store: HistorySource,
  query: HistoryQuery,
): Promise<RouteHistory[]> {
  return (await readRouteHistoryCounted(store, query)).routes;
}

/** readRouteHistory, with the count of rows it had to leave out. */
export async function readRouteHistoryCounted(
  store: HistorySource,
  query: HistoryQuery,
): Promise<HistoryRead> {
  const rows = await store.readHistory(query.from, query.until, query.route);
  return mergeHistoryRows(rows);
}

/** The merge itself (rows of any order). */
export function mergeHistoryRows(rows: readonly HistoryRowOut[]): HistoryRead {
  const routes = new Map<string, Map<number, MinuteAcc>>();
  let rejected = 0;
  for (const row of rows) {
    const acc = minuteOf(routes, row.route, row.minute);
    if (row.kind === ROUTE_KIND && (row.side === 'legacy' || row.side === 'candidate')) {
      const got = decodeRoutePayload(row.payload);
      if (!got) {
        rejected++;
        continue;
      }
      acc[row.side] = mergeSlots(acc[row.side], got.slot);
      acc.breakerOpenings[row.side] += got.breakerOpenings;
    } else if (row.kind === SHADOW_KIND) {
      const got = decodeShadowPayload(row.payload);
      if (!got) {
        rejected++;
        continue;
      }
      acc.shadow = mergeShadow(acc.shadow, got);
    } else {
      rejected++;
      continue;
    }
    acc.instances.add(row.instance);
  }
  const out: RouteHistory[] = [];
  for (const route of [...routes.keys()].sort()) {
    const minutes = [...(routes.get(route) as Map<number, MinuteAcc>).values()]
      .filter((m) => m.instances.size > 0)
      .sort((a, b) => a.minute - b.minute)
      .map((m) => ({
        minute: m.minute,
        legacy: m.legacy,
        candidate: m.candidate,
        breakerOpenings: m.breakerOpenings,
        shadow: m.shadow,
        instances: m.instances.size,
      }));
    if (minutes.length > 0) out.push({ route, minutes });
  }
  return { routes: out, rejected };
}

function minuteOf(
  routes: Map<string, Map<number, MinuteAcc>>,
  route: string,
  minute: number,
): MinuteAcc {
  let byMinute = routes.get(route);
  if (!byMinute) {
    byMinute = new Map();
    routes.set(route, byMinute);
  }
  let acc = byMinute.get(minute);
  if (!acc) {
    acc = {
      minute,
      legacy: undefined,
      candidate: undefined,
      breakerOpenings: { legacy: 0, candidate: 0 },
      shadow: undefined,
      instances: new Set(),
    };
    byMinute.set(minute, acc);
  }
  return acc;
}

function mergeShadow(a: ShadowFigures | undefined, b: ShadowFigures): ShadowFigures {
  if (!a) return b;
  const fields = new Map(Object.entries(a.fields));
  for (const [path, n] of Object.entries(b.fields)) fields.set(path, (fields.get(path) ?? 0) + n);
  return {
    compared: a.compared + b.compared,
    mismatched: a.mismatched + b.mismatched,
    fields: topFields(fields),
    legacy: b.legacy ? mergeSlots(a.legacy, b.legacy) : a.legacy,
    candidate: b.candidate ? mergeSlots(a.candidate, b.candidate) : a.candidate,
  };
}
