// Found by the parser fuzz pass (issue 9): a request Node's parser accepts but
// undici will not write (an Expect field, which undici refuses) failed as if
// the backend had reset the connection: a 502 blamed on a healthy backend,
// recorded by its breaker. Twenty such requests from one client opened the
// breaker and every other user got 503s. Worse, each refused request left
// one of the backend's pool connections busy for good: as many requests as
// `connections` and the gateway never reached that backend again.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startGateway, twoBackendYaml } from '../helpers/gateway.ts';
import { metricOf } from '../helpers/metrics.ts';
import { parseResponse, rawExchange } from '../helpers/raw-exchange.ts';
import { startUpstream } from '../helpers/upstream.ts';

test('requests undici will not send never count against a healthy backend (its breaker stays closed)', async (t) => {
  const legacy = await startUpstream({ name: 'legacy' });
  t.after(() => legacy.close());
  const gw = await startGateway(twoBackendYaml(legacy.url, legacy.url));
  t.after(() => gw.close());

  // RFC 9110 §10.1.1: an HTTP/1.0 request's Expect is for the server to ignore; Node passes it on.
  const attack =
    'POST /orders HTTP/1.0\r\nHost: shop.test\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\nhi';
  for (let i = 0; i < 40; i++) {
    const res = parseResponse(await rawExchange(gw.url, attack));
    assert.ok(res.status < 500, `attack ${i}: ${res.status} blames the backend`);
  }
  assert.equal(
    await metricOf(gw, 'cutover_breaker_state', { backend: 'legacy', route: 'main' }),
    0,
    'the legacy breaker is closed',
  );
  const normal = parseResponse(
    await rawExchange(
      gw.url,
      'GET /orders HTTP/1.1\r\nHost: shop.test\r\nConnection: close\r\n\r\n',
    ),
  );
  assert.equal(normal.status, 200, 'other users still reach the backend');
});

test('Expect never wedges a backend’s connection pool', { timeout: 60_000 }, async (t) => {
  const legacy = await startUpstream({ name: 'legacy' });
  t.after(() => legacy.close());
  const yaml = twoBackendYaml(legacy.url, legacy.url).replace(
    `legacy: { url: ${legacy.url} }`,
    `legacy: { url: ${legacy.url}, connections: 2 }`,
  );
  assert.ok(yaml.includes('connections: 2'));
  const gw = await startGateway(yaml);
  t.after(() => gw.close());

  // Before the fix the third of these waited for a pool connection forever.
  for (const expect of ['100-continue', '100-continue', '100-continue', '100-CONTINUE']) {
    const res = parseResponse(
      await rawExchange(
        gw.url,
        `GET /orders HTTP/1.1\r\nHost: shop.test\r\nExpect: ${expect}\r\nConnection: close\r\n\r\n`,
      ),
    );
    assert.equal(res.status, 200);
  }
  const forwarded = legacy.requests.at(-1);
  assert.equal(forwarded?.headers.expect, undefined, 'Expect is answered here, not forwarded');
});
