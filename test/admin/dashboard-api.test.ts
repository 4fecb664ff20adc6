// The dashboard's side of the admin API (issue 14): sign-in, roles, CSRF,
// who acted in the ledger, the overview, the 1-second series and the event
// stream, against a real gateway on port 0 with real upstreams.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { request } from 'undici';
import { startGateway, type TestGateway, tempDir } from '../helpers/gateway.ts';
import { startUpstream, type Upstream } from '../helpers/upstream.ts';
import { type EventStream, openEvents } from './events-client.ts';

type Json = Record<string, unknown>;

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  json: Json;
}

async function call(
  url: string,
  method: 'GET' | 'POST' | 'PUT' | 'DELETE' = 'GET',
  headers: Record<string, string> = {},
  body?: unknown,
): Promise<Answer> {
  const h = { ...headers };
  if (body !== undefined) h['content-type'] = 'application/json';
  const res = await request(url, {
    method,
    headers: h,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.body.text();
  return {
    status: res.statusCode,
    headers: res.headers,
    json: text ? (JSON.parse(text) as Json) : {},
  };
}

function refused(a: Answer, status: number, code: string): Json {
  assert.equal(a.status, status, JSON.stringify(a.json));
  assert.equal(a.headers['content-type'], 'application/problem+json');
  assert.equal(a.json.code, code);
  assert.equal(typeof a.json.detail, 'string');
  return a.json;
}

interface Signed {
  cookie: string;
  csrf: string;
  body: Json;
  setCookie: string;
}

async function signIn(adminUrl: string, token: string, name: string): Promise<Signed> {
  const a = await call(`${adminUrl}/api/session`, 'POST', {}, { token, name });
  assert.equal(a.status, 200, JSON.stringify(a.json));
  const setCookie = String(a.headers['set-cookie']);
  return {
    cookie: setCookie.split(';')[0],
    csrf: String(a.json.csrf),
    body: a.json,
    setCookie,
  };
}

const yaml = (legacy: string, rewrite: string) => `listen: 127.0.0.1:0
admin: { listen: 127.0.0.1:0, token: op-token, viewerToken: view-token }
state: memory
log: { access: false }
backends:
  legacy: { url: ${legacy} }
  rewrite: { url: ${rewrite} }
routes:
  - name: orders
    match: { path: /orders/* }
    legacy: legacy
    candidate: rewrite
    split: { stickyKey: header:x-user-id }
    rollout: { steps: [25, 50, 100], shadowFor: 0s, interval: 1h, minRequests: 10 }
  - name: plain
    match: { path: /* }
    legacy: legacy
    candidate: rewrite
    split: { stickyKey: header:x-user-id }
    weight: 0
`;

describe('dashboard API: sessions, roles and CSRF', { timeout: 60_000 }, () => {
  let legacy: Upstream;
  let rewrite: Upstream;
  let gw: TestGateway;
  let operator: Signed;
  let viewer: Signed;

  before(async () => {
    legacy = await startUpstream({ name: 'legacy' });
    rewrite = await startUpstream({ name: 'rewrite' });
    gw = await startGateway(yaml(legacy.url, rewrite.url));
    operator = await signIn(gw.adminUrl, 'op-token', 'alice');
    viewer = await signIn(gw.adminUrl, 'view-token', 'bob');
  });
  after(async () => {
    await gw.close();
    await legacy.close();
    await rewrite.close();
  });

  test('sign-in as operator: role, name, csrf, expiry and an HttpOnly SameSite=Strict cookie of 8 hours', async () => {
    assert.equal(operator.body.role, 'operator');
    assert.equal(operator.body.name, 'alice');
    assert.match(operator.csrf, /^[\w-]{20,}$/);
    const expires = Date.parse(String(operator.body.expiresAt));
    assert.ok(
      Math.abs(expires - (Date.now() + 8 * 3600_000)) < 60_000,
      String(operator.body.expiresAt),
    );
    const flags = operator.setCookie.split(';').map((f) => f.trim());
    assert.match(flags[0], /^cutover_session=[\w-]+\.[\w-]+$/);
    for (const flag of ['HttpOnly', 'SameSite=Strict', 'Path=/', 'Max-Age=28800'])
      assert.ok(flags.includes(flag), `${flag} in ${operator.setCookie}`);
    assert.ok(!flags.includes('Secure'), 'no Secure flag over plain HTTP');
    const me = await call(`${gw.adminUrl}/api/session`, 'GET', { cookie: operator.cookie });
    assert.equal(me.status, 200);
    assert.deepEqual(me.json, operator.body);
    // The cookie alone opens the API's reads.
    assert.equal(
      (await call(`${gw.adminUrl}/api/routes`, 'GET', { cookie: operator.cookie })).status,
      200,
    );
  });

  test('sign-in as viewer: role viewer; reads work', async () => {
    assert.equal(viewer.body.role, 'viewer');
    assert.equal(viewer.body.name, 'bob');
    const routes = await call(`${gw.adminUrl}/api/overview`, 'GET', { cookie: viewer.cookie });
    assert.equal(routes.status, 200);
  });

  test('a wrong token is refused with 401 and a detail that says so; no cookie', async () => {
    const a = await call(`${gw.adminUrl}/api/session`, 'POST', {}, { token: 'guess', name: 'eve' });
    const body = refused(a, 401, 'CUTOVER_ERR_UNAUTHORIZED');
    assert.match(String(body.detail), /wrong token/);
    assert.equal(a.headers['set-cookie'], undefined);
    refused(await call(`${gw.adminUrl}/api/session`), 401, 'CUTOVER_ERR_UNAUTHORIZED');
    // A forged or altered cookie is no session.
    const forged = `${operator.cookie.slice(0, -4)}AAAA`;
    refused(
      await call(`${gw.adminUrl}/api/routes`, 'GET', { cookie: forged }),
      401,
      'CUTOVER_ERR_UNAUTHORIZED',
    );
  });

  test("a viewer's change is refused with 403, by cookie or by bearer token, and changes nothing", async () => {
    const url = `${gw.adminUrl}/api/routes/plain/weight`;
    const byCookie = await call(
      url,
      'PUT',
      { cookie: viewer.cookie, 'x-csrf-token': viewer.csrf },
      { weight: 50 },
    );
    refused(byCookie, 403, 'CUTOVER_ERR_FORBIDDEN');
    const byBearer = await call(url, 'PUT', { authorization: 'Bearer view-token' }, { weight: 50 });
    refused(byBearer, 403, 'CUTOVER_ERR_FORBIDDEN');
    const rollback = await call(`${gw.adminUrl}/api/routes/orders/rollout/rollback`, 'POST', {
      cookie: viewer.cookie,
      'x-csrf-token': viewer.csrf,
    });
    refused(rollback, 403, 'CUTOVER_ERR_FORBIDDEN');
    const now = await call(`${gw.adminUrl}/api/routes/plain`, 'GET', {
      authorization: 'Bearer view-token',
    });
    assert.equal(now.json.weight, 0);
  });

  test('a cookie change without the CSRF token, with a wrong one, or from another site: 403 CUTOVER_ERR_CSRF', async () => {
    const url = `${gw.adminUrl}/api/routes/plain/weight`;
    const own = new URL(gw.adminUrl).host;
    const cases: [string, Record<string, string>][] = [
      ['no x-csrf-token', { cookie: operator.cookie }],
      ['a wrong x-csrf-token', { cookie: operator.cookie, 'x-csrf-token': viewer.csrf }],
      [
        'Origin of another site',
        { cookie: operator.cookie, 'x-csrf-token': operator.csrf, origin: 'https://evil.example' },
      ],
      [
        'Sec-Fetch-Site: cross-site',
        { cookie: operator.cookie, 'x-csrf-token': operator.csrf, 'sec-fetch-site': 'cross-site' },
      ],
      // A form post from another site carries no custom header and its own Origin.
      [
        'a cross-site form post',
        { cookie: operator.cookie, origin: 'http://attacker.test', 'sec-fetch-site': 'cross-site' },
      ],
    ];
    for (const [what, headers] of cases) {
      const a = await call(url, 'PUT', headers, { weight: 50 });
      assert.equal(a.status, 403, `${what}: ${JSON.stringify(a.json)}`);
      refused(a, 403, 'CUTOVER_ERR_CSRF');
    }
    assert.equal(
      (await call(`${gw.adminUrl}/api/routes/plain`, 'GET', { cookie: operator.cookie })).json
        .weight,
      0,
    );
    // The same change from the admin's own origin with the token goes through.
    const ok = await call(
      url,
      'PUT',
      {
        cookie: operator.cookie,
        'x-csrf-token': operator.csrf,
        origin: `http://${own}`,
        'sec-fetch-site': 'same-origin',
      },
      { weight: 5 },
    );
    assert.equal(ok.status, 200, JSON.stringify(ok.json));
    assert.equal(ok.json.weight, 5);
    // Behind a proxy that ends TLS the browser's Origin says https: the host and port decide.
    const proxied = await call(
      url,
      'PUT',
      { cookie: operator.cookie, 'x-csrf-token': operator.csrf, origin: `https://${own}` },
      { weight: 6 },
    );
    assert.equal(proxied.status, 200, JSON.stringify(proxied.json));
    // A bearer token needs no CSRF token (no browser sends it on its own).
    const reset = await call(url, 'DELETE', { authorization: 'Bearer op-token' });
    assert.equal(reset.status, 200);
  });

  test('a rollback through the API with a session: rolled-back, and the ledger names the role and name', async () => {
    const headers = { cookie: operator.cookie, 'x-csrf-token': operator.csrf };
    const a = await call(`${gw.adminUrl}/api/routes/orders/rollout/rollback`, 'POST', headers);
    assert.equal(a.status, 200, JSON.stringify(a.json));
    assert.equal(a.json.state, 'rolled-back');
    const h = await call(`${gw.adminUrl}/api/routes/orders/history`, 'GET', headers);
    const entries = h.json.history as Json[];
    const last = entries[entries.length - 1];
    assert.equal(last.to, 'rolled-back');
    assert.equal(last.by, 'api');
    assert.deepEqual(last.who, { role: 'operator', name: 'alice' });
  });

  test('weights set by hand and forced breakers are ledger notes naming who and what', async () => {
    const bearer = { authorization: 'Bearer op-token' };
    assert.equal(
      (await call(`${gw.adminUrl}/api/routes/plain/weight`, 'PUT', bearer, { weight: 12.5 }))
        .status,
      200,
    );
    assert.equal(
      (await call(`${gw.adminUrl}/api/routes/plain/weight`, 'DELETE', bearer)).status,
      200,
    );
    const signed = { cookie: operator.cookie, 'x-csrf-token': operator.csrf };
    const forced = await call(`${gw.adminUrl}/api/backends/rewrite/breaker`, 'POST', signed, {
      state: 'auto',
    });
    assert.equal(forced.status, 200, JSON.stringify(forced.json));
    const h = await call(`${gw.adminUrl}/api/routes/plain/history`, 'GET', bearer);
    // The last three notes: earlier tests changed the weight too.
    const notes = (h.json.history as Json[]).filter((e) => e.kind === 'note').slice(-3);
    assert.equal(notes.length, 3);
    assert.match(
      String(notes[0].reason),
      /weight set by hand to 12\.5% \(was 0%\) by operator api/,
    );
    assert.deepEqual(notes[0].who, { role: 'operator', name: 'api' });
    assert.equal(notes[0].weight, 12.5);
    assert.match(String(notes[1].reason), /weight reset to the file's 0% \(was 12\.5%\)/);
    assert.match(
      String(notes[2].reason),
      /breaker of backend rewrite back to automatic by operator alice/,
    );
    assert.deepEqual(notes[2].who, { role: 'operator', name: 'alice' });
  });

  test('sign-out clears the cookie and revokes the session: a copy of the cookie is refused', async () => {
    const copy = viewer.cookie;
    assert.equal((await call(`${gw.adminUrl}/api/session`, 'GET', { cookie: copy })).status, 200);
    const a = await call(`${gw.adminUrl}/api/session`, 'DELETE', { cookie: viewer.cookie });
    assert.equal(a.status, 204);
    assert.match(
      String(a.headers['set-cookie']),
      /^cutover_session=; HttpOnly; SameSite=Strict; Path=\/; Max-Age=0/,
    );
    // The copied cookie is refused like an expired one, on every endpoint.
    refused(
      await call(`${gw.adminUrl}/api/session`, 'GET', { cookie: copy }),
      401,
      'CUTOVER_ERR_UNAUTHORIZED',
    );
    refused(
      await call(`${gw.adminUrl}/api/overview`, 'GET', { cookie: copy }),
      401,
      'CUTOVER_ERR_UNAUTHORIZED',
    );
    // Another session is not touched.
    const me = await call(`${gw.adminUrl}/api/session`, 'GET', { cookie: operator.cookie });
    assert.equal(me.json.name, 'alice');
  });

  // Last of this gateway's tests: the store stays marked down until its next heartbeat.
  test('sign-out while the store does not answer: 503, the cookie cleared, refused here all the same', async () => {
    const session = await signIn(gw.adminUrl, 'op-token', 'frank');
    const store = gw.running.member.store;
    const commit = store.commit;
    store.commit = () => Promise.reject(new Error('connection refused'));
    try {
      const a = await call(`${gw.adminUrl}/api/session`, 'DELETE', { cookie: session.cookie });
      refused(a, 503, 'CUTOVER_ERR_STATE_UNAVAILABLE');
      assert.match(String(a.headers['set-cookie']), /^cutover_session=; .*Max-Age=0/);
    } finally {
      store.commit = commit;
    }
    refused(
      await call(`${gw.adminUrl}/api/session`, 'GET', { cookie: session.cookie }),
      401,
      'CUTOVER_ERR_UNAUTHORIZED',
    );
  });
});

describe('dashboard API: no token configured (loopback)', { timeout: 60_000 }, () => {
  let legacy: Upstream;
  let gw: TestGateway;

  before(async () => {
    legacy = await startUpstream({ name: 'legacy' });
    gw = await startGateway(`listen: 127.0.0.1:0
admin: { listen: 127.0.0.1:0 }
state: memory
log: { access: false }
backends: { legacy: { url: ${legacy.url} } }
routes:
  - { name: main, match: { path: /* }, legacy: legacy }
`);
  });
  after(async () => {
    await gw.close();
    await legacy.close();
  });

  test('GET /api/session answers the operator "local" without sign-in; a browser change needs its csrf', async () => {
    const me = await call(`${gw.adminUrl}/api/session`);
    assert.equal(me.status, 200);
    assert.equal(me.json.role, 'operator');
    assert.equal(me.json.name, 'local');
    assert.equal(typeof me.json.csrf, 'string');
    const url = `${gw.adminUrl}/api/routes/main/weight`;
    const origin = `http://${new URL(gw.adminUrl).host}`;
    const browser = { origin, 'sec-fetch-site': 'same-origin' };
    refused(await call(url, 'PUT', browser, { weight: 0 }), 403, 'CUTOVER_ERR_CSRF');
    const ok = await call(
      url,
      'PUT',
      { ...browser, 'x-csrf-token': String(me.json.csrf) },
      { weight: 0 },
    );
    assert.equal(ok.status, 200, JSON.stringify(ok.json));
    // curl (no browser headers) works as before.
    assert.equal((await call(url, 'PUT', {}, { weight: 0 })).status, 200);
    const h = await call(`${gw.adminUrl}/api/routes/main/history`);
    const notes = (h.json.history as Json[]).filter((e) => e.kind === 'note');
    assert.deepEqual(notes[0].who, { role: 'operator', name: 'local' });
  });
});

describe('dashboard API: overview, series and the event stream', { timeout: 60_000 }, () => {
  let legacy: Upstream;
  let rewrite: Upstream;
  let gw: TestGateway;
  const bearer = { authorization: 'Bearer op-token' };
  const streams: EventStream[] = [];

  before(async () => {
    legacy = await startUpstream({ name: 'legacy' });
    rewrite = await startUpstream({ name: 'rewrite' });
    gw = await startGateway(yaml(legacy.url, rewrite.url));
  });
  after(async () => {
    for (const s of streams) s.close();
    await gw.close();
    await legacy.close();
    await rewrite.close();
  });

  async function traffic(n: number): Promise<void> {
    for (let i = 0; i < n; i++) {
      const res = await request(`${gw.url}/orders/${i}`, { headers: { 'x-user-id': `u${i}` } });
      await res.body.dump();
    }
  }

  test('GET /api/overview: one row per route with state, step, weight, figures; instances and leader', async () => {
    const a = await call(`${gw.adminUrl}/api/overview`, 'GET', bearer);
    assert.equal(a.status, 200);
    const routes = a.json.routes as Json[];
    assert.deepEqual(
      routes.map((r) => r.name),
      ['orders', 'plain'],
    );
    const orders = routes[0];
    assert.equal(orders.state, 'canary');
    assert.equal(orders.step, 0);
    assert.equal(orders.weight, 25);
    assert.ok(!Number.isNaN(Date.parse(String(orders.since))));
    assert.match(String(orders.waitingFor), /./);
    for (const side of ['legacy', 'candidate']) {
      const s = orders[side] as Json;
      assert.equal(typeof s.rps, 'number');
      assert.ok('errorRate' in s && 'p99' in s);
    }
    assert.equal(orders.mismatchRate, null);
    const plain = routes[1];
    assert.equal(plain.state, 'off');
    assert.equal(plain.since, null);
    assert.equal(plain.waitingFor, null);
    assert.ok(Array.isArray(a.json.instances));
    assert.ok('leader' in a.json);
  });

  test('the event stream: retry, overview at once, then points of the traffic; the series gains them', async () => {
    const events = await openEvents(`${gw.adminUrl}/api/events`, bearer);
    streams.push(events);
    assert.equal(events.headers['content-type'], 'text/event-stream; charset=utf-8');
    assert.equal(events.retry, 1000);
    const first = await events.next('overview');
    assert.deepEqual(
      (first.routes as Json[]).map((r) => r.name),
      ['orders', 'plain'],
    );
    await traffic(40);
    // The next second's point shows the requests: waited for by the event, not a sleep.
    const seen = await events.until('point', (d) => {
      const p = d.point as Json;
      const l = p.legacy as Json | null;
      const c = p.candidate as Json | null;
      return d.route === 'orders' && Number(l?.rps ?? 0) + Number(c?.rps ?? 0) > 0;
    });
    const point = seen.point as Json;
    assert.equal(point.weight, 25);
    const s = await call(`${gw.adminUrl}/api/routes/orders/series?seconds=900`, 'GET', bearer);
    assert.equal(s.status, 200);
    assert.equal(s.json.route, 'orders');
    assert.equal(s.json.resolution, 1);
    const points = s.json.points as Json[];
    const same = points.find((p) => p.t === point.t);
    assert.deepEqual(same, point, 'the series holds the point the stream sent');
    const side = (same?.candidate ?? same?.legacy) as Json;
    assert.equal(typeof side.p99, 'number');
    assert.ok(Number(side.p50) <= Number(side.p95) && Number(side.p95) <= Number(side.p99));
    // An overview with the new figures follows when they changed.
    const o = await events.until('overview', (d) => {
      const orders = (d.routes as Json[])[0];
      return Number((orders.legacy as Json).rps) + Number((orders.candidate as Json).rps) > 0;
    });
    assert.equal((o.routes as Json[])[0].name, 'orders');
    refused(
      await call(`${gw.adminUrl}/api/routes/orders/series?seconds=0`, 'GET', bearer),
      400,
      'CUTOVER_ERR_INVALID_ARGUMENT',
    );
    refused(
      await call(`${gw.adminUrl}/api/routes/nosuch/series`, 'GET', bearer),
      404,
      'CUTOVER_ERR_NOT_FOUND',
    );
  });

  test('the stream needs auth like any read, and carries ledger entries of actions', async () => {
    refused(await call(`${gw.adminUrl}/api/events`), 401, 'CUTOVER_ERR_UNAUTHORIZED');
    const operator = await signIn(gw.adminUrl, 'op-token', 'carol');
    const events = await openEvents(`${gw.adminUrl}/api/events`, { cookie: operator.cookie });
    streams.push(events);
    await events.next('overview');
    const headers = { cookie: operator.cookie, 'x-csrf-token': operator.csrf };
    const a = await call(`${gw.adminUrl}/api/routes/orders/rollout/pause`, 'POST', headers);
    assert.equal(a.status, 200, JSON.stringify(a.json));
    const entry = await events.until('ledger', (d) => d.route === 'orders' && d.to === 'paused');
    assert.deepEqual(entry.who, { role: 'operator', name: 'carol' });
    const o = await events.until('overview', (d) => (d.routes as Json[])[0].state === 'paused');
    assert.match(String((o.routes as Json[])[0].waitingFor), /resume/);
  });

  test('after a gateway reload the stream goes on and a reconnecting client is accepted', async () => {
    const events = await openEvents(`${gw.adminUrl}/api/events`, bearer);
    streams.push(events);
    await events.next('overview');
    assert.equal(await gw.running.reload(), true);
    await traffic(5);
    await events.until('point', (d) => d.route === 'orders');
    // What the browser's EventSource does after a drop: a new request; the server accepts it.
    events.close();
    const again = await openEvents(`${gw.adminUrl}/api/events`, bearer);
    streams.push(again);
    await again.next('overview');
    await again.until('point', (d) => d.route === 'plain');
  });

  test("?route=NAME: only that route's points; an unknown route is a 404", async () => {
    const events = await openEvents(`${gw.adminUrl}/api/events?route=plain`, bearer);
    streams.push(events);
    await events.next('overview');
    await traffic(3);
    const points: string[] = [];
    for (let i = 0; i < 3; i++) points.push(String((await events.next('point')).route));
    assert.deepEqual(points, ['plain', 'plain', 'plain']);
    events.close();
    refused(
      await call(`${gw.adminUrl}/api/events?route=nosuch`, 'GET', bearer),
      404,
      'CUTOVER_ERR_NOT_FOUND',
    );
  });

  test('at most 100 streams per admin listener: the 101st gets 503 with Retry-After', async () => {
    for (const s of streams.splice(0)) s.close();
    const open: EventStream[] = [];
    // Closed streams leave the hub when their socket closes: the first ones may still count.
    while (open.length < 100) {
      try {
        open.push(await openEvents(`${gw.adminUrl}/api/events`, bearer));
      } catch {
        break;
      }
    }
    const extra = await call(`${gw.adminUrl}/api/events`, 'GET', bearer);
    refused(extra, 503, 'CUTOVER_ERR_TOO_MANY_STREAMS');
    assert.equal(extra.headers['retry-after'], '5');
    for (const s of open) s.close();
  });

  test('the stream ends cleanly when the gateway stops', async () => {
    const events = await openEvents(`${gw.adminUrl}/api/events`, bearer);
    streams.push(events);
    await events.next('overview');
    const ended = events.ended();
    await gw.close();
    assert.equal(await ended, 'end');
  });
});

describe('dashboard API: a fleet of two instances', { timeout: 60_000 }, () => {
  let legacy: Upstream;
  let rewrite: Upstream;
  let a: TestGateway;
  let b: TestGateway;
  let fleetYaml: string;
  const streams: EventStream[] = [];

  before(async () => {
    legacy = await startUpstream({ name: 'legacy' });
    rewrite = await startUpstream({ name: 'rewrite' });
    const config = yaml(legacy.url, rewrite.url);
    const dir = tempDir();
    fleetYaml = config.replace('state: memory', `state: sqlite:${join(dir, 'fleet.db')}`);
    a = await startGateway(fleetYaml, { dir });
    b = await startGateway(fleetYaml);
  });
  after(async () => {
    for (const s of streams) s.close();
    await b.close();
    await a.close();
    await legacy.close();
    await rewrite.close();
  });

  test("a move made on one instance reaches the other's stream as a ledger event, with who", async () => {
    const bearer = { authorization: 'Bearer op-token' };
    const events = await openEvents(`${b.adminUrl}/api/events`, bearer);
    streams.push(events);
    await events.next('overview');
    const operator = await signIn(a.adminUrl, 'op-token', 'dana');
    const moved = await call(`${a.adminUrl}/api/routes/orders/rollout/rollback`, 'POST', {
      cookie: operator.cookie,
      'x-csrf-token': operator.csrf,
    });
    assert.equal(moved.status, 200, JSON.stringify(moved.json));
    const entry = await events.until('ledger', (d) => d.to === 'rolled-back');
    assert.deepEqual(entry.who, { role: 'operator', name: 'dana' });
    // The session works on the other instance too: one key from the same tokens.
    const me = await call(`${b.adminUrl}/api/session`, 'GET', { cookie: operator.cookie });
    assert.equal(me.json.name, 'dana');
  });

  test('a sign-out on one instance is refused on the other, and by an instance started after it', async () => {
    const session = await signIn(a.adminUrl, 'op-token', 'erin');
    assert.equal(
      (await call(`${b.adminUrl}/api/session`, 'GET', { cookie: session.cookie })).status,
      200,
    );
    const out = await call(`${a.adminUrl}/api/session`, 'DELETE', { cookie: session.cookie });
    assert.equal(out.status, 204);
    // B learns it from the change feed (read now rather than at its next beat).
    await b.running.member.poll();
    refused(
      await call(`${b.adminUrl}/api/session`, 'GET', { cookie: session.cookie }),
      401,
      'CUTOVER_ERR_UNAUTHORIZED',
    );
    refused(
      await call(`${b.adminUrl}/api/overview`, 'GET', { cookie: session.cookie }),
      401,
      'CUTOVER_ERR_UNAUTHORIZED',
    );
    // A third instance reads the revoked sessions before its admin answers.
    const c = await startGateway(fleetYaml);
    try {
      refused(
        await call(`${c.adminUrl}/api/session`, 'GET', { cookie: session.cookie }),
        401,
        'CUTOVER_ERR_UNAUTHORIZED',
      );
    } finally {
      await c.close();
    }
  });
});
