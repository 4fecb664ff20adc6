// Issue 9, finding 3: a path with dot segments must not leave its route. The
// router and the backend must see one path: the normalised one.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startGateway, type TestGateway } from '../helpers/gateway.ts';
import { firstStatus, parseResponse, rawExchange } from '../helpers/raw-exchange.ts';
import { startUpstream, startWebSocketEcho, type Upstream } from '../helpers/upstream.ts';
import { eventually } from '../helpers/wait.ts';

function routesYaml(api: string, admin: string, top = ''): string {
  return `listen: 127.0.0.1:0
admin: { listen: 127.0.0.1:0 }
state: memory
${top}
backends:
  api: { url: ${api} }
  admin: { url: ${admin} }
routes:
  - name: api
    match: { path: /api/* }
    legacy: api
  - name: admin
    match: { path: /admin/*, headers: { x-admin-key: s3cret } }
    legacy: admin
`;
}

const get = (target: string, extra = '') =>
  `GET ${target} HTTP/1.1\r\nHost: a.example\r\n${extra}Connection: close\r\n\r\n`;

describe('security: request target normalisation', () => {
  let api: Upstream;
  let admin: Upstream;
  let gw: TestGateway;

  before(async () => {
    api = await startUpstream({ name: 'api' });
    admin = await startUpstream({ name: 'admin' });
    gw = await startGateway(routesYaml(api.url, admin.url));
  });
  after(async () => {
    await gw.close();
    await api.close();
    await admin.close();
  });

  for (const target of [
    '/api/%2e%2e/admin/x',
    '/api/../admin/x',
    '/api/.%2E/admin/x',
    '//api/./../admin/x',
  ]) {
    test(`${target} is routed as /admin/x: without the admin header, no route and no backend sees it`, async () => {
      const before = api.requests.length + admin.requests.length;
      const res = parseResponse(await rawExchange(gw.url, get(target)));
      assert.equal(res.status, 404);
      assert.equal(res.headers['content-type'], 'application/problem+json');
      assert.match(JSON.parse(res.body.toString()).detail, /GET \/admin\/x$/);
      assert.equal(api.requests.length + admin.requests.length, before);
    });
  }

  test('with the admin header, the admin backend gets the normalised path and the original query', async () => {
    const res = parseResponse(
      await rawExchange(gw.url, get('/api/%2e%2e/admin/./x?q=%2e%2e', 'x-admin-key: s3cret\r\n')),
    );
    assert.equal(res.status, 200);
    assert.equal(JSON.parse(res.body.toString()).upstream, 'admin');
    assert.equal(admin.requests.at(-1)?.url, '/admin/x?q=%2e%2e');
  });

  test('a path that stays in its route is forwarded normalised, and logged so', async () => {
    const res = parseResponse(await rawExchange(gw.url, get('/api/v1//./items/%61/../b?x=1')));
    assert.equal(res.status, 200);
    assert.equal(api.requests.at(-1)?.url, '/api/v1/items/b?x=1');
    const line = gw.accessLogs().find((l) => l.reqId === res.headers['x-request-id']);
    assert.equal(line?.path, '/api/v1/items/b?x=1');
  });

  for (const target of [
    '/api/..%2Fadmin/x',
    '/api/..%5cadmin/x',
    '/api/..\\admin/x',
    '/api/..;/admin/x',
    '/api/%zz',
  ]) {
    test(`${target}: 400 CUTOVER_ERR_BAD_TARGET, no backend sees it`, async () => {
      const before = api.requests.length + admin.requests.length;
      const raw = await rawExchange(
        gw.url,
        `GET ${target} HTTP/1.1\r\nHost: a.example\r\nConnection: close\r\n\r\n`,
      );
      const res = parseResponse(raw);
      assert.equal(res.status, 400);
      assert.equal(JSON.parse(res.body.toString()).code, 'CUTOVER_ERR_BAD_TARGET');
      assert.equal(res.headers.connection, 'close');
      assert.equal(api.requests.length + admin.requests.length, before);
    });
  }
});

describe('security: upgrade requests', () => {
  test('an upgrade to /api/../admin/x is routed as /admin/x: no route without the header', async (t) => {
    const api = await startWebSocketEcho('api');
    const admin = await startWebSocketEcho('admin');
    const gw = await startGateway(routesYaml(api.url, admin.url));
    t.after(async () => {
      await gw.close();
      await api.close();
      await admin.close();
    });
    const upgrade = (target: string) =>
      `GET ${target} HTTP/1.1\r\nHost: a.example\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n` +
      'Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n';
    assert.equal(await firstStatus(gw.url, upgrade('/api/%2e%2e/admin/x')), 404);
    assert.equal(await firstStatus(gw.url, upgrade('/api/..%2Fadmin/x')), 400);
    assert.equal(api.upgrades.length + admin.upgrades.length, 0);
    // A path that stays in its route is tunnelled with its normalised form.
    assert.equal(await firstStatus(gw.url, upgrade('/api/./v1/../ws')), 101);
    await eventually('the tunnel reached the api backend', () => api.upgrades.length === 1);
    assert.equal(api.upgrades[0].url, '/api/ws');
  });
});

describe('security: server.escapedSlashes keep', () => {
  test('%2F is forwarded unchanged and never splits a segment', async (t) => {
    const api = await startUpstream({ name: 'api' });
    const admin = await startUpstream({ name: 'admin' });
    const gw = await startGateway(
      routesYaml(api.url, admin.url, 'server: { escapedSlashes: keep }'),
    );
    t.after(async () => {
      await gw.close();
      await api.close();
      await admin.close();
    });
    const res = parseResponse(await rawExchange(gw.url, get('/api/a%2F..%2F/./b')));
    assert.equal(res.status, 200);
    assert.equal(api.requests.at(-1)?.url, '/api/a%2F..%2F/b');
  });
});
