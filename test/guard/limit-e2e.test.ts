// Route rate limits through a real gateway: token-bucket admission counted
// against the clock, 429 problem answers with RateLimit headers, per-key
// buckets and the bounded key table.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Pool, request } from 'undici';
import { startGateway, type TestGateway } from '../helpers/gateway.ts';
import { metricOf } from '../helpers/metrics.ts';
import { startUpstream, type Upstream } from '../helpers/upstream.ts';

type Json = Record<string, unknown>;

const RPS = 50;
const BURST = 20;
/** How long the flat route is hammered. */
const HAMMER_MS = 2_000;
/** Client loops, each on its own keep-alive connection. */
const LOOPS = 8;

async function routeDetail(gw: TestGateway, name: string): Promise<Json> {
  const res = await request(`${gw.adminUrl}/api/routes/${name}`);
  assert.equal(res.statusCode, 200);
  return (await res.body.json()) as Json;
}

/** One request; the body is read so the connection is kept. */
async function get(
  url: string,
  headers: Record<string, string> = {},
): Promise<{
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}> {
  const res = await request(url, { headers });
  return { status: res.statusCode, headers: res.headers, text: await res.body.text() };
}

const POLICY = `"default";q=${BURST};w=1`;
const RATELIMIT = /^"default";r=(\d+);t=(\d+)$/;

/** Checks a refusal completely; returns nothing, throws on the first difference. */
function assertRateLimited(a: {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}): void {
  assert.equal(a.status, 429, a.text);
  assert.equal(a.headers['content-type'], 'application/problem+json');
  const body = JSON.parse(a.text) as Json;
  assert.equal(body.status, 429);
  assert.equal(body.code, 'CUTOVER_ERR_RATE_LIMITED');
  const retryAfter = String(a.headers['retry-after']);
  assert.match(retryAfter, /^\d+$/, 'Retry-After is delta-seconds');
  assert.ok(Number(retryAfter) >= 1, `Retry-After ${retryAfter} is at least 1`);
  assert.match(String(a.headers.ratelimit), RATELIMIT);
}

describe('rate limit through the gateway', () => {
  let up: Upstream;
  let gw: TestGateway;

  before(async () => {
    up = await startUpstream({ name: 'up' });
    // rps 0.01: one token per 100 s, so the keyed buckets below never refill during a test.
    gw = await startGateway(`listen: 127.0.0.1:0
admin: { listen: 127.0.0.1:0 }
state: memory
backends:
  up: { url: ${up.url} }
routes:
  - name: flat
    match: { path: /flat/* }
    legacy: up
    limit: { rps: ${RPS}, burst: ${BURST} }
  - name: tenant
    match: { path: /tenant/* }
    legacy: up
    limit: { rps: 0.01, burst: 5, key: header:x-tenant }
  - name: many
    match: { path: /many/* }
    legacy: up
    limit: { rps: 0.01, burst: 1, key: header:x-tenant, maxKeys: 100 }
`);
  });
  after(async () => {
    await gw.close();
    await up.close();
  });

  test('admits rps × elapsed + burst under a flood; refuses the rest with 429 and RateLimit headers', async (t) => {
    const pool = new Pool(gw.url, { connections: LOOPS, pipelining: 1 });
    let admitted = 0;
    let refused = 0;
    let firstSend = Number.POSITIVE_INFINITY;
    let lastSend = 0;
    let firstEnd = Number.POSITIVE_INFINITY;
    let lastEnd = 0;
    let maxRemaining = -1;
    const upstreamBefore = up.requests.length;
    const stopAt = performance.now() + HAMMER_MS;
    // On a loaded machine 2 s may not even empty the bucket: go on (up to
    // 15 s) until the flood has really been refused a while.
    const hardStop = stopAt + 13_000;
    const flooded = () => refused >= 2 * LOOPS * 10;
    const loop = async (): Promise<void> => {
      while (performance.now() < stopAt || (!flooded() && performance.now() < hardStop)) {
        const sent = performance.now();
        const res = await pool.request({ path: '/flat/x', method: 'GET' });
        const text = await res.body.text();
        const ended = performance.now();
        if (sent < firstSend) firstSend = sent;
        if (sent > lastSend) lastSend = sent;
        if (ended < firstEnd) firstEnd = ended;
        if (ended > lastEnd) lastEnd = ended;
        const answer = { status: res.statusCode, headers: res.headers, text };
        assert.equal(res.headers['ratelimit-policy'], POLICY);
        if (res.statusCode === 200) {
          admitted++;
          const m = RATELIMIT.exec(String(res.headers.ratelimit));
          assert.ok(m, `admitted answer has a RateLimit field: ${String(res.headers.ratelimit)}`);
          maxRemaining = Math.max(maxRemaining, Number(m[1]));
          assert.equal(res.headers['retry-after'], undefined);
        } else {
          assertRateLimited(answer);
          refused++;
        }
      }
    };
    try {
      await Promise.all(Array.from({ length: LOOPS }, loop));
    } finally {
      await pool.close();
    }
    // The bucket's window runs from its first take to its last. The first take
    // happened after the earliest send and before the earliest answer; the last
    // after the latest send and before the latest answer.
    const shortest = (lastSend - firstEnd) / 1000;
    const longest = (lastEnd - firstSend) / 1000;
    // Slack of 2 tokens: the last, partly refilled token is not spendable, and
    // the gateway's clock has whole milliseconds (and its start-of-burst
    // refill is capped at capacity), which moves the count by under a token.
    const low = (BURST + RPS * shortest) * 0.98 - 2;
    const high = (BURST + RPS * longest) * 1.02 + 2;
    t.diagnostic(
      `admitted ${admitted} of ${admitted + refused}; expected ${low.toFixed(1)}..${high.toFixed(1)}`,
    );
    assert.ok(
      admitted >= low && admitted <= high,
      `admitted ${admitted}, expected ${low.toFixed(1)}..${high.toFixed(1)} (window ${shortest.toFixed(3)}–${longest.toFixed(3)} s, refused ${refused})`,
    );
    assert.ok(refused > admitted, `the flood was refused mostly (${refused} refused)`);
    // The very first request found a full bucket.
    assert.equal(maxRemaining, BURST - 1);
    // Only admitted requests reached the upstream.
    assert.equal(up.requests.length - upstreamBefore, admitted);
    assert.equal(await metricOf(gw, 'cutover_rate_limited_total', { route: 'flat' }), refused);
  });

  test('a key’s bucket is its own: tenant A exhausted leaves tenant B untouched', async () => {
    for (let i = 0; i < 5; i++) {
      const a = await get(`${gw.url}/tenant/x`, { 'x-tenant': 'A' });
      assert.equal(a.status, 200, a.text);
      assert.match(String(a.headers.ratelimit), new RegExp(`^"default";r=${4 - i};t=\\d+$`));
    }
    assertRateLimited(await get(`${gw.url}/tenant/x`, { 'x-tenant': 'A' }));
    for (let i = 0; i < 5; i++) {
      const b = await get(`${gw.url}/tenant/x`, { 'x-tenant': 'B' });
      assert.equal(b.status, 200, `tenant B request ${i + 1}: ${b.text}`);
    }
    assertRateLimited(await get(`${gw.url}/tenant/x`, { 'x-tenant': 'B' }));
    assertRateLimited(await get(`${gw.url}/tenant/x`, { 'x-tenant': 'A' }));
  });

  test('requests without the key share one bucket', async () => {
    // Two clients, on separate connections, neither sending x-tenant.
    const one = new Pool(gw.url, { connections: 1 });
    const two = new Pool(gw.url, { connections: 1 });
    const send = async (pool: Pool): Promise<number> => {
      const res = await pool.request({ path: '/tenant/anon', method: 'GET' });
      await res.body.dump();
      return res.statusCode;
    };
    try {
      for (let i = 0; i < 3; i++) assert.equal(await send(one), 200);
      for (let i = 0; i < 2; i++) assert.equal(await send(two), 200);
      // Five taken from the one shared bucket: both clients are refused now.
      assert.equal(await send(one), 429);
      assert.equal(await send(two), 429);
      // A keyed client is not in that bucket.
      assert.equal((await get(`${gw.url}/tenant/x`, { 'x-tenant': 'C' })).status, 200);
    } finally {
      await one.close();
      await two.close();
    }
  });

  test('a flood of distinct keys keeps at most maxKeys buckets (LRU)', async () => {
    const tenants = 2_000;
    // First key: its only token spent, so it is refused while it is held.
    assert.equal((await get(`${gw.url}/many/x`, { 'x-tenant': 'first' })).status, 200);
    assertRateLimited(await get(`${gw.url}/many/x`, { 'x-tenant': 'first' }));
    const pool = new Pool(gw.url, { connections: 16 });
    let next = 0;
    let ok = 0;
    const loop = async (): Promise<void> => {
      while (next < tenants) {
        const tenant = `t-${next++}`;
        const res = await pool.request({
          path: '/many/x',
          method: 'GET',
          headers: { 'x-tenant': tenant },
        });
        await res.body.dump();
        assert.equal(res.statusCode, 200, `new tenant ${tenant} starts with a full bucket`);
        ok++;
      }
    };
    try {
      await Promise.all(Array.from({ length: 16 }, loop));
    } finally {
      await pool.close();
    }
    assert.equal(ok, tenants);
    const limit = (await routeDetail(gw, 'many')).limit as Json;
    assert.equal(limit.maxKeys, 100);
    assert.equal(typeof limit.keys, 'number');
    assert.ok((limit.keys as number) <= 100, `keys held: ${String(limit.keys)}`);
    assert.ok((limit.keys as number) > 0);
    // The latest tenant is still held (refused again); the first was evicted
    // and starts over with a full bucket — the documented trade-off.
    assertRateLimited(await get(`${gw.url}/many/x`, { 'x-tenant': `t-${tenants - 1}` }));
    assert.equal((await get(`${gw.url}/many/x`, { 'x-tenant': 'first' })).status, 200);
  });
});
