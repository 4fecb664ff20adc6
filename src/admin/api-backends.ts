// /api/backends/NAME/breaker: read a backend's breakers, force them open or
// closed, or hand them back to their own judgement (`auto`).
import { InvalidArgumentError } from '../errors.ts';
import type { AdminOptions } from './context.ts';
import type { Call, Endpoint } from './endpoint.ts';
import { readJson, sendJson } from './http.ts';

async function forceBreaker({ req, res, params, deps }: Call<AdminOptions>): Promise<void> {
  const state = ((await readJson(req)) as { state?: unknown } | null)?.state;
  if (state !== 'open' && state !== 'closed' && state !== 'auto') {
    throw new InvalidArgumentError('expected a JSON body { "state": "open" | "closed" | "auto" }');
  }
  const forced = state === 'auto' ? undefined : state;
  sendJson(res, 200, await deps.gateway.forceBreaker(params[0], forced));
}

export const backendEndpoints: readonly Endpoint<AdminOptions>[] = [
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
