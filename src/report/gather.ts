// What a report is built from, read from the state store: every route's
// minute history and its rollout ledger within the span. One reader for
// `cutover report` (src/cli/report.ts) and the admin API's GET /api/report,
// so both show the same figures. The ledger lives in rollout/, which report
// may not import: the caller hands over a reader of one route's entries.
import type { FleetStore } from '../state/index.ts';
import { type RouteHistory, readRouteHistoryCounted } from '../telemetry/index.ts';
import type { TimelineInput } from './report-types.ts';

/** The span and route asked for; epoch ms. */
export interface ReportSpan {
  readonly since: number;
  readonly until: number;
  /** Only this route (else every route that has history). */
  readonly route: string | undefined;
}

export interface StoredReportData {
  readonly history: readonly RouteHistory[];
  /** Rows of the history another version wrote that this one cannot read. */
  readonly rejectedRows: number;
  /** Each route's ledger entries within the span, oldest first; routes without any are left out. */
  readonly ledger: ReadonlyMap<string, readonly TimelineInput[]>;
}

/** Reads one route's whole ledger, oldest first (rollout's `Ledger.history`). */
export type LedgerReader = (route: string) => Promise<readonly TimelineInput[]>;

/** The history and ledger of `span` from `store`; the store is left open. */
export async function readReportData(
  store: FleetStore,
  readLedger: LedgerReader,
  span: ReportSpan,
): Promise<StoredReportData> {
  const { since, until, route } = span;
  const read = await readRouteHistoryCounted(store, { from: since, until, route });
  const routes = new Set(read.routes.map((r) => r.route));
  if (route !== undefined) routes.add(route);
  const ledger = new Map<string, readonly TimelineInput[]>();
  for (const name of [...routes].sort()) {
    const entries = (await readLedger(name)).filter((e) => {
      const at = Date.parse(e.at);
      return at >= since && at <= until;
    });
    if (entries.length > 0) ledger.set(name, entries);
  }
  return { history: read.routes, rejectedRows: read.rejected, ledger };
}

/** True when `data` has nothing of `route` (its history and ledger are both empty). */
export function routeMissing(data: StoredReportData, route: string): boolean {
  return !data.history.some((r) => r.route === route) && !data.ledger.has(route);
}
