// /api/routes and /api/rollouts: read routes, their ledger and shadow diffs;
// move a rollout; set or reset a weight by hand.
import { InvalidArgumentError, NotFoundError } from '../errors.ts';
import { ROLLOUT_ACTIONS, type RolloutAction } from '../rollout/index.ts';
import type { AdminOptions } from './context.ts';
import type { Call, Endpoint } from './endpoint.ts';
import { readJson, sendJson } from './http.ts';

type C = Call<AdminOptions>;

function history({ url, params, res, deps }: C): Promise<void> {
  const limit = url.searchParams.has('limit') ? Number(url.searchParams.get('limit')) : undefined;
  if (limit !== undefined && !(Number.isInteger(limit) && limit > 0)) {
    throw new InvalidArgumentError('limit must be a whole number above 0');
  }
  const name = params[0];
  return deps.rollouts.history(name, limit).then((entries) => {
    sendJson(res, 200, { route: name, history: entries });
  });
}

async function rolloutAction({ url, params, res, deps }: C): Promise<void> {
  const action = params[1] as RolloutAction;
  if (!ROLLOUT_ACTIONS.includes(action)) {
    throw new NotFoundError(`rollout action "${params[1]}" (one of ${ROLLOUT_ACTIONS.join(', ')})`);
  }
  const full = url.searchParams.get('full') === 'true' || url.searchParams.get('full') === '1';
  sendJson(res, 200, await deps.rollouts.act(params[0], action, 'api', { full }));
}

async function setWeight({ req, res, params, deps }: C): Promise<void> {
  const body = await readJson(req);
  const weight = (body as { weight?: unknown } | null)?.weight;
  if (typeof weight !== 'number') {
    throw new InvalidArgumentError('expected a JSON body { "weight": <number from 0 to 100> }');
  }
  deps.rollouts.assertManualWeight(params[0]);
  sendJson(res, 200, await deps.gateway.setWeight(params[0], weight));
}

async function resetWeight({ res, params, deps }: C): Promise<void> {
  deps.rollouts.assertManualWeight(params[0]);
  sendJson(res, 200, await deps.gateway.resetWeight(params[0]));
}

export const routeEndpoints: readonly Endpoint<AdminOptions>[] = [
  {
    method: 'GET',
    pattern: /^\/api\/routes$/,
    write: false,
    handle: ({ res, deps }) => sendJson(res, 200, { routes: deps.gateway.routes() }),
  },
  {
    method: 'GET',
    pattern: /^\/api\/rollouts$/,
    write: false,
    handle: ({ res, deps }) => sendJson(res, 200, { rollouts: deps.rollouts.statusAll() }),
  },
  { method: 'GET', pattern: /^\/api\/routes\/([^/]+)\/history$/, write: false, handle: history },
  {
    method: 'POST',
    pattern: /^\/api\/routes\/([^/]+)\/rollout\/([a-z]+)$/,
    write: true,
    handle: rolloutAction,
  },
  {
    method: 'GET',
    pattern: /^\/api\/routes\/([^/]+)\/diffs$/,
    write: false,
    handle: ({ res, params, deps }) => sendJson(res, 200, deps.gateway.routeDiffs(params[0])),
  },
  {
    method: 'GET',
    pattern: /^\/api\/routes\/([^/]+)$/,
    write: false,
    handle: ({ res, params, deps }) =>
      sendJson(res, 200, {
        ...deps.gateway.routeDetail(params[0]),
        rollout: deps.rollouts.status(params[0]) ?? null,
      }),
  },
  { method: 'PUT', pattern: /^\/api\/routes\/([^/]+)\/weight$/, write: true, handle: setWeight },
  {
    method: 'DELETE',
    pattern: /^\/api\/routes\/([^/]+)\/weight$/,
    write: true,
    handle: resetWeight,
  },
];
