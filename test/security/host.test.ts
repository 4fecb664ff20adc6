// Issue 9, finding 4: one request, one Host. Two Host fields, a Host that is
// not host[:port], or an absolute-form target naming another authority would
// let the route be chosen on one host and the backend be told another.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startGateway, type TestGateway } from '../helpers/gateway.ts';
import { parseResponse, parseResponses, rawExchange } from '../helpers/raw-exchange.ts';
import { startUpstream, type Upstream } from '../helpers/upstream.ts';

describe('security: Host', () => {
  let a: Upstream;
  let b: Upstream;
  let gw: TestGateway;
  const seen = () => a.requests.length + b.requests.length;

  before(async () => {
    a = await startUpstream({ name: 'a' });
    b = await startUpstream({ name: 'b' });
    gw = await startGateway(`listen: 127.0.0.1:0
admin: { listen: 127.0.0.1:0 }
state: memory
backends:
  a: { url: ${a.url} }
  b: { url: ${b.url} }
routes:
  - name: a
    match: { host: a.example, path: /* }
    legacy: a
  - name: b
    match: { host: b.example, path: /* }
    legacy: b
`);
  });
  after(async () => {
    await gw.close();
    await a.close();
    await b.close();
  });

  async function refused(bytes: string, code: string): Promise<void> {
    const before = seen();
    const res = parseResponse(await rawExchange(gw.url, bytes));
    assert.equal(res.status, 400);
    assert.equal(res.headers['content-type'], 'application/problem+json');
    assert.equal(JSON.parse(res.body.toString()).code, code);
    assert.equal(res.headers.connection, 'close');
    assert.equal(seen(), before, 'no backend saw the request');
    const line = gw.accessLogs().find((l) => l.reqId === res.headers['x-request-id']);
    assert.equal(line?.status, 400);
    assert.equal(line?.err, code);
  }

  test('two Host fields: 400, logged, nothing forwarded (RFC 9112 §3.2)', async () => {
    await refused(
      'GET /x HTTP/1.1\r\nHost: a.example\r\nHost: b.example\r\nConnection: close\r\n\r\n',
      'CUTOVER_ERR_BAD_HOST',
    );
    await refused(
      'GET /x HTTP/1.1\r\nhost: a.example\r\nX-Other: 1\r\nHOST: a.example\r\nConnection: close\r\n\r\n',
      'CUTOVER_ERR_BAD_HOST',
    );
  });

  test('nothing after a refused Host is read: a request behind it never reaches a backend', async () => {
    const before = seen();
    const raw = await rawExchange(
      gw.url,
      'GET /x HTTP/1.1\r\nHost: a.example\r\nHost: b.example\r\n\r\n' +
        'GET /y HTTP/1.1\r\nHost: b.example\r\nConnection: close\r\n\r\n',
    );
    assert.deepEqual(
      parseResponses(raw).map((r) => r.status),
      [400],
    );
    assert.equal(seen(), before);
  });

  for (const host of ['a.example:80@b.example', 'a.example:99999', 'a.example b.example']) {
    test(`Host "${host}" is not host[:port]: 400`, async () => {
      await refused(
        `GET /x HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`,
        'CUTOVER_ERR_BAD_HOST',
      );
    });
  }

  test('absolute-form whose authority is not the Host: 400', async () => {
    await refused(
      'GET http://b.example/x HTTP/1.1\r\nHost: a.example\r\nConnection: close\r\n\r\n',
      'CUTOVER_ERR_BAD_HOST',
    );
  });

  test('absolute-form whose authority is the Host: routed on it, forwarded in origin-form', async () => {
    const res = parseResponse(
      await rawExchange(
        gw.url,
        'GET http://B.example:80/p/../q?z=1 HTTP/1.1\r\nHost: b.example\r\nConnection: close\r\n\r\n',
      ),
    );
    assert.equal(res.status, 200);
    const got = b.requests.at(-1)!;
    assert.equal(got.url, '/q?z=1');
    assert.equal(got.headers['x-forwarded-host'], 'b.example');
  });
});
