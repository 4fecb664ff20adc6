// `cutover start` with `state:` on Redis: the gateway keeps its runtime state
// there, so a second gateway started on the same Redis and prefix starts
// with the weight set through the first, and one on another prefix does not.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { request } from 'undici';
import { RedisFleet } from '../../src/state/index.ts';
import { cli } from '../helpers/cli.ts';
import { startGateway, tempDir, twoBackendYaml } from '../helpers/gateway.ts';
import { freePortPair } from '../helpers/ports.ts';
import { PATIENT, startRedis, type TestRedis } from '../helpers/redis-server.ts';
import { startUpstream, type Upstream } from '../helpers/upstream.ts';

let redis: TestRedis;
let legacy: Upstream;
let rewrite: Upstream;
before(async () => {
  redis = await startRedis();
  legacy = await startUpstream();
  rewrite = await startUpstream();
});
after(async () => {
  await legacy?.close();
  await rewrite?.close();
  await redis?.close();
});

function yaml(prefix: string): string {
  return twoBackendYaml(legacy.url, rewrite.url).replace(
    'state: memory',
    `state: { url: "${redis.url}/0", prefix: ${prefix} }`,
  );
}

async function weightOf(adminUrl: string): Promise<number> {
  const res = await request(`${adminUrl}/api/routes/main`);
  return ((await res.body.json()) as { weight: number }).weight;
}

test('a weight set through one gateway is in Redis, and a gateway started later on it begins there', async () => {
  const first = await startGateway(yaml('shop'));
  try {
    const res = await request(`${first.adminUrl}/api/routes/main/weight`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ weight: 30 }),
    });
    assert.equal(res.statusCode, 200);
    await res.body.dump();
  } finally {
    await first.close();
  }
  const fleet = new RedisFleet({ url: redis.url, prefix: 'shop', ...PATIENT });
  try {
    assert.equal(await fleet.get('weight', 'main'), 30);
  } finally {
    await fleet.close();
  }
  const second = await startGateway(yaml('shop'));
  const elsewhere = await startGateway(yaml('other-shop'));
  try {
    assert.equal(await weightOf(second.adminUrl), 30);
    assert.equal(await weightOf(elsewhere.adminUrl), 0, 'another prefix is another fleet');
  } finally {
    await second.close();
    await elsewhere.close();
  }
});

test('cutover start with Redis unreachable exits 1 naming the store (nothing known yet to serve on)', async () => {
  const dir = tempDir();
  // A port that answered a moment ago and is closed now: nothing listens there.
  const port = await freePortPair();
  const file = join(dir, 'cutover.yaml');
  writeFileSync(
    file,
    twoBackendYaml(legacy.url, rewrite.url).replace(
      'state: memory',
      `state: redis://127.0.0.1:${port}/0`,
    ),
  );
  const r = await cli(['start', '-c', file], { timeout: 15_000 });
  assert.equal(r.code, 1, r.stdout + r.stderr);
  assert.match(r.stderr, new RegExp(`state store redis://127\\.0\\.0\\.1:${port}/0 .*unreachable`));
});
