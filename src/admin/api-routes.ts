// /api/routes and /api/rollouts: read routes, their ledger and shadow diffs;
// move a rollout; set or reset a weight by hand.
import { InvalidArgumentError, NotFoundError } from '../errors.ts';
import { ROLLOUT_ACTIONS, type RolloutAction, type Who } from '../rollout/index.ts';
import type { Identity } from './access.ts';
import type { AdminContext } from './context.ts';
import type { Call, Endpoint } from './endpoint.ts';
import { readJson, sendJson } from './http.ts';

type C = Call<AdminContext>;

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

/** The person for the ledger: the role and name of the caller. */
export function whoOf(identity: Identity): Who {
  return { role: identity.role, name: identity.name };
}

/**
 * Writes an operator's change to the route's ledger. The change is made
 * already: a ledger the store cannot take now is logged, not answered as a
 * failure of the change.
 */
export async function noteChange(
  deps: AdminContext,
  route: string,
  change: { reason: string; previousWeight: number; weight: number },
  identity: Identity,
): Promise<void> {
  try {
    await deps.rollouts.noteChange(route, change, whoOf(identity));
  } catch (error) {
    deps.logger.error({ route, err: (error as Error).message }, 'ledger note of a change failed');
  }
}

async function rolloutAction({ url, params, res, deps, who }: C): Promise<void> {
  const action = params[1] as RolloutAction;
  if (!ROLLOUT_ACTIONS.includes(action)) {
    throw new NotFoundError(`rollout action "${params[1]}" (one of ${ROLLOUT_ACTIONS.join(', ')})`);
  }
  const full = url.searchParams.get('full') === 'true' || url.searchParams.get('full') === '1';
  const status = await deps.rollouts.act(params[0], action, 'api', { full, who: whoOf(who) });
  sendJson(res, 200, status);
}

const by = (who: Identity): string => `${who.role} ${who.name}`;

async function setWeight({ req, res, params, deps, who }: C): Promise<void> {
  const body = await readJson(req);
  const weight = (body as { weight?: unknown } | null)?.weight;
  if (typeof weight !== 'number') {
    throw new InvalidArgumentError('expected a JSON body { "weight": <number from 0 to 100> }');
  }
  const name = params[0];
  deps.rollouts.assertManualWeight(name);
  const before = deps.gateway.routeWeight(name) ?? 0;
  const status = await deps.gateway.setWeight(name, weight);
  const reason = `weight set by hand to ${status.weight}% (was ${before}%) by ${by(who)}`;
  await noteChange(deps, name, { reason, previousWeight: before, weight: status.weight }, who);
  sendJson(res, 200, status);
}

async function resetWeight({ res, params, deps, who }: C): Promise<void> {
  const name = params[0];
  deps.rollouts.assertManualWeight(name);
  const before = deps.gateway.routeWeight(name) ?? 0;
  const status = await deps.gateway.resetWeight(name);
  const reason = `weight reset to the file's ${status.weight}% (was ${before}%) by ${by(who)}`;
  await noteChange(deps, name, { reason, previousWeight: before, weight: status.weight }, who);
  sendJson(res, 200, status);
}

export const routeEndpoints: readonly Endpoint<AdminContext>[] = [
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
