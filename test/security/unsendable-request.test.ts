// Found by the parser fuzz pass (issue 9): a request Node's parser accepts but
// undici will not write (here an Expect field, which undici refuses) failed
// as if the backend had reset the connection: a 502 blamed on a healthy
// backend, recorded by its breaker. Twenty such requests from one client
// opened the breaker and every other user got 503s. Nothing was sent, so it
// is the client's fault and must never count against the backend.
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
  const port = Number(new URL(gw.url).port);

  // RFC 9110 §10.1.1: an HTTP/1.0 request's Expect is for the server to ignore; Node passes it on.
  const attack =
    'POST /orders HTTP/1.0\r\nHost: shop.test\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\nhi';
  for (let i = 0; i < 40; i++) {
    const res = parseResponse(await rawExchange(port, attack));
    assert.ok(res.status < 500, `attack ${i}: ${res.status} blames the backend`);
  }
  assert.equal(
    await metricOf(gw, 'cutover_breaker_state', { backend: 'legacy', route: 'main' }),
    0,
    'the legacy breaker is closed',
  );
  const normal = parseResponse(
    await rawExchange(port, 'GET /orders HTTP/1.1\r\nHost: shop.test\r\nConnection: close\r\n\r\n'),
  );
  assert.equal(normal.status, 200, 'other users still reach the backend');
});
