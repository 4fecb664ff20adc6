// The config fields of gRPC (issue 12) as a user meets them: `match.grpc`
// and what may not go with it, gRPC routes on HTTP/1.1 backends, and gRPC
// health checks.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseConfigText } from '../../src/config/index.ts';
import { CONFIG_FILE, problems } from '../helpers/config.ts';

const BACKENDS = `backends:
  legacy: { url: "http://127.0.0.1:9001", protocol: h2c }
  rewrite: { url: "http://127.0.0.1:9002", protocol: h2c }
  plain: { url: "http://127.0.0.1:9003" }
`;

test('match.grpc: a service stands for /service/:method and POST; a method for its one path', () => {
  const config = parseConfigText(
    `${BACKENDS}routes:
  - name: orders
    match: { grpc: { service: shop.v1.Orders } }
    legacy: legacy
    candidate: rewrite
  - name: get
    match: { grpc: { service: shop.v1.Orders, method: Get }, headers: { X-Tenant: a } }
    legacy: legacy
`,
    CONFIG_FILE,
    {},
  );
  const [orders, get] = config.routes;
  assert.deepEqual(
    { ...orders.match },
    {
      host: undefined,
      path: '/shop.v1.Orders/:method',
      methods: ['POST'],
      headers: undefined,
      grpc: { service: 'shop.v1.Orders', method: undefined },
    },
  );
  assert.equal(get.match.path, '/shop.v1.Orders/Get');
  assert.deepEqual(get.match.headers, { 'x-tenant': 'a' });
  assert.ok(Object.isFrozen(get.match.grpc));
});

test('match.grpc: with path, with methods, or neither path nor grpc, is an error that says so', () => {
  assert.deepEqual(
    problems(`${BACKENDS}routes:
  - name: both
    match: { path: /x, grpc: { service: shop.v1.Orders } }
    legacy: legacy
  - name: methods
    match: { grpc: { service: shop.v1.Orders }, methods: [GET] }
    legacy: legacy
  - name: none
    match: { host: example.com }
    legacy: legacy
`),
    [
      'cutover.yaml:7:30 routes[0].match.grpc: path and grpc cannot be used together: grpc stands for the path /shop.v1.Orders/:method; keep one of them',
      'cutover.yaml:10:58 routes[1].match.methods: a gRPC match takes only POST (every gRPC call is one); leave methods out',
      'cutover.yaml:13:12 routes[2].match.path: required field is missing',
    ],
  );
});

test('match.grpc: names that are not gRPC names are refused', () => {
  assert.deepEqual(
    problems(`${BACKENDS}routes:
  - name: a
    match: { grpc: { service: /shop.Orders } }
    legacy: legacy
  - name: b
    match: { grpc: { service: shop.v1.Orders, method: Get/List } }
    legacy: legacy
  - name: c
    match: { grpc: { method: Get } }
    legacy: legacy
`),
    [
      'cutover.yaml:7:31 routes[0].match.grpc.service: expected a full service name such as shop.v1.Orders (package.Service)',
      'cutover.yaml:10:55 routes[1].match.grpc.method: expected a method name such as Get',
      'cutover.yaml:13:20 routes[2].match.grpc.service: required field is missing',
    ],
  );
});

test('match.grpc: the same service twice is a duplicate match; a path route with the same path is not', () => {
  assert.deepEqual(
    problems(`${BACKENDS}routes:
  - name: one
    match: { grpc: { service: shop.v1.Orders } }
    legacy: legacy
  - name: two
    match: { grpc: { service: shop.v1.Orders } }
    legacy: rewrite
  - name: by-path
    match: { path: /shop.v1.Orders/:m, methods: [POST] }
    legacy: rewrite
`),
    [
      'cutover.yaml:10:12 routes[1].match: same match as routes[0] (one); one of them could never be chosen',
    ],
  );
});

test('a gRPC route cannot have an HTTP/1.1 backend, legacy or candidate', () => {
  assert.deepEqual(
    problems(`${BACKENDS}routes:
  - name: orders
    match: { grpc: { service: shop.v1.Orders } }
    legacy: plain
    candidate: legacy
  - name: pay
    match: { grpc: { service: shop.v1.Payments } }
    legacy: legacy
    candidate: plain
`),
    [
      'cutover.yaml:8:13 routes[0].legacy: backend "plain" is spoken to over HTTP/1.1 (protocol: http1), which cannot carry the gRPC calls this route matches; set its protocol to h2c or h2',
      'cutover.yaml:13:16 routes[1].candidate: backend "plain" is spoken to over HTTP/1.1 (protocol: http1), which cannot carry the gRPC calls this route matches; set its protocol to h2c or h2',
    ],
  );
});

test('health.grpc: true checks the whole server, { service } one service; the HTTP path stays unused', () => {
  const config = parseConfigText(
    `backends:
  whole: { url: "http://127.0.0.1:9001", protocol: h2c, health: { grpc: true, interval: 2s } }
  one: { url: "http://127.0.0.1:9002", protocol: h2c, health: { grpc: { service: shop.v1.Orders } } }
  http: { url: "http://127.0.0.1:9003", health: { path: /up } }
routes:
  - { name: r, match: { path: /r }, legacy: http }
`,
    CONFIG_FILE,
    {},
  );
  assert.deepEqual(config.backends.get('whole')!.health!.grpc, { service: '' });
  assert.equal(config.backends.get('whole')!.health!.interval, 2_000);
  assert.deepEqual(config.backends.get('one')!.health!.grpc, { service: 'shop.v1.Orders' });
  assert.equal(config.backends.get('http')!.health!.grpc, undefined);
  assert.equal(config.backends.get('http')!.health!.path, '/up');
});

test('health.grpc: needs an HTTP/2 backend, and takes no path', () => {
  assert.deepEqual(
    problems(`backends:
  a: { url: "http://127.0.0.1:9001", health: { grpc: true } }
  b: { url: "http://127.0.0.1:9002", protocol: h2c, health: { grpc: true, path: /healthz } }
routes:
  - { name: r, match: { path: /r }, legacy: a }
`),
    [
      'cutover.yaml:2:54 backends.a.health.grpc: a gRPC health check needs protocol h2c or h2 (gRPC is HTTP/2 only); the backend has http1',
      'cutover.yaml:3:81 backends.b.health.path: a gRPC health check calls grpc.health.v1.Health/Check; path is for HTTP checks',
    ],
  );
});
