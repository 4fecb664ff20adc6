// The dashboard's Plan and Report views: GET /api/report builds the
// migration report of this gateway's state store — the same reader
// (src/report/gather.ts) and builder as `cutover report`, so the same
// figures — and GET /api/plan serves `report.plan` (the output of
// `cutover plan --format json`, read at config load). The report's other
// inputs come from the config as the CLI's flags would give them:
// `report.incidents` (read at load) and `report.instances` (counts, or
// Prometheus asked at report time). Reads only: any role.
import { createHash } from 'node:crypto';
import { InvalidArgumentError, NotFoundError } from '../errors.ts';
import {
  buildReport,
  formatReportHtml,
  formatReportMarkdown,
  type InstanceCounts,
  instanceCountsFromText,
  type PlanModuleInput,
  readReportData,
  reportInstances,
  routeMissing,
  timeFromText,
} from '../report/index.ts';
import { Ledger, queryPrometheus } from '../rollout/index.ts';
import type { AdminContext } from './context.ts';
import type { Call, Endpoint } from './endpoint.ts';
import { sendJson, sendText } from './http.ts';

const FORMATS = ['json', 'html', 'md'] as const;
type Format = (typeof FORMATS)[number];

/** `7d`, `12h` (that long before `now`) or an ISO date; epoch ms. As `cutover report --since`. */
function when(name: string, text: string, now: number): number {
  const at = timeFromText(text, now);
  if (at === undefined)
    throw new InvalidArgumentError(
      `${name} must be a duration ago (7d, 12h, 30m) or an ISO date (2026-11-01), got "${text}"`,
    );
  return at;
}

/** `legacy=N,candidate=M`, as `cutover report --instances`. */
function instanceCounts(text: string): InstanceCounts {
  const counts = instanceCountsFromText(text);
  if (typeof counts === 'string')
    throw new InvalidArgumentError(
      `instances must be legacy=N,candidate=M with whole numbers above 0, got "${text}"`,
    );
  return counts;
}

/**
 * The report page's own policy: nothing but its inline style blocks (by
 * hash, not unsafe-inline) and data: images; framed only by the dashboard.
 */
export function reportCsp(html: string): string {
  const hashes = [...html.matchAll(/<style>([\s\S]*?)<\/style>/g)].map(
    (m) => `'sha256-${createHash('sha256').update(m[1]).digest('base64')}'`,
  );
  const style = hashes.length > 0 ? hashes.join(' ') : "'none'";
  return `default-src 'none'; style-src ${style}; img-src data:; frame-ancestors 'self'`;
}

async function report({ url, res, deps }: Call<AdminContext>): Promise<void> {
  const q = url.searchParams;
  const format = (q.get('format') ?? 'json') as Format;
  if (!FORMATS.includes(format))
    throw new InvalidArgumentError(`format must be one of ${FORMATS.join(', ')}`);
  const config = deps.gateway.config;
  const now = Date.now();
  const since = q.has('since')
    ? when('since', q.get('since') ?? '', now)
    : now - config.report.retention;
  const until = q.has('until') ? when('until', q.get('until') ?? '', now) : now;
  if (since >= until) throw new InvalidArgumentError('since must be before until');
  const route = q.get('route') || undefined;
  // The request's counts win over the config's; Prometheus is asked only when needed.
  const instances = q.has('instances')
    ? instanceCounts(q.get('instances') ?? '')
    : config.report.instances &&
      (await reportInstances(config.report.instances, (url, query, timeoutMs) =>
        queryPrometheus(url, query, { timeoutMs }),
      ));
  const store = deps.member?.store;
  if (!store) throw new NotFoundError('GET /api/report (no state store)');
  const ledger = new Ledger(store);
  const data = await readReportData(store, (r) => ledger.history(r), { since, until, route });
  // A configured route without history yet has an empty report; a name known nowhere is a 404.
  const configured = config.routes.some((r) => r.name === route);
  if (route !== undefined && !configured && routeMissing(data, route))
    throw new NotFoundError(`route "${route}" (not configured, and no history in this span)`);
  const plan = config.report.plan;
  const built = buildReport({
    from: since,
    until,
    routes: data.history,
    timeline: [...data.ledger.values()].flat(),
    instances,
    incidents: config.report.incidents?.list,
    // Checked at load as `cutover report --plan` checks it: a list of modules.
    plan: plan && { modules: plan.json.modules as readonly PlanModuleInput[] },
    generatedAt: now,
  });
  if (format === 'json') return sendJson(res, 200, built);
  if (format === 'md')
    return sendText(res, 200, formatReportMarkdown(built), 'text/markdown; charset=utf-8');
  const html = formatReportHtml(built);
  res.writeHead(200, {
    'content-type': 'text/html; charset=utf-8',
    'content-length': Buffer.byteLength(html),
    'cache-control': 'no-store',
    'content-security-policy': reportCsp(html),
    'x-content-type-options': 'nosniff',
  });
  res.end(html);
}

export const reportEndpoints: readonly Endpoint<AdminContext>[] = [
  // Which of these views exist, so the dashboard's nav can ask without a 404
  // (a browser logs every 4xx load as a console error).
  {
    method: 'GET',
    pattern: /^\/api\/views$/,
    write: false,
    handle: ({ res, deps }) =>
      sendJson(res, 200, { report: true, plan: deps.gateway.config.report.plan !== undefined }),
  },
  { method: 'GET', pattern: /^\/api\/report$/, write: false, handle: report },
  {
    method: 'GET',
    pattern: /^\/api\/plan$/,
    write: false,
    handle: ({ res, deps }) => {
      const plan = deps.gateway.config.report.plan;
      if (!plan) throw new NotFoundError('plan: report.plan is not configured');
      sendJson(res, 200, plan.json);
    },
  },
];
