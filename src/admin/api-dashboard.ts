// What the dashboard reads besides the routes' own endpoints: the all-routes
// overview, a route's 1-second series and the live event stream.
import { InvalidArgumentError, NotFoundError } from '../errors.ts';
import { SERIES_SECONDS } from '../telemetry/index.ts';
import type { AdminContext } from './context.ts';
import type { Call, Endpoint } from './endpoint.ts';
import { sendJson } from './http.ts';
import { overview } from './overview.ts';

function series({ url, params, res, deps }: Call<AdminContext>): void {
  const asked = url.searchParams.get('seconds');
  const seconds = asked === null ? SERIES_SECONDS : Number(asked);
  if (!(Number.isInteger(seconds) && seconds > 0 && seconds <= SERIES_SECONDS)) {
    throw new InvalidArgumentError(`seconds must be a whole number from 1 to ${SERIES_SECONDS}`);
  }
  const route = params[0];
  // routeDetail throws NotFoundError for a route that does not exist.
  deps.gateway.routeDetail(route);
  const points = deps.series.points(route, seconds) ?? [];
  sendJson(res, 200, { route, resolution: 1, points });
}

export const dashboardEndpoints: readonly Endpoint<AdminContext>[] = [
  {
    method: 'GET',
    pattern: /^\/api\/overview$/,
    write: false,
    handle: async ({ res, deps }) => sendJson(res, 200, await overview(deps, deps.instances)),
  },
  { method: 'GET', pattern: /^\/api\/routes\/([^/]+)\/series$/, write: false, handle: series },
  {
    method: 'GET',
    pattern: /^\/api\/events$/,
    write: false,
    handle: ({ url, res, deps }) => {
      if (!deps.events) throw new NotFoundError('GET /api/events');
      const route = url.searchParams.get('route') ?? undefined;
      // An unknown route is a 404, as for every other route read.
      if (route !== undefined) deps.gateway.routeDetail(route);
      return deps.events.accept(res, route);
    },
  },
];
