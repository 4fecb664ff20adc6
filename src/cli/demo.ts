// `cutover demo`: a legacy and a rewrite service on loopback (HTTP, and a
// gRPC service of each in grpc-js), the gateway in front of them
// (examples/demo.yaml: HTTP/1.1 and h2c on one port) rolling every route out
// by itself, and a gentle stream of background requests — HTTP requests and
// unary gRPC calls — so its gates have something to judge.
import { rm } from 'node:fs/promises';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Agent, request } from 'undici';
import { loadConfigFile, type StateConfig } from '../config/index.ts';
import type { Logger } from '../telemetry/index.ts';
import { startDemoBackends } from './demo-backends.ts';
import { checkStock, startDemoGrpc, stockClient } from './demo-grpc.ts';
import { type Running, startCutover } from './run.ts';

export const DEMO_CONFIG = fileURLToPath(new URL('../../examples/demo.yaml', import.meta.url));

/**
 * About 12 requests a second per route (five routes): enough for the 5% step's
 * 20 candidate requests in about half a minute (25 s measured), so a healthy
 * route is done in about 1½ minutes; little enough to run beside anything on
 * a laptop.
 */
export const DEMO_TRAFFIC_RPS = 60;

export interface DemoOptions {
  port: number;
  adminPort: number;
  legacyPort: number;
  rewritePort: number;
  /** The gRPC services' ports (the CLI's defaults: 9003 and 9004; 0 picks free ones). */
  grpcLegacyPort: number;
  grpcRewritePort: number;
  /**
   * Variables for examples/demo.yaml's `${...}`, over process.env: DEMO_SHADOW_FOR,
   * DEMO_INTERVAL, DEMO_SLOW_INTERVAL shorten the holds; DEMO_STATE moves the state.
   */
  env?: Readonly<Record<string, string>>;
  /** Background requests a second over the five routes (DEMO_TRAFFIC_RPS); 0 sends none. */
  trafficRps?: number;
  /** Instead of a logger on stdout. */
  logger?: Logger;
}

export interface RunningDemo {
  readonly cutover: Running;
  readonly legacyUrl: string;
  readonly rewriteUrl: string;
  /** The gRPC services (h2c): `http://host:port`. */
  readonly grpcLegacyUrl: string;
  readonly grpcRewriteUrl: string;
  readonly trafficRps: number;
  close(): Promise<void>;
}

/**
 * A rerun would otherwise continue the last run's rollouts from the state
 * file: routes already done, a route rolled back, nothing left to watch. A
 * first-time user (and the banner's story) expects the show from the start,
 * so the demo deletes its own state file before the gateway opens it. A fresh
 * file per run would do the same but leave one file behind per run. The
 * file is kept at exit, so the last run can still be read with sqlite3.
 */
async function resetDemoState(spec: StateConfig): Promise<void> {
  if (typeof spec !== 'string' || !spec.startsWith('sqlite:')) return;
  const file = resolve(spec.slice('sqlite:'.length));
  // WAL mode keeps two side files next to the database (state/sqlite.ts).
  await Promise.all(['', '-wal', '-shm'].map((s) => rm(`${file}${s}`, { force: true })));
}

export async function startDemo(o: DemoOptions): Promise<RunningDemo> {
  const backends = await startDemoBackends({
    legacyPort: o.legacyPort,
    rewritePort: o.rewritePort,
  });
  let grpc: Awaited<ReturnType<typeof startDemoGrpc>>;
  try {
    grpc = await startDemoGrpc({
      legacyPort: o.grpcLegacyPort,
      rewritePort: o.grpcRewritePort,
      rewriteBroken: backends.rewriteBroken,
    });
  } catch (error) {
    await backends.close();
    throw error;
  }
  const env = {
    ...process.env,
    ...o.env,
    CUTOVER_PORT: String(o.port),
    CUTOVER_ADMIN_PORT: String(o.adminPort),
    DEMO_LEGACY_PORT: new URL(backends.legacy.url).port,
    DEMO_REWRITE_PORT: new URL(backends.rewrite.url).port,
    DEMO_GRPC_LEGACY_PORT: new URL(grpc.legacy.url).port,
    DEMO_GRPC_REWRITE_PORT: new URL(grpc.rewrite.url).port,
  };
  let cutover: Running;
  try {
    await resetDemoState((await loadConfigFile(DEMO_CONFIG, env, { inThread: true })).state);
    cutover = await startCutover(DEMO_CONFIG, { env, logger: o.logger });
  } catch (error) {
    await Promise.all([backends.close(), grpc.close()]);
    throw error;
  }
  const trafficRps = o.trafficRps ?? DEMO_TRAFFIC_RPS;
  const traffic = trafficRps > 0 ? startTraffic(cutover.gatewayUrl, trafficRps) : undefined;
  return {
    cutover,
    legacyUrl: backends.legacy.url,
    rewriteUrl: backends.rewrite.url,
    grpcLegacyUrl: grpc.legacy.url,
    grpcRewriteUrl: grpc.rewrite.url,
    trafficRps,
    async close() {
      await traffic?.stop();
      await cutover.close();
      await Promise.all([backends.close(), grpc.close()]);
    },
  };
}

/** Ticks a second; each sends the requests its share of the rate allows. */
const TICKS_PER_SECOND = 20;
/** A slow gateway is not piled on: past this many requests in flight a tick sends none. */
const MAX_IN_FLIGHT = 64;
/** Distinct users and visitors: enough that each step's share of them is close to its weight. */
const POPULATION = 1000;

const someone = (): number => 1 + Math.floor(Math.random() * POPULATION);

interface DemoRequest {
  path: string;
  method?: 'GET' | 'POST';
  headers: Record<string, string>;
  body?: string;
}

/** The n-th background HTTP request: the four HTTP routes in turn, one order list in ten a new order. */
function nthRequest(n: number): DemoRequest {
  const user = String(someone());
  const headers = { 'x-user-id': user, 'user-agent': 'cutover-demo-traffic' };
  switch (n % 4) {
    case 0:
      return { path: `/api/v1/user/${user}`, headers };
    case 1:
      return {
        path: `/api/v1/catalog/SKU-${1000 + someone()}`,
        headers: { 'user-agent': headers['user-agent'], cookie: `visitor=v${someone()}` },
      };
    case 2:
      return { path: '/api/v1/slow', headers };
    default:
      if (n % 40 !== 3) return { path: `/api/v1/orders?user=${user}`, headers };
      return {
        path: '/api/v1/orders',
        method: 'POST',
        headers: { ...headers, 'content-type': 'application/json' },
        body: JSON.stringify({ user, items: [{ sku: `SKU-${1000 + someone()}`, qty: 1 }] }),
      };
  }
}

/** Every fifth background request is a unary gRPC call (the stock route), the others HTTP. */
const GRPC_EVERY = 5;

function startTraffic(gatewayUrl: string, rps: number): { stop(): Promise<void> } {
  const agent = new Agent({ connections: MAX_IN_FLIGHT });
  // One HTTP/2 connection (h2c, the gateway's port) carries every gRPC call.
  const grpc = stockClient(new URL(gatewayUrl).host);
  const inFlight = new Set<Promise<void>>();
  let sent = 0;
  let sentHttp = 0;
  let credit = 0;
  const track = (call: Promise<unknown>): void => {
    const done: Promise<void> = call
      .then(() => {})
      // Errors are the demo's subject (a broken rewrite, a stopped gateway), not the sender's.
      .catch(() => {})
      .finally(() => inFlight.delete(done));
    inFlight.add(done);
  };
  const send = (r: DemoRequest): void =>
    track(
      request(`${gatewayUrl}${r.path}`, {
        dispatcher: agent,
        method: r.method ?? 'GET',
        headers: r.headers,
        body: r.body,
      }).then((res) => res.body.dump()),
    );
  const call = (): void =>
    track(
      checkStock(grpc, `SKU-${1000 + someone()}`, {
        'x-user-id': String(someone()),
        'user-agent': 'cutover-demo-traffic',
      }),
    );
  const timer = setInterval(() => {
    credit += rps / TICKS_PER_SECOND;
    while (credit >= 1) {
      credit -= 1;
      if (inFlight.size >= MAX_IN_FLIGHT) continue;
      if (sent++ % GRPC_EVERY === GRPC_EVERY - 1) call();
      else send(nthRequest(sentHttp++));
    }
  }, 1000 / TICKS_PER_SECOND);
  return {
    async stop() {
      clearInterval(timer);
      await Promise.all(inFlight);
      grpc.close();
      await agent.close();
    },
  };
}

export function demoBanner(d: RunningDemo): string {
  const gw = d.cutover.gatewayUrl;
  const ad = d.cutover.adminUrl;
  const rw = d.rewriteUrl;
  // The CLI reads the admin address from ./cutover.yaml unless told: the demo's is elsewhere.
  const admin = ` --admin ${ad}`;
  const grpcAt = new URL(gw).host;
  const spec = d.cutover.gateway.config.state;
  const state = typeof spec === 'string' ? spec : spec.url;
  return `
Cutover demo is running.

  gateway   ${gw}
  dashboard ${ad}/ui/   (open it in a browser: every rollout live, its diffs and actions)
  admin     ${ad}   (rollouts: ${ad}/api/rollouts, metrics: ${ad}/metrics)
  legacy    ${d.legacyUrl}   (the "Java" service; gRPC: ${d.grpcLegacyUrl})
  rewrite   ${rw}   (the "Go" rewrite; gRPC: ${d.grpcRewriteUrl})

The gateway speaks HTTP/1.1 and HTTP/2 (h2c, gRPC included) on the same port.
Every route is rolling out to the rewrite by itself, fed by about ${d.trafficRps} requests/s
of background traffic the demo sends to the gateway (random users on all routes):
  user-profile, catalog  15 s of shadow, then 5% → 25% → 50% → 100%: done in about 1½ minutes
  orders                 stays in shadow: the rewrite sends each order's total as a string
  slow                   the same steps, a minute each: in canary for about 4 minutes
  stock                  gRPC (demo.v1.Stock, unary calls): 5% → 25% → 50% → 100%, no shadow phase

Watch:
  watch -n1 npx cutover status${admin}
  curl -s ${ad}/api/rollouts
  npx cutover history user-profile${admin}
  npx cutover diffs orders${admin}

Break the rewrite (every API answer becomes a 500, every gRPC call UNAVAILABLE) while slow is in canary,
and watch the gates roll it back within seconds:
  curl -X POST ${rw}/__demo/break
Then heal it and start that rollout again:
  curl -X POST ${rw}/__demo/heal
  npx cutover rollout start slow${admin}

Try:
  # a user is sticky: the same x-user-id always lands on the same side (see x-cutover-backend)
  curl -si -H 'x-user-id: 42' ${gw}/api/v1/user/42 | grep -i x-cutover-backend

  # force a side with the override header
  curl -si -H 'x-release-stage: canary' ${gw}/api/v1/orders?user=7 | grep -i x-cutover-backend

  # no route: a problem+json 404
  curl -si ${gw}/nope

  # gRPC through the same port (h2c), sticky on the x-user-id metadata; no grpcurl needed
  node examples/grpc-call.ts ${grpcAt} SKU-1042 42
  node examples/grpc-call.ts ${grpcAt} SKU-1042 42 canary

Plan a migration from traces (a day of a small shop's traces, generated by examples/make-traces.ts):
  npx cutover plan examples/traces/demo.zipkin.json --modules examples/modules.yaml
  npx cutover plan examples/traces/demo.zipkin.json --modules examples/modules.yaml --format html -o plan.html --emit-config first-stage.yaml

Report on what the demo did (each minute is in the state store just after it ends;
the last one when the demo stops, and the file is kept):
  npx cutover report --state ${state} --instances legacy=1,candidate=1
  npx cutover report --state ${state} --route user-profile --format html -o report.html

Press Ctrl+C to stop.
`;
}
