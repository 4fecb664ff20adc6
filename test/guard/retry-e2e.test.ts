// Retries as users meet them, through a real gateway: a bad instance is
// retried on a good one, 503 Retry-After is honoured (capped), unsafe requests
// are not resent, and the retry budget keeps a failing upstream from being
// hit attempts × requests times.
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { request } from 'undici';
import { startGateway, type TestGateway } from '../helpers/gateway.ts';
import { metricValue } from '../helpers/metrics.ts';
import { startUpstream, type Upstream } from '../helpers/upstream.ts';
import { eventually } from '../helpers/wait.ts';

type Json = Record<string, unknown>;

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

/** Deadline for anything the test waits for; generous, as it only bounds a failure. */
const DEADLINE_MS = 10_000;

async function call(
  url: string,
  options: { method?: 'GET' | 'POST'; body?: string; headers?: Record<string, string> } = {},
): Promise<Answer> {
  const res = await request(url, {
    method: options.method ?? 'GET',
    headers: options.headers,
    body: options.body,
    // Bounds a failure (a retry that waits for ever); a passing request is far quicker.
    signal: AbortSignal.timeout(DEADLINE_MS),
  });
  return { status: res.statusCode, headers: res.headers, text: await res.body.text() };
}

function json(a: Answer): Json {
  return JSON.parse(a.text) as Json;
}

async function retries(gw: TestGateway, route: string): Promise<number> {
  const a = await call(`${gw.adminUrl}/metrics`);
  assert.equal(a.status, 200);
  return metricValue(a.text, 'cutover_retries_total', { route });
}

async function accessLine(gw: TestGateway, a: Answer): Promise<Json> {
  const reqId = String(a.headers['x-request-id']);
  let line: Json | undefined;
  await eventually(`the access log line of ${reqId}`, () => {
    line = gw.accessLogs().find((l) => l.reqId === reqId);
    return line !== undefined;
  });
  return line!;
}

interface CustomUpstream {
  readonly url: string;
  /** Request targets received, in order. */
  readonly requests: string[];
  close(): Promise<void>;
}

async function startCustom(
  handle: (req: IncomingMessage, res: ServerResponse, seen: string[]) => void,
): Promise<CustomUpstream> {
  const requests: string[] = [];
  const server: Server = createServer((req, res) => {
    requests.push(req.url ?? '');
    req.resume();
    handle(req, res, requests);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/**
 * The first request for a target answers 503 with `Retry-After: <ra>` (the
 * `ra` query parameter), later ones 200.
 */
function firstUnavailable(req: IncomingMessage, res: ServerResponse, seen: string[]): void {
  const url = req.url ?? '';
  if (seen.filter((u) => u === url).length === 1) {
    const ra = new URL(url, 'http://x').searchParams.get('ra') ?? '0';
    res.writeHead(503, { 'retry-after': ra, 'content-type': 'text/plain' }).end('busy');
    return;
  }
  res.writeHead(200, { 'content-type': 'application/json' }).end('{"upstream":"flaky"}');
}

const RETRY = '{ attempts: 3, backoff: 10ms, maxBackoff: 50ms }';

describe('retries', () => {
  let bad: Upstream;
  let good: Upstream;
  let badDefault: Upstream;
  let goodDefault: Upstream;
  let resets: Upstream;
  let fails: Upstream;
  let flaky: CustomUpstream;
  let gw: TestGateway;

  before(async () => {
    bad = await startUpstream({ name: 'bad', behavior: 'reset' });
    good = await startUpstream({ name: 'good' });
    badDefault = await startUpstream({ name: 'bad-default', behavior: 'reset' });
    goodDefault = await startUpstream({ name: 'good-default' });
    resets = await startUpstream({ name: 'resets', behavior: 'reset' });
    fails = await startUpstream({ name: 'fails', behavior: 'status:500' });
    flaky = await startCustom(firstUnavailable);
    // `pair` turns outlier ejection and the breaker off so that every request
    // meets the bad instance once; `pair-default` keeps both, as shipped.
    gw = await startGateway(`listen: 127.0.0.1:0
admin: { listen: 127.0.0.1:0 }
state: memory
backends:
  pair: { urls: [${bad.url}, ${good.url}], outlier: false, breaker: false }
  pair-default: { urls: [${badDefault.url}, ${goodDefault.url}] }
  resets: { url: ${resets.url} }
  fails: { url: ${fails.url} }
  flaky: { url: ${flaky.url} }
routes:
  - { name: pair, match: { path: /pair/* }, legacy: pair, retry: ${RETRY} }
  - { name: pair-default, match: { path: /pair-default/* }, legacy: pair-default, retry: ${RETRY} }
  - { name: resets, match: { path: /resets/* }, legacy: resets, retry: ${RETRY} }
  - { name: fails, match: { path: /fails/* }, legacy: fails, retry: ${RETRY} }
  - { name: flaky, match: { path: /flaky/* }, legacy: flaky, retry: ${RETRY} }
  - { name: no-retry, match: { path: /no-retry/* }, legacy: resets }
`);
  });

  after(async () => {
    await gw.close();
    for (const up of [bad, good, badDefault, goodDefault, resets, fails]) await up.close();
    await flaky.close();
  });

  test('an instance that resets is retried on the other one: every client gets 200', async () => {
    const before = await retries(gw, 'pair');
    const N = 6;
    for (let i = 0; i < N; i++) {
      const a = await call(`${gw.url}/pair/${i}`);
      assert.equal(a.status, 200, a.text);
      assert.equal(json(a).upstream, 'good');
      if (i === 0) assert.equal((await accessLine(gw, a)).attempts, 2);
    }
    // Round robin: each request met the bad instance first, then the good one.
    assert.equal(bad.requests.length, N);
    assert.equal(good.requests.length, N);
    assert.equal(await retries(gw, 'pair'), before + N);
  });

  test('with default outlier and breaker settings, one bad instance of two costs no client a failure', async () => {
    for (let i = 0; i < 40; i++) {
      const a = await call(`${gw.url}/pair-default/${i}`);
      assert.equal(a.status, 200, `request ${i}: ${a.text}`);
      assert.equal(json(a).upstream, 'good-default');
    }
    assert.ok(await retries(gw, 'pair-default'), 'the bad instance was retried');
  });

  test('a 503 with Retry-After: 0 is retried, and the client gets the 200', async () => {
    const before = await retries(gw, 'flaky');
    const a = await call(`${gw.url}/flaky/a?ra=0`);
    assert.equal(a.status, 200, a.text);
    assert.equal(json(a).upstream, 'flaky');
    assert.equal(a.headers['retry-after'], undefined, 'the 503 never reached the client');
    assert.equal(flaky.requests.filter((u) => u === '/flaky/a?ra=0').length, 2);
    assert.equal(await retries(gw, 'flaky'), before + 1);
    assert.equal((await accessLine(gw, a)).attempts, 2);
  });

  test('a Retry-After longer than maxBackoff waits only maxBackoff', async () => {
    // Uncapped, this retry would wait an hour and the request would hit the deadline.
    const a = await call(`${gw.url}/flaky/b?ra=3600`);
    assert.equal(a.status, 200, a.text);
    assert.equal(flaky.requests.filter((u) => u === '/flaky/b?ra=3600').length, 2);
  });

  test('a 500 is not retried', async () => {
    const before = fails.requests.length;
    const a = await call(`${gw.url}/fails/x`);
    assert.equal(a.status, 500);
    assert.equal(json(a).upstream, 'fails');
    assert.equal(fails.requests.length, before + 1);
  });

  test('a GET that keeps failing is tried `attempts` times, then the client gets the 502', async () => {
    const before = resets.requests.length;
    const a = await call(`${gw.url}/resets/get`);
    assert.equal(a.status, 502, a.text);
    assert.equal(json(a).code, 'CUTOVER_ERR_UPSTREAM_RESET');
    assert.equal(resets.requests.length, before + 3);
    assert.equal((await accessLine(gw, a)).attempts, 3);
  });

  test('a POST without Idempotency-Key is not retried', async () => {
    const before = resets.requests.length;
    const retriesBefore = await retries(gw, 'resets');
    const a = await call(`${gw.url}/resets/post`, { method: 'POST', body: '{"n":1}' });
    assert.equal(a.status, 502, a.text);
    assert.equal(json(a).code, 'CUTOVER_ERR_UPSTREAM_RESET');
    assert.equal(resets.requests.length, before + 1);
    assert.equal(await retries(gw, 'resets'), retriesBefore);
  });

  test('a POST with Idempotency-Key is retried with its body', async () => {
    const before = resets.requests.length;
    const body = '{"n":2}';
    const a = await call(`${gw.url}/resets/post-key`, {
      method: 'POST',
      body,
      headers: { 'idempotency-key': 'k-1', 'content-type': 'application/json' },
    });
    assert.equal(a.status, 502, a.text);
    const tried = resets.requests.slice(before);
    assert.equal(tried.length, 3);
    for (const r of tried) {
      assert.equal(r.method, 'POST');
      assert.equal(r.headers['idempotency-key'], 'k-1');
      assert.equal(r.headers['content-length'], String(body.length));
    }
  });

  test('a route without retry configured does not retry', async () => {
    const before = resets.requests.length;
    const a = await call(`${gw.url}/no-retry/x`);
    assert.equal(a.status, 502, a.text);
    assert.equal(resets.requests.length, before + 1);
  });
});

describe('retry budget with minConcurrent: 1', () => {
  // A lone request: one request in flight, so the budget is minConcurrent = 1
  // retry in flight. A retry that failed is over; the next retry of the same
  // request takes its place rather than adding to the retries in flight.
  const ROUTE_RETRY =
    '{ attempts: 3, budget: 0.2, minConcurrent: 1, backoff: 10ms, maxBackoff: 50ms }';
  let unavailable: Upstream;
  let resetting: Upstream;
  let gw: TestGateway;

  before(async () => {
    unavailable = await startUpstream({ name: 'unavailable', behavior: 'status:503' });
    resetting = await startUpstream({ name: 'resetting', behavior: 'reset' });
    gw = await startGateway(`listen: 127.0.0.1:0
admin: { listen: 127.0.0.1:0 }
state: memory
backends:
  unavailable: { url: ${unavailable.url}, breaker: false }
  resetting: { url: ${resetting.url}, breaker: false }
routes:
  - { name: unavailable, match: { path: /unavailable/* }, legacy: unavailable, retry: ${ROUTE_RETRY} }
  - { name: resetting, match: { path: /resetting/* }, legacy: resetting, retry: ${ROUTE_RETRY} }
`);
  });

  after(async () => {
    await gw.close();
    await unavailable.close();
    await resetting.close();
  });

  test('a lone request whose upstream keeps resetting gets all 3 attempts', async () => {
    const a = await call(`${gw.url}/resetting/x`);
    assert.equal(a.status, 502, a.text);
    assert.equal(resetting.requests.length, 3);
  });

  test('a lone request whose upstream keeps answering 503 gets all 3 attempts too', async () => {
    const a = await call(`${gw.url}/unavailable/x`);
    assert.equal(a.status, 503, a.text);
    assert.equal(
      unavailable.requests.length,
      3,
      'as many attempts as for resets: the failed retry must not count against its successor',
    );
    assert.equal((await accessLine(gw, a)).attempts, 3);
  });
});

describe('retry budget', () => {
  test('20 requests failing together make far fewer than 20 × attempts upstream calls', async (t) => {
    const CLIENTS = 20;
    const ATTEMPTS = 5;
    // Holds the first CLIENTS requests until all have arrived, so that every
    // client request is in flight when the first failures come back; then
    // answers them all, and everything after, with a 503.
    const held: ServerResponse[] = [];
    const fail = (res: ServerResponse) =>
      res.writeHead(503, { 'content-type': 'text/plain' }).end('down');
    const upstream = await startCustom((_req, res, seen) => {
      if (seen.length > CLIENTS) {
        fail(res);
        return;
      }
      held.push(res);
      if (held.length === CLIENTS) for (const r of held) fail(r);
    });
    // Breaker off: an open breaker would also stop the retries, and this is
    // about the budget alone.
    const gw = await startGateway(`listen: 127.0.0.1:0
admin: { listen: 127.0.0.1:0 }
state: memory
backends:
  down: { url: ${upstream.url}, breaker: false }
routes:
  - name: down
    match: { path: /* }
    legacy: down
    retry: { attempts: ${ATTEMPTS}, budget: 0.2, minConcurrent: 1, backoff: 200ms, maxBackoff: 200ms }
`);
    try {
      const answers = await Promise.all(
        Array.from({ length: CLIENTS }, (_, i) => call(`${gw.url}/r/${i}`)),
      );
      for (const a of answers) assert.equal(a.status, 503, 'every client got an answer');
      // With all 20 in flight, at most ⌊0.2 × 20⌋ = 4 retries may wait at once,
      // so the first failures leave at most 4 requests alive; with fewer than
      // 10 in flight the budget is minConcurrent = 1, and each survivor has at
      // most ATTEMPTS − 1 retries: 20 + 4 × 4 = 36 calls at most, not 100.
      const bound = CLIENTS + 4 * (ATTEMPTS - 1);
      const calls = upstream.requests.length;
      t.diagnostic(`${calls} upstream calls for ${CLIENTS} requests (bound ${bound})`);
      assert.ok(calls >= CLIENTS, `every request reached the upstream once (${calls})`);
      assert.ok(calls <= bound, `${calls} upstream calls, expected at most ${bound}`);
      const detail = await call(`${gw.adminUrl}/api/routes/down`);
      const budget = json(detail).retry as { started: number; denied: number };
      assert.equal(budget.started, calls - CLIENTS, 'every extra call was a budgeted retry');
      assert.ok(budget.denied >= CLIENTS - 4, `retries denied: ${budget.denied}`);
      assert.equal(await retries(gw, 'down'), budget.started);
    } finally {
      await gw.close();
      await upstream.close();
    }
  });
});

describe('retry budget under sustained load', () => {
  test('retry attempts in flight at a slowly failing upstream stay within the budget', async (t) => {
    const LOOPS = 20;
    const RUN_MS = 2_000;
    // Every request fails, slowly: a retry spends most of its life at the upstream.
    const ids = new Set<string>();
    let retriesNow = 0;
    let retriesPeak = 0;
    let retryCalls = 0;
    const upstream = await startCustom((req, res) => {
      const id = String(req.headers['x-request-id']);
      const isRetry = ids.has(id);
      ids.add(id);
      if (isRetry) {
        retryCalls++;
        retriesNow++;
        retriesPeak = Math.max(retriesPeak, retriesNow);
        res.once('close', () => retriesNow--);
      }
      const timer = setTimeout(
        () => res.writeHead(503, { 'content-type': 'text/plain' }).end('down'),
        50 + Math.floor(Math.random() * 200),
      );
      res.once('close', () => clearTimeout(timer));
    });
    const gw = await startGateway(`listen: 127.0.0.1:0
admin: { listen: 127.0.0.1:0 }
state: memory
backends:
  down: { url: ${upstream.url}, breaker: false }
routes:
  - name: down
    match: { path: /* }
    legacy: down
    retry: { attempts: 5, budget: 0.2, minConcurrent: 1, backoff: 10ms, maxBackoff: 10ms }
`);
    let answered = 0;
    try {
      const stopAt = Date.now() + RUN_MS;
      const loop = async (n: number): Promise<void> => {
        for (let i = 0; Date.now() < stopAt; i++) {
          const a = await call(`${gw.url}/r/${n}/${i}`);
          assert.equal(a.status, 503);
          answered++;
        }
      };
      await Promise.all(Array.from({ length: LOOPS }, (_, n) => loop(n)));
      // The test's 20 clients are all the route has in flight, so at most
      // max(⌊0.2 × 20⌋, 1) = 4 retries may be in flight at any moment. The
      // upstream sees a retry start after the gateway sends it and end before
      // the gateway hears of it, so it can only under-count.
      const bound = Math.max(Math.floor(0.2 * LOOPS), 1);
      t.diagnostic(
        `${answered} client requests, ${ids.size} distinct at the upstream, ${retryCalls} retries, at most ${retriesPeak} retries in flight at once (bound ${bound})`,
      );
      assert.ok(retryCalls > 0, 'the budget allowed some retries');
      assert.ok(
        retriesPeak <= bound,
        `${retriesPeak} retries in flight at the upstream at once, budget allows ${bound}`,
      );
    } finally {
      await gw.close();
      await upstream.close();
    }
  });
});
