// Fallback to legacy as users meet it, through a real gateway: which candidate
// failures legacy covers for, which requests are safe to send twice, what is
// counted and logged, and a candidate that dies under load.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { Agent, request } from 'undici';
import { startGateway, type TestGateway } from '../helpers/gateway.ts';
import { metricValue } from '../helpers/metrics.ts';
import { startUpstream, type Upstream } from '../helpers/upstream.ts';
import { eventually } from '../helpers/wait.ts';

type Json = Record<string, unknown>;

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/** Deadline for anything the test waits for; generous, as it only bounds a failure. */

async function call(
  url: string,
  options: { method?: 'GET' | 'POST'; body?: Buffer; headers?: Record<string, string> } = {},
): Promise<Answer> {
  const res = await request(url, {
    method: options.method ?? 'GET',
    headers: options.headers,
    body: options.body,
  });
  return {
    status: res.statusCode,
    headers: res.headers,
    body: Buffer.from(await res.body.arrayBuffer()),
  };
}

function json(a: Answer): Json {
  return JSON.parse(a.body.toString('utf8')) as Json;
}

async function fallbacks(gw: TestGateway, labels: Record<string, string>): Promise<number> {
  const a = await call(`${gw.adminUrl}/metrics`);
  assert.equal(a.status, 200);
  return metricValue(a.body.toString('utf8'), 'cutover_fallbacks_total', labels);
}

/** A local port nobody listens on: connections to it are refused. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const { port } = server.address() as { port: number };
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

/** Requests `up` received for paths under `prefix`. */
function seen(up: Upstream, prefix: string, method = 'GET'): number {
  return up.requests.filter((r) => r.method === method && r.url.startsWith(prefix)).length;
}

describe('fallback to legacy', () => {
  let legacy: Upstream;
  let legacyEcho: Upstream;
  let fails: Upstream;
  let hangs: Upstream;
  let resets: Upstream;
  let gw: TestGateway;

  before(async () => {
    legacy = await startUpstream({ name: 'legacy' });
    legacyEcho = await startUpstream({ name: 'legacy-echo', behavior: 'echo' });
    fails = await startUpstream({ name: 'fails', behavior: 'status:500' });
    hangs = await startUpstream({ name: 'hangs', behavior: 'hang' });
    resets = await startUpstream({ name: 'resets', behavior: 'reset' });
    const refused = `http://127.0.0.1:${await closedPort()}`;
    // Candidate breakers are off here so that every failure shows its own
    // reason; the breaker's fallbacks are covered in breaker-e2e and below.
    gw = await startGateway(`listen: 127.0.0.1:0
admin: { listen: 127.0.0.1:0 }
state: memory
backends:
  legacy: { url: ${legacy.url} }
  legacy-echo: { url: ${legacyEcho.url} }
  refused: { url: ${refused}, breaker: false }
  fails: { url: ${fails.url}, breaker: false }
  hangs: { url: ${hangs.url}, breaker: false }
  resets: { url: ${resets.url}, breaker: false }
  guarded: { url: ${fails.url} }
routes:
  - { name: connect, match: { path: /connect/* }, legacy: legacy, candidate: refused, weight: 100 }
  - { name: five, match: { path: /five/* }, legacy: legacy, candidate: fails, weight: 100 }
  - name: connect-only
    match: { path: /connect-only/* }
    legacy: legacy
    candidate: fails
    weight: 100
    fallback: { on: [connect] }
  - { name: timeout, match: { path: /timeout/* }, legacy: legacy, candidate: hangs, weight: 100, timeout: 300ms }
  - { name: reset, match: { path: /reset/* }, legacy: legacy, candidate: resets, weight: 100 }
  - name: post
    match: { path: /post/* }
    legacy: legacy-echo
    candidate: fails
    weight: 100
    fallback: { maxBodyBytes: 1KiB }
  - { name: off, match: { path: /off/* }, legacy: legacy, candidate: fails, weight: 100, fallback: false }
  - { name: off-connect, match: { path: /off-connect/* }, legacy: legacy, candidate: refused, weight: 100, fallback: false }
  - { name: off-guarded, match: { path: /off-guarded/* }, legacy: legacy, candidate: guarded, weight: 100, fallback: false }
`);
  });

  after(async () => {
    await gw.close();
    for (const up of [legacy, legacyEcho, fails, hangs, resets]) await up.close();
  });

  /** GETs `n` times under `prefix`; each must be legacy's 200 marked with `reason`; checks the counter. */
  async function expectFallbacks(route: string, prefix: string, reason: string, n: number) {
    const before = await fallbacks(gw, { route, reason });
    const legacyBefore = seen(legacy, prefix);
    const answers: Answer[] = [];
    for (let i = 0; i < n; i++) {
      const a = await call(`${gw.url}${prefix}${i}`);
      assert.equal(a.status, 200, a.body.toString());
      assert.equal(json(a).upstream, 'legacy');
      assert.equal(a.headers['x-cutover-backend'], 'legacy');
      assert.equal(a.headers['x-cutover-fallback'], reason);
      answers.push(a);
    }
    assert.equal(seen(legacy, prefix), legacyBefore + n);
    assert.equal(await fallbacks(gw, { route, reason }), before + n);
    return answers;
  }

  test('candidate refusing connections: legacy answers, x-cutover-fallback: connect', async () => {
    const [first] = await expectFallbacks('connect', '/connect/', 'connect', 3);
    const reqId = String(first.headers['x-request-id']);
    let line: Json | undefined;
    await eventually('the access log line', () => {
      line = gw.accessLogs().find((l) => l.reqId === reqId);
      return line !== undefined;
    });
    assert.equal(line!.fallback, 'connect');
    assert.equal(line!.side, 'legacy');
    assert.equal(line!.backend, 'legacy');
    assert.equal(line!.status, 200);
    assert.equal(line!.attempts, 2);
  });

  test('candidate answering 500: legacy answers, x-cutover-fallback: 5xx', async () => {
    const before = seen(fails, '/five/');
    const [first] = await expectFallbacks('five', '/five/', '5xx', 3);
    assert.equal(seen(fails, '/five/'), before + 3, 'the candidate was tried each time');
    const reqId = String(first.headers['x-request-id']);
    await eventually('the access log line with fallback 5xx', () =>
      gw.accessLogs().some((l) => l.reqId === reqId && l.fallback === '5xx'),
    );
  });

  test('with fallback.on [connect], the candidate 500 reaches the client', async () => {
    const legacyBefore = seen(legacy, '/connect-only/');
    const a = await call(`${gw.url}/connect-only/x`);
    assert.equal(a.status, 500);
    assert.equal(json(a).upstream, 'fails');
    assert.equal(a.headers['x-cutover-backend'], 'candidate');
    assert.equal(a.headers['x-cutover-fallback'], undefined);
    assert.equal(seen(legacy, '/connect-only/'), legacyBefore);
    assert.equal(await fallbacks(gw, { route: 'connect-only' }), 0);
  });

  test('candidate hanging past the route timeout: x-cutover-fallback: timeout', async () => {
    await expectFallbacks('timeout', '/timeout/', 'timeout', 2);
    assert.equal(seen(hangs, '/timeout/'), 2);
  });

  test('candidate resetting the connection: x-cutover-fallback: reset', async () => {
    await expectFallbacks('reset', '/reset/', 'reset', 3);
    assert.equal(seen(resets, '/reset/'), 3);
  });

  test('a POST without Idempotency-Key is not resent: the client gets the candidate 500', async () => {
    const echoBefore = legacyEcho.requests.length;
    const a = await call(`${gw.url}/post/no-key`, {
      method: 'POST',
      body: randomBytes(100),
      headers: { 'content-type': 'application/octet-stream' },
    });
    assert.equal(a.status, 500);
    assert.equal(json(a).upstream, 'fails');
    assert.equal(a.headers['x-cutover-fallback'], undefined);
    assert.equal(legacyEcho.requests.length, echoBefore, 'legacy saw no POST');
    assert.equal(await fallbacks(gw, { route: 'post' }), 0);
  });

  test('a POST without Idempotency-Key to a refusing candidate gets the 502, not legacy', async () => {
    const legacyBefore = legacy.requests.length;
    const a = await call(`${gw.url}/off-connect/x`, { method: 'POST', body: randomBytes(100) });
    assert.equal(a.status, 502);
    assert.equal(json(a).code, 'CUTOVER_ERR_UPSTREAM_CONNECT');
    assert.equal(legacy.requests.length, legacyBefore);
    // The same on a route with fallback on: a POST is not safe to resend.
    const b = await call(`${gw.url}/connect/post`, { method: 'POST', body: randomBytes(100) });
    assert.equal(b.status, 502);
    assert.equal(json(b).code, 'CUTOVER_ERR_UPSTREAM_CONNECT');
    assert.equal(b.headers['x-cutover-fallback'], undefined);
    assert.equal(legacy.requests.length, legacyBefore, 'legacy saw no POST');
  });

  test('a POST with Idempotency-Key and a small body is resent: legacy gets the same bytes', async () => {
    const payload = randomBytes(700);
    const candidateBefore = fails.requests.length;
    const a = await call(`${gw.url}/post/with-key`, {
      method: 'POST',
      body: payload,
      headers: { 'idempotency-key': 'k-1', 'content-type': 'application/octet-stream' },
    });
    assert.equal(a.status, 200);
    assert.equal(a.headers['x-cutover-fallback'], '5xx');
    assert.equal(a.headers['x-cutover-backend'], 'legacy');
    assert.ok(a.body.equals(payload), 'legacy echoed exactly the bytes the client sent');
    assert.equal(fails.requests.length, candidateBefore + 1);
    assert.equal(
      fails.requests.at(-1)!.bodyBytes,
      payload.length,
      'the candidate had the body too',
    );
    const atLegacy = legacyEcho.requests.at(-1)!;
    assert.equal(atLegacy.method, 'POST');
    assert.equal(atLegacy.headers['idempotency-key'], 'k-1');
    assert.equal(await fallbacks(gw, { route: 'post', reason: '5xx' }), 1);
  });

  test('a POST with Idempotency-Key over fallback.maxBodyBytes is not resent', async () => {
    const echoBefore = legacyEcho.requests.length;
    const payload = randomBytes(2048);
    const a = await call(`${gw.url}/post/big`, {
      method: 'POST',
      body: payload,
      headers: { 'idempotency-key': 'k-2', 'content-type': 'application/octet-stream' },
    });
    assert.equal(a.status, 500);
    assert.equal(json(a).upstream, 'fails');
    assert.equal(a.headers['x-cutover-fallback'], undefined);
    await fails.requests.at(-1)!.closed;
    assert.equal(fails.requests.at(-1)!.bodyBytes, payload.length, 'streamed to the candidate');
    assert.equal(legacyEcho.requests.length, echoBefore, 'legacy saw no POST');
  });

  test('fallback: false leaves the candidate answer (500 or 502) with the client', async () => {
    const legacyBefore = legacy.requests.length;
    const a = await call(`${gw.url}/off/x`);
    assert.equal(a.status, 500);
    assert.equal(json(a).upstream, 'fails');
    assert.equal(a.headers['x-cutover-fallback'], undefined);
    const b = await call(`${gw.url}/off-connect/x`);
    assert.equal(b.status, 502);
    assert.equal(b.headers['content-type'], 'application/problem+json');
    assert.equal(json(b).code, 'CUTOVER_ERR_UPSTREAM_CONNECT');
    assert.equal(legacy.requests.length, legacyBefore);
    assert.equal(await fallbacks(gw, { route: 'off' }), 0);
    assert.equal(await fallbacks(gw, { route: 'off-connect' }), 0);
  });
  test('fallback: false with the candidate breaker open: 503 CUTOVER_ERR_BREAKER_OPEN, legacy untouched', async () => {
    const force = (state: string) =>
      request(`${gw.adminUrl}/api/backends/guarded/breaker`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ state }),
      }).then((r) => r.body.dump().then(() => r.statusCode));
    assert.equal(await force('open'), 200);
    try {
      const legacyBefore = legacy.requests.length;
      const candidateBefore = fails.requests.length;
      const a = await call(`${gw.url}/off-guarded/x`);
      assert.equal(a.status, 503);
      assert.equal(a.headers['content-type'], 'application/problem+json');
      assert.equal(json(a).code, 'CUTOVER_ERR_BREAKER_OPEN');
      assert.ok(a.headers['retry-after'], 'Retry-After is set');
      assert.equal(a.headers['x-cutover-fallback'], undefined);
      assert.equal(legacy.requests.length, legacyBefore);
      assert.equal(fails.requests.length, candidateBefore);
      assert.equal(await fallbacks(gw, { route: 'off-guarded' }), 0);
    } finally {
      assert.equal(await force('auto'), 200);
    }
  });
});

describe('candidate killed under load', () => {
  test('at weight 50, no client sees anything but a 200, and every fallback is counted', async (t) => {
    const legacy = await startUpstream({ name: 'legacy' });
    const rewrite = await startUpstream({ name: 'rewrite' });
    // Default guards: breaker and fallback on, as an operator would run it.
    const gw = await startGateway(`listen: 127.0.0.1:0
admin: { listen: 127.0.0.1:0 }
state: memory
backends:
  legacy: { url: ${legacy.url} }
  rewrite: { url: ${rewrite.url} }
routes:
  - name: main
    match: { path: /* }
    legacy: legacy
    candidate: rewrite
    split: { stickyKey: header:x-user-id }
    weight: 50
`);
    const agent = new Agent({ connections: 32, keepAliveTimeout: 10_000 });
    const LOOPS = 20;
    const RUN_MS = 3_000;
    const KILL_AFTER_MS = 1_000;
    const statuses = new Map<number, number>();
    const errors: string[] = [];
    let withFallback = 0;
    let byCandidate = 0;
    let total = 0;
    try {
      const stopAt = Date.now() + RUN_MS;
      const loop = async (n: number): Promise<void> => {
        for (let i = 0; Date.now() < stopAt; i++) {
          try {
            const res = await request(`${gw.url}/item/${i}`, {
              headers: { 'x-user-id': `user-${n}-${i}` },
              dispatcher: agent,
            });
            await res.body.dump();
            total++;
            statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1);
            if (res.headers['x-cutover-fallback'] !== undefined) withFallback++;
            if (res.headers['x-cutover-backend'] === 'candidate') byCandidate++;
          } catch (error) {
            errors.push(String(error));
          }
        }
      };
      const loops = Array.from({ length: LOOPS }, (_, n) => loop(n));
      await new Promise((r) => setTimeout(r, KILL_AFTER_MS));
      const servedBeforeKill = byCandidate;
      await rewrite.close();
      await Promise.all(loops);

      assert.deepEqual(errors, [], 'no client request failed');
      assert.deepEqual([...statuses.keys()], [200], `statuses: ${JSON.stringify([...statuses])}`);
      assert.ok(servedBeforeKill > 0, 'the candidate served users before it died');
      assert.ok(withFallback > 0, 'legacy covered for the dead candidate');
      const m = await request(`${gw.adminUrl}/metrics`, { dispatcher: agent });
      const text = await m.body.text();
      const counted = metricValue(text, 'cutover_fallbacks_total', { route: 'main' });
      const reasons = ['connect', 'reset', 'timeout', '5xx', 'breaker-open'].map(
        (reason) =>
          `${reason}=${metricValue(text, 'cutover_fallbacks_total', { route: 'main', reason })}`,
      );
      t.diagnostic(
        `${total} requests, ${servedBeforeKill} by the candidate before the kill, ${withFallback} fallbacks (${reasons.join(' ')})`,
      );
      assert.equal(counted, withFallback, `${total} requests, fallbacks by metric vs header`);
    } finally {
      await gw.close();
      await agent.close();
      await legacy.close();
      await rewrite.close();
    }
  });
});
