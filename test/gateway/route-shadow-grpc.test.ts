// Which gRPC calls a route's shadow copies (issue 12): streaming methods
// never (counted as `streaming`), and — every gRPC call being a POST — only
// methods the descriptors mark `idempotency_level = NO_SIDE_EFFECTS` unless
// the route allows writes.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseConfigText, type ShadowConfig } from '../../src/config/index.ts';
import { RouteShadow } from '../../src/gateway/route-shadow.ts';
import { ShadowMemory } from '../../src/gateway/shadow-memory.ts';
import { Metrics } from '../../src/telemetry/index.ts';
import { PROTO_INCLUDE, SHOP_PROTO } from '../helpers/protos.ts';

function shadowOf(fields: string): RouteShadow {
  const config = parseConfigText(
    `backends:
  legacy: { url: "http://127.0.0.1:9001" }
  rewrite: { url: "http://127.0.0.1:9002" }
routes:
  - name: orders
    match: { path: /shop.v1.Orders/* }
    legacy: legacy
    candidate: rewrite
    shadow: { ${fields} }
`,
    '<inline>',
    {},
  );
  const metrics = new Metrics();
  const shadow = config.routes[0].shadow as ShadowConfig;
  return new RouteShadow('orders', shadow, metrics, new ShadowMemory(1 << 20, metrics));
}

const WITH_PROTOS = `compare: { protos: ["${SHOP_PROTO}"], protoPaths: ["${PROTO_INCLUDE}"] }`;

describe('RouteShadow.wants for gRPC calls', () => {
  test('with descriptors: a read is copied, streams and other calls are not', () => {
    const shadow = shadowOf(WITH_PROTOS);
    assert.equal(shadow.wants('POST', '/shop.v1.Orders/Get'), true);
    assert.equal(shadow.isSafe('POST', '/shop.v1.Orders/Get'), true);
    for (const m of ['Watch', 'Upload', 'Chat']) {
      assert.equal(shadow.wants('POST', `/shop.v1.Orders/${m}`), false, m);
    }
    // A method the descriptors do not name: may write, so not without `writes`.
    assert.equal(shadow.wants('POST', '/shop.v1.Orders/Cancel'), false);
    assert.equal(shadow.isSafe('POST', '/shop.v1.Orders/Cancel'), false);
    assert.deepEqual(shadow.results.toJSON().summary.skipped, {
      too_large: 0,
      dropped: 0,
      candidate_error: 0,
      legacy_error: 0,
      method: 1,
      memory: 0,
      streaming: 3,
    });
  });

  test('with writes: every call not known to stream is copied; known streams still are not', () => {
    const shadow = shadowOf(`writes: true, ${WITH_PROTOS}`);
    assert.equal(shadow.wants('POST', '/shop.v1.Orders/Cancel'), true);
    assert.equal(shadow.wants('POST', '/shop.v1.Orders/Chat'), false);
    assert.equal(shadow.results.toJSON().summary.skipped.streaming, 1);
  });

  test('without descriptors nothing is known: copied only with writes, streams found on the wire', () => {
    assert.equal(shadowOf('percent: 100').wants('POST', '/shop.v1.Orders/Get'), false);
    const writes = shadowOf('writes: true');
    assert.equal(writes.wants('POST', '/shop.v1.Orders/Chat'), true);
    assert.equal(writes.isSafe('POST', '/shop.v1.Orders/Get'), false);
  });

  test('HTTP requests are judged by their method, as before', () => {
    const shadow = shadowOf(WITH_PROTOS);
    assert.equal(shadow.wants('GET'), true);
    assert.equal(shadow.wants('POST'), false);
    assert.equal(shadow.isSafe('GET', undefined), true);
  });
});
