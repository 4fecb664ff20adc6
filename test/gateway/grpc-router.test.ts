// `match.grpc` in the router, in-process: a gRPC route takes only gRPC calls
// (POST with content type application/grpc…) of its service or method, and
// its place among path routes follows the usual precedence.
import assert from 'node:assert/strict';
import type { IncomingHttpHeaders } from 'node:http';
import { test } from 'node:test';
import { parseConfigText, type RouteMatch } from '../../src/config/index.ts';
import { Router } from '../../src/gateway/router.ts';

interface TestRoute {
  readonly name: string;
  readonly match: RouteMatch;
}

/** Routes as the loader resolves them from `routes:` YAML (backends h2c). */
function routesOf(yaml: string): TestRoute[] {
  const config = parseConfigText(
    `backends:
  b: { url: "http://127.0.0.1:9001", protocol: h2c }
routes:
${yaml}`,
    'cutover.yaml',
    {},
  );
  return config.routes.map((r) => ({ name: r.name, match: r.match }));
}

const GRPC: IncomingHttpHeaders = { 'content-type': 'application/grpc' };

function nameOf(
  router: Router<TestRoute>,
  path: string,
  method = 'POST',
  headers: IncomingHttpHeaders = GRPC,
): string | undefined {
  return router.find(method, 'gw', path, headers)?.route.name;
}

test('a service route takes every method of its service, only as gRPC calls', () => {
  const router = new Router(
    routesOf(`  - { name: orders, match: { grpc: { service: shop.v1.Orders } }, legacy: b }
`),
  );
  assert.equal(nameOf(router, '/shop.v1.Orders/Get'), 'orders');
  assert.equal(nameOf(router, '/shop.v1.Orders/List'), 'orders');
  assert.equal(
    nameOf(router, '/shop.v1.Orders/Get', 'POST', { 'content-type': 'application/grpc+proto' }),
    'orders',
  );
  // Not a gRPC call: another content type, grpc-web, another method.
  assert.equal(
    nameOf(router, '/shop.v1.Orders/Get', 'POST', { 'content-type': 'application/json' }),
    undefined,
  );
  assert.equal(
    nameOf(router, '/shop.v1.Orders/Get', 'POST', { 'content-type': 'application/grpc-web' }),
    undefined,
  );
  assert.equal(nameOf(router, '/shop.v1.Orders/Get', 'GET'), undefined);
  // Exactly /service/method: no more segments, no other service.
  assert.equal(nameOf(router, '/shop.v1.Orders/Get/x'), undefined);
  assert.equal(nameOf(router, '/shop.v1.Orders/'), undefined);
  assert.equal(nameOf(router, '/shop.v1.Payments/Get'), undefined);
});

test('a method route beats its service route; metadata (headers) narrow either', () => {
  const router = new Router(
    routesOf(`  - { name: orders, match: { grpc: { service: shop.v1.Orders } }, legacy: b }
  - { name: get, match: { grpc: { service: shop.v1.Orders, method: Get } }, legacy: b }
  - name: tenant-a
    match: { grpc: { service: shop.v1.Orders }, headers: { x-tenant: a } }
    legacy: b
`),
  );
  assert.equal(nameOf(router, '/shop.v1.Orders/Get'), 'get');
  assert.equal(nameOf(router, '/shop.v1.Orders/List'), 'orders');
  assert.equal(
    nameOf(router, '/shop.v1.Orders/List', 'POST', { ...GRPC, 'x-tenant': 'a' }),
    'tenant-a',
  );
});

test('beside path routes: a gRPC route wins its gRPC calls, other requests go on to the path routes', () => {
  const router = new Router(
    routesOf(`  - { name: api, match: { path: /shop.v1.Orders/* }, legacy: b }
  - { name: post, match: { path: '/shop.v1.Orders/:m', methods: [POST] }, legacy: b }
  - { name: orders, match: { grpc: { service: shop.v1.Orders } }, legacy: b }
`),
  );
  // Same node as `post`: both POST, the gRPC-only one is the more constrained.
  assert.equal(nameOf(router, '/shop.v1.Orders/Get'), 'orders');
  assert.equal(
    nameOf(router, '/shop.v1.Orders/Get', 'POST', { 'content-type': 'application/json' }),
    'post',
  );
  assert.equal(nameOf(router, '/shop.v1.Orders/Get', 'GET', {}), 'api');
});
