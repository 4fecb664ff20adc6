// `cutover report` end to end on Redis: two real gateways share a real
// redis-server and each serves a known number of requests (some failing);
// both stop (their last minutes are written), and the report read from Redis
// by the CLI counts every request of both instances, and the failures, exactly.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { cli } from '../helpers/cli.ts';
import { sendRequests, startGateway, twoBackendYaml } from '../helpers/gateway.ts';
import { startRedis, type TestRedis } from '../helpers/redis-server.ts';
import { startUpstream, type Upstream } from '../helpers/upstream.ts';

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
    const config = twoBackendYaml(legacy.url, rewrite.url, {
      top: 'log: { access: false }',
    }).replace('state: memory', `state: ${state}`);
    const a = await startGateway(config);
    const b = await startGateway(config);
    await sendRequests(a.url, 30);
    await sendRequests(a.url, 4, 'status:503');
    await sendRequests(b.url, 16);
    // A clean stop writes the minute so far.
    await b.close();
    await a.close();
    const out = await cli(['report', '--state', state, '--route', 'main', '--format', 'json'], {
      timeout: 30_000,
    });
    assert.equal(out.code, 0, out.stderr);
    const [main] = (JSON.parse(out.stdout) as ReportJson).routes;
    assert.equal(main.route, 'main');
    assert.deepEqual(main.requests, { legacy: 50, candidate: 0 });
    let errors = 0;
    for (const point of main.series) errors += point.legacy?.errors ?? 0;
    assert.equal(errors, 4, 'the failures of both instances, from their minute rows');
  });
});
