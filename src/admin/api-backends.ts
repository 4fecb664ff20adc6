// /api/backends/NAME/breaker: read a backend's breakers, force them open or
// closed, or hand them back to their own judgement (`auto`).
import { InvalidArgumentError } from '../errors.ts';
import { noteChange } from './api-routes.ts';
import type { AdminContext } from './context.ts';
import type { Call, Endpoint } from './endpoint.ts';
import { readJson, sendJson } from './http.ts';

async function forceBreaker({ req, res, params, deps, who }: Call<AdminContext>): Promise<void> {
  const state = ((await readJson(req)) as { state?: unknown } | null)?.state;
  if (state !== 'open' && state !== 'closed' && state !== 'auto') {
    throw new InvalidArgumentError('expected a JSON body { "state": "open" | "closed" | "auto" }');
  }
  const backend = params[0];
  const forced = state === 'auto' ? undefined : state;
  const breakers = await deps.gateway.forceBreaker(backend, forced);
  const what = forced ? `forced ${forced}` : 'back to automatic';
  const reason = `breaker of backend ${backend} ${what} by ${who.role} ${who.name}`;
  // A breaker guards a backend on each route that uses it: each route's ledger tells.
  for (const route of deps.gateway.routes()) {
    if (route.legacy !== backend && route.candidate !== backend) continue;
    const weight = route.weight;
    await noteChange(deps, route.name, { reason, previousWeight: weight, weight }, who);
  }
  sendJson(res, 200, breakers);
}

export const backendEndpoints: readonly Endpoint<AdminContext>[] = [
  {
    method: 'GET',
    pattern: /^\/api\/backends\/([^/]+)\/breaker$/,
    write: false,
    handle: ({ res, params, deps }) => sendJson(res, 200, deps.gateway.backendBreakers(params[0])),
  },
  {
    method: 'POST',
    pattern: /^\/api\/backends\/([^/]+)\/breaker$/,
    write: true,
    handle: forceBreaker,
  },
];
