// The split as users meet it, through a real gateway: shares, stickiness,
// weight changes through the admin API, overrides and composite keys.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Agent, request } from 'undici';
import { startGateway, type TestGateway } from '../helpers/gateway.ts';
import { startUpstream, type Upstream } from '../helpers/upstream.ts';

const USERS = 2_000;
/** Requests in flight at once from the test; keep-alive connections are reused between them. */
const PARALLEL = 32;

const agent = new Agent({ connections: PARALLEL, keepAliveTimeout: 10_000 });

interface Answer {
  status: number;
  /** The `x-cutover-backend` header, if any. */
  side: string | undefined;
  /** Which upstream actually answered. */
  upstream: string;
}

async function get(url: string, headers: Record<string, string> = {}): Promise<Answer> {
  const res = await request(url, { headers, dispatcher: agent });
  const body = (await res.body.json()) as { upstream: string };
  const side = res.headers['x-cutover-backend'];
  return {
    status: res.statusCode,
    side: typeof side === 'string' ? side : undefined,
    upstream: body.upstream,
  };
}

/** `fn` over `items`, at most PARALLEL at a time, results in input order. */
async function mapParallel<T, R>(items: readonly T[], fn: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i]);
    }
  };
  await Promise.all(Array.from({ length: PARALLEL }, worker));
  return results;
}

/** The side a user is on, checked against the upstream that answered. */
async function sideOf(url: string, headers: Record<string, string>): Promise<string> {
  const a = await get(url, headers);
  assert.equal(a.status, 200);
  assert.equal(
    a.upstream,
    a.side === 'candidate' ? 'rewrite' : 'legacy',
    'header matches upstream',
  );
  return String(a.side);
}

async function setWeight(gw: TestGateway, route: string, weight: number): Promise<void> {
  const res = await request(`${gw.adminUrl}/api/routes/${route}/weight`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ weight }),
    dispatcher: agent,
  });
  const status = (await res.body.json()) as { weight: number };
  assert.equal(res.statusCode, 200);
  assert.equal(status.weight, weight);
}

const users = Array.from({ length: USERS }, (_, i) => `user-${i}`);

describe('split through the gateway', () => {
  let legacy: Upstream;
  let rewrite: Upstream;
  let gw: TestGateway;

  before(async () => {
    legacy = await startUpstream({ name: 'legacy' });
    rewrite = await startUpstream({ name: 'rewrite' });
    gw = await startGateway(`listen: 127.0.0.1:0
admin: { listen: 127.0.0.1:0 }
state: memory
backends:
  legacy: { url: ${legacy.url} }
  rewrite: { url: ${rewrite.url} }
routes:
  - name: main
    match: { path: /api/* }
    legacy: legacy
    candidate: rewrite
    split: { stickyKey: header:x-user-id }
    weight: 25
  - name: all-in
    match: { path: /all-in/* }
    legacy: legacy
    candidate: rewrite
    split: { stickyKey: header:x-user-id }
    weight: 100
  - name: solo
    match: { path: /solo/* }
    legacy: legacy
  - name: combo
    match: { path: /combo/* }
    legacy: legacy
    candidate: rewrite
    split: { stickyKey: header:x-user-id+header:x-biz-id }
    weight: 50
  - name: quiet
    match: { path: /quiet/* }
    legacy: legacy
    candidate: rewrite
    split: { stickyKey: header:x-user-id }
    weight: 100
    backendHeader: false
  - name: random
    match: { path: /random/* }
    legacy: legacy
    candidate: rewrite
    weight: 50
`);
  });
  after(async () => {
    await gw.close();
    await legacy.close();
    await rewrite.close();
    await agent.close();
  });

  /** The users on the candidate of route main at its current weight. */
  async function candidateUsers(): Promise<Set<string>> {
    const sides = await mapParallel(users, (u) => sideOf(`${gw.url}/api/x`, { 'x-user-id': u }));
    assert.ok(
      sides.every((s) => s === 'legacy' || s === 'candidate'),
      'every response names its side',
    );
    return new Set(users.filter((_, i) => sides[i] === 'candidate'));
  }
  /** Measured once at weight 25 and shared by the tests below, so 2,000 requests are not repeated. */
  let at25: Promise<Set<string>> | undefined;
  const candidatesAt25 = (): Promise<Set<string>> => {
    at25 ??= candidateUsers();
    return at25;
  };

  test('2,000 users at weight 25: 25% ± 3% on the candidate', async () => {
    const share = (await candidatesAt25()).size / USERS;
    assert.ok(share >= 0.22 && share <= 0.28, `candidate share ${share}`);
  });

  test('a user stays on the same side for 20 requests', async () => {
    for (const u of ['user-1', 'user-2', 'user-3', 'user-4', 'user-5', 'user-6']) {
      const sides = await mapParallel(Array(20).fill(u), (id: string) =>
        sideOf(`${gw.url}/api/x`, { 'x-user-id': id }),
      );
      assert.equal(new Set(sides).size, 1, `${u} saw ${JSON.stringify(sides)}`);
      assert.equal(sides[0] === 'candidate', (await candidatesAt25()).has(u), `${u} kept its side`);
    }
  });

  test('raising the weight through the admin API moves users only from legacy to candidate', async () => {
    const before = await candidatesAt25();
    assert.ok(before.size > 0, 'some users on the candidate at 25');
    await setWeight(gw, 'main', 50);
    try {
      const candidatesAt50 = await candidateUsers();
      const movedBack = [...before].filter((u) => !candidatesAt50.has(u));
      assert.deepEqual(movedBack, [], 'no candidate user went back to legacy');
      assert.ok(candidatesAt50.size > before.size, 'more users on the candidate');
      const share = candidatesAt50.size / USERS;
      assert.ok(share >= 0.47 && share <= 0.53, `candidate share at 50: ${share}`);
    } finally {
      await setWeight(gw, 'main', 25);
    }
  });

  test('x-release-stage: canary forces the candidate at weight 0', async () => {
    await setWeight(gw, 'main', 0);
    try {
      for (const u of users.slice(0, 50)) {
        assert.equal(await sideOf(`${gw.url}/api/x`, { 'x-user-id': u }), 'legacy');
        assert.equal(
          await sideOf(`${gw.url}/api/x`, { 'x-user-id': u, 'x-release-stage': 'canary' }),
          'candidate',
        );
      }
      // Without a sticky key too.
      assert.equal(await sideOf(`${gw.url}/api/x`, { 'x-release-stage': 'canary' }), 'candidate');
    } finally {
      await setWeight(gw, 'main', 25);
    }
  });

  test('x-release-stage: stable forces legacy at weight 100', async () => {
    for (const u of users.slice(0, 50)) {
      assert.equal(await sideOf(`${gw.url}/all-in/x`, { 'x-user-id': u }), 'candidate');
      assert.equal(
        await sideOf(`${gw.url}/all-in/x`, { 'x-user-id': u, 'x-release-stage': 'stable' }),
        'legacy',
      );
    }
  });

  test('a route without a candidate: always legacy, even with the canary override', async () => {
    for (let i = 0; i < 20; i++) {
      assert.equal(
        await sideOf(`${gw.url}/solo/x`, { 'x-user-id': `user-${i}`, 'x-release-stage': 'canary' }),
        'legacy',
      );
    }
  });

  test('composite key: one user can be on both sides by biz id; a pair never changes side', async () => {
    const bizIds = Array.from({ length: 20 }, (_, i) => `biz-${i}`);
    for (const user of ['user-1', 'user-2', 'user-3']) {
      const sides = await mapParallel(bizIds, (biz) =>
        sideOf(`${gw.url}/combo/x`, { 'x-user-id': user, 'x-biz-id': biz }),
      );
      assert.equal(new Set(sides).size, 2, `${user} across 20 biz ids: ${JSON.stringify(sides)}`);
      for (const [i, biz] of bizIds.entries()) {
        const again = await mapParallel(Array(5).fill(biz), (b: string) =>
          sideOf(`${gw.url}/combo/x`, { 'x-user-id': user, 'x-biz-id': b }),
        );
        assert.deepEqual(again, Array(5).fill(sides[i]), `${user}+${biz} keeps its side`);
      }
    }
    // The same biz id with different users splits too: the key is the pair, not one part.
    const byUser = await mapParallel(users.slice(0, 20), (u) =>
      sideOf(`${gw.url}/combo/x`, { 'x-user-id': u, 'x-biz-id': 'biz-0' }),
    );
    assert.equal(new Set(byUser).size, 2, `biz-0 across 20 users: ${JSON.stringify(byUser)}`);
  });

  test('backendHeader: false sends no x-cutover-backend header', async () => {
    for (let i = 0; i < 5; i++) {
      const a = await get(`${gw.url}/quiet/x`, { 'x-user-id': `user-${i}` });
      assert.equal(a.status, 200);
      assert.equal(a.side, undefined);
      assert.equal(a.upstream, 'rewrite', 'the request was still proxied to the candidate');
    }
  });

  test('no sticky key at weight 50: requests are split at random, 50% ± 10%', async () => {
    const sides = await mapParallel(
      Array.from({ length: 400 }, (_, i) => i),
      () => sideOf(`${gw.url}/random/x`, {}),
    );
    const candidate = sides.filter((s) => s === 'candidate').length;
    const legacyCount = sides.filter((s) => s === 'legacy').length;
    assert.equal(candidate + legacyCount, 400);
    assert.ok(candidate > 0 && legacyCount > 0, 'both sides appear');
    const share = candidate / 400;
    assert.ok(share >= 0.4 && share <= 0.6, `candidate share ${share}`);
  });
});
