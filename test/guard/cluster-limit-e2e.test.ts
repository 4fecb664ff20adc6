// A cluster rate limit through real gateways: three Gateway instances in this
// process, each on its own port with real HTTP, sharing one fleet store and
// one real upstream — once on a MemoryStore, once on a real Redis with a
// connection per gateway (as three processes would have). Together they
// admit the route's rps × duration + burst, not three times it.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Pool } from 'undici';
import { parseConfigText } from '../../src/config/index.ts';
import { Gateway, type GatewayOptions } from '../../src/gateway/index.ts';
import { type FleetStore, MemoryStore, RedisFleet } from '../../src/state/index.ts';
import { createLogger, Metrics } from '../../src/telemetry/index.ts';
import { tempDir } from '../helpers/gateway.ts';
import { metricValue } from '../helpers/metrics.ts';
import { startRedis } from '../helpers/redis-server.ts';
import { startUpstream, type Upstream } from '../helpers/upstream.ts';

const RPS = 50;
const BURST = 50;
const HAMMER_MS = 3_000;
/** Keep-alive connections per gateway, each a loop of requests one after the other. */
const LOOPS = 4;
/**
 * ±5% is issue 11's accuracy, and what the deterministic test
 * (cluster-limit.test.ts) holds to exactly. Here the clock is real: the
 * duration is measured from the first request sent to the last, and the
 * requests in flight at either end add a few tokens of noise on a loaded
 * machine, so this test allows ±8% (±16 of 200). bench measures the real
 * accuracy.
 */
const TOLERANCE = 0.08;

function yaml(upstream: string, limit: string): string {
  return `listen: 127.0.0.1:0
admin: { listen: 127.0.0.1:0 }
state: memory
backends:
  up: { url: ${upstream} }
routes:
  - name: api
    match: { path: /api/* }
    legacy: up
    limit: ${limit}
`;
}

interface Instance {
  readonly gateway: Gateway;
  readonly metrics: Metrics;
  readonly url: string;
  readonly logFile: string;
}

async function startInstance(
  text: string,
  extra: Partial<GatewayOptions> & { store: GatewayOptions['store'] },
): Promise<Instance> {
  const logFile = join(tempDir(), 'log.jsonl');
  const logger = createLogger({ level: 'info', destination: logFile, sync: true });
  const config = parseConfigText(text, 'cutover.yaml');
  const metrics = new Metrics();
  const gateway = await Gateway.create({ config, logger, metrics, ...extra });
  const { port } = await gateway.listen();
  return { gateway, metrics, url: `http://127.0.0.1:${port}`, logFile };
}

function logLines(file: string): Record<string, unknown>[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

/** Three handles on one shared store, one per gateway. */
interface SharedStores {
  readonly stores: readonly FleetStore[];
  close(): Promise<void>;
}

const ON_MEMORY = async (): Promise<SharedStores> => {
  const store = new MemoryStore();
  return { stores: [store, store, store], close: () => store.close() };
};

const ON_REDIS = async (): Promise<SharedStores> => {
  const redis = await startRedis();
  // The request-path timeout is the default (50 ms), as in production.
  const stores = [0, 1, 2].map(() => new RedisFleet({ url: redis.url }));
  return {
    stores,
    close: async () => {
      for (const s of stores) await s.close();
      await redis.close();
    },
  };
};

for (const [name, open] of [
  ['one MemoryStore', ON_MEMORY],
  ['one Redis', ON_REDIS],
] as const) {
  describe(`cluster rate limit across three gateways on ${name}`, () => {
    let up: Upstream;
    let shared: SharedStores;
    const instances: Instance[] = [];

    before(async () => {
      up = await startUpstream({ name: 'up' });
      shared = await open();
      const text = yaml(up.url, `{ rps: ${RPS}, burst: ${BURST}, scope: cluster }`);
      for (const store of shared.stores) {
        instances.push(await startInstance(text, { store, buckets: store, instances: () => 3 }));
      }
    });
    after(async () => {
      for (const i of instances) await i.gateway.close(0);
      await up.close();
      await shared.close();
    });

    test('three gateways hammered together admit rps × duration + burst', async () => {
      const pools = instances.map((i) => new Pool(i.url, { connections: LOOPS, pipelining: 1 }));
      const counts = new Map<number, number>();
      const byInstance = instances.map(() => 0);
      let firstSent = Number.POSITIVE_INFINITY;
      let lastSent = 0;
      let retryAfterOk = true;
      const stopAt = performance.now() + HAMMER_MS;
      const loop = async (pool: Pool, index: number): Promise<void> => {
        while (performance.now() < stopAt) {
          const sent = performance.now();
          if (sent < firstSent) firstSent = sent;
          if (sent > lastSent) lastSent = sent;
          const res = await pool.request({ path: '/api/x', method: 'GET' });
          await res.body.text();
          counts.set(res.statusCode, (counts.get(res.statusCode) ?? 0) + 1);
          if (res.statusCode === 200) byInstance[index]++;
          if (res.statusCode === 429 && !(Number(res.headers['retry-after']) >= 1)) {
            retryAfterOk = false;
          }
        }
      };
      try {
        await Promise.all(
          pools.flatMap((pool, index) => Array.from({ length: LOOPS }, () => loop(pool, index))),
        );
      } finally {
        await Promise.all(pools.map((p) => p.close()));
      }
      const admitted = counts.get(200) ?? 0;
      const seconds = (lastSent - firstSent) / 1000;
      const expected = RPS * seconds + BURST;
      const detail = `admitted ${admitted} (${byInstance.join(' + ')}) in ${seconds.toFixed(3)} s, expected ${expected.toFixed(1)}; statuses ${JSON.stringify([...counts])}`;
      assert.deepEqual([...counts.keys()].sort(), [200, 429], detail);
      assert.ok(
        (counts.get(429) ?? 0) > admitted,
        `the flood was refused most of the time: ${detail}`,
      );
      assert.ok(Math.abs(admitted - expected) <= expected * TOLERANCE, detail);
      assert.ok(retryAfterOk, '429 answers carry Retry-After ≥ 1');
      for (const n of byInstance) assert.ok(n > 0, `every gateway admitted some: ${detail}`);
      // The diagnostic line the integrator reads when rerunning against Redis.
      console.log(`# cluster limit e2e on ${name}: ${detail}`);
    });

    test('the route detail and cutover_rate_limit_mode say the limit is shared', async () => {
      const detail = instances[0].gateway.routeDetail('api') as unknown as {
        limit: Record<string, unknown>;
      };
      assert.equal(detail.limit.scope, 'cluster');
      assert.equal(detail.limit.mode, 'shared');
      const text = await instances[0].metrics.render();
      assert.equal(
        metricValue(text, 'cutover_rate_limit_mode', { route: 'api', mode: 'shared' }),
        1,
      );
    });
  });
}

describe('a cluster limit on a gateway given no shared buckets', () => {
  let up: Upstream;
  let instance: Instance;

  before(async () => {
    up = await startUpstream({ name: 'up' });
    const text = yaml(up.url, `{ rps: 100, burst: 10, scope: cluster, onStoreDown: closed }`);
    instance = await startInstance(text, { store: new MemoryStore() });
  });
  after(async () => {
    await instance.gateway.close(0);
    await up.close();
  });

  test('runs its onStoreDown fallback (closed: 429 with Retry-After), said once in the log', async () => {
    const pool = new Pool(instance.url, { connections: 1 });
    try {
      for (let i = 0; i < 5; i++) {
        const res = await pool.request({ path: '/api/x', method: 'GET' });
        const body = (await res.body.json()) as Record<string, unknown>;
        assert.equal(res.statusCode, 429);
        assert.equal(body.code, 'CUTOVER_ERR_RATE_LIMITED');
        assert.equal(res.headers['retry-after'], '1');
        assert.equal(res.headers.ratelimit, '"default";r=0;t=1');
      }
    } finally {
      await pool.close();
    }
    assert.equal(up.requests.length, 0, 'no request reached the upstream');
    const lines = logLines(instance.logFile).filter((l) => l.route === 'api' && l.to === 'closed');
    assert.equal(lines.length, 1, JSON.stringify(lines));
    assert.equal(lines[0].level, 'warn');
    assert.match(String(lines[0].reason), /no shared state store/);
    const text = await instance.metrics.render();
    assert.equal(metricValue(text, 'cutover_rate_limit_mode', { route: 'api', mode: 'closed' }), 1);
    assert.equal(metricValue(text, 'cutover_rate_limit_mode', { route: 'api', mode: 'shared' }), 0);
  });
});
