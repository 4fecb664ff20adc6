// `cutover report` end to end on Redis: two real gateways share a real
// redis-server and each serves a known number of requests (some failing);
// both stop (their last minutes are written), and the report read from Redis
// by the CLI counts every request of both instances, and the failures, exactly.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { request } from 'undici';
import { cli } from '../helpers/cli.ts';
import { startGateway, type TestGateway } from '../helpers/gateway.ts';
import { startRedis, type TestRedis } from '../helpers/redis-server.ts';
import { BEHAVIOR_HEADER, startUpstream, type Upstream } from '../helpers/upstream.ts';

const yaml = (legacy: string, rewrite: string, state: string) => `listen: 127.0.0.1:0
admin: { listen: 127.0.0.1:0 }
state: ${state}
log: { access: false }
backends:
  legacy: { url: ${legacy} }
  rewrite: { url: ${rewrite} }
routes:
  - name: orders
    match: { path: /* }
    legacy: legacy
    candidate: rewrite
    split: { stickyKey: header:x-user-id }
    weight: 0
`;

async function hit(gw: TestGateway, n: number, behavior: string): Promise<void> {
  for (let i = 0; i < n; i++) {
    const res = await request(`${gw.url}/orders/${i}`, {
      headers: { 'x-user-id': `u${i}`, [BEHAVIOR_HEADER]: behavior },
    });
    await res.body.dump();
  }
}

interface ReportJson {
  routes: {
    route: string;
    requests: { legacy: number; candidate: number };
    series: { legacy: { requests: number; errors: number } | null }[];
  }[];
}

describe('cutover report on Redis, two instances', { timeout: 60_000 }, () => {
  let redis: TestRedis;
  let legacy: Upstream;
  let rewrite: Upstream;

  before(async () => {
    redis = await startRedis();
    legacy = await startUpstream({ name: 'legacy' });
    rewrite = await startUpstream({ name: 'rewrite' });
  });
  after(async () => {
    await legacy?.close();
    await rewrite?.close();
    await redis?.close();
  });

  it('counts both instances’ requests and failures from the minute history in Redis', async () => {
    const state = `${redis.url}/0`;
    const config = yaml(legacy.url, rewrite.url, state);
    const a = await startGateway(config);
    const b = await startGateway(config);
    await hit(a, 30, 'ok');
    await hit(a, 4, 'status:503');
    await hit(b, 16, 'ok');
    // A clean stop writes the minute so far.
    await b.close();
    await a.close();
    const out = await cli(['report', '--state', state, '--route', 'orders', '--format', 'json'], {
      timeout: 30_000,
    });
    assert.equal(out.code, 0, out.stderr);
    const [orders] = (JSON.parse(out.stdout) as ReportJson).routes;
    assert.equal(orders.route, 'orders');
    assert.deepEqual(orders.requests, { legacy: 50, candidate: 0 });
    let errors = 0;
    for (const point of orders.series) errors += point.legacy?.errors ?? 0;
    assert.equal(errors, 4, 'the failures of both instances, from their minute rows');
  });
});
