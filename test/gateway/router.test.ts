// Routing is pure logic, so it is tested in-process: which route a request
// lands on, and the params it carries.
import assert from 'node:assert/strict';
import type { IncomingHttpHeaders } from 'node:http';
import { test } from 'node:test';
import type { HttpMethod, RouteMatch } from '../../src/config/index.ts';
import { InvalidArgumentError } from '../../src/errors.ts';
import { Router } from '../../src/gateway/router.ts';

interface TestRoute {
  readonly name: string;
  readonly match: RouteMatch;
}

interface MatchSpec {
  host?: string;
  methods?: HttpMethod[];
  headers?: Record<string, string>;
}

function route(name: string, path: string, spec: MatchSpec = {}): TestRoute {
  return {
    name,
    match: { path, host: spec.host, methods: spec.methods, headers: spec.headers },
  };
}

interface Req {
  method?: string;
  host?: string;
  headers?: IncomingHttpHeaders;
}

/** The name of the route chosen, or undefined. */
function nameOf(router: Router<TestRoute>, path: string, req: Req = {}): string | undefined {
  return router.find(req.method ?? 'GET', req.host, path, req.headers ?? {})?.route.name;
}

test('precedence: literal beats param beats prefix, longer beats shorter', () => {
  const router = new Router([
    route('root-prefix', '/*'),
    route('api-prefix', '/api/*'),
    route('users-prefix', '/api/users/*'),
    route('user-by-id', '/api/users/:id'),
    route('user-me', '/api/users/me'),
    route('user-posts', '/api/users/:id/posts'),
    route('root', '/'),
    route('exact', '/a/b'),
  ]);
  const table: [string, string | undefined][] = [
    ['/api/users/me', 'user-me'],
    ['/api/users/42', 'user-by-id'],
    ['/api/users/42/posts', 'user-posts'],
    ['/api/users/42/likes', 'users-prefix'],
    ['/api/users/me/posts', 'user-posts'],
    ['/api/users', 'users-prefix'],
    ['/api/users/', 'users-prefix'],
    ['/api/orders/1', 'api-prefix'],
    ['/api', 'api-prefix'],
    ['/api/', 'api-prefix'],
    ['/apix', 'root-prefix'],
    ['/', 'root'],
    ['/a/b', 'exact'],
    ['/a/b/', 'root-prefix'],
    ['/a', 'root-prefix'],
  ];
  for (const [path, expected] of table) assert.equal(nameOf(router, path), expected, path);
});

test('no match gives undefined, and so does a path not starting with /', () => {
  const router = new Router([route('exact', '/a/b'), route('param', '/users/:id')]);
  assert.equal(nameOf(router, '/a'), undefined);
  assert.equal(nameOf(router, '/a/b/c'), undefined);
  assert.equal(nameOf(router, '/a/b/'), undefined, 'a trailing slash is another path');
  assert.equal(nameOf(router, '/users/'), undefined, 'a param needs a non-empty segment');
  assert.equal(nameOf(router, '/users/1/2'), undefined);
  assert.equal(nameOf(router, 'a/b'), undefined);
  assert.equal(nameOf(router, ''), undefined);
  assert.equal(nameOf(router, '*'), undefined);
  assert.equal(new Router<TestRoute>([]).find('GET', undefined, '/', {}), undefined);
});

test('/api/* matches /api, /api/ and everything below, but not /apiary', () => {
  const router = new Router([route('api', '/api/*')]);
  for (const path of ['/api', '/api/', '/api/x', '/api/x/y/z', '/api//']) {
    assert.equal(nameOf(router, path), 'api', path);
  }
  assert.equal(nameOf(router, '/apiary'), undefined);
  assert.equal(nameOf(router, '/'), undefined);
});

test('a literal branch that dead-ends backtracks to the param branch', () => {
  const router = new Router([
    route('literal', '/files/new/edit'),
    route('param', '/files/:id/view'),
  ]);
  assert.equal(nameOf(router, '/files/new/edit'), 'literal');
  assert.equal(nameOf(router, '/files/new/view'), 'param');
});

test('a literal subtree prefix beats a param exact match (compared from the left)', () => {
  const router = new Router([route('b-prefix', '/a/b/*'), route('param', '/a/:x/c')]);
  assert.equal(nameOf(router, '/a/b/c'), 'b-prefix');
  assert.equal(nameOf(router, '/a/z/c'), 'param');
});

test('params are captured and percent-decoded; literals are not decoded', () => {
  const router = new Router([
    route('two', '/orgs/:org/repos/:repo'),
    route('encoded', '/caf%C3%A9'),
    route('tail', '/t/:name/*'),
  ]);
  const hit = router.find('GET', undefined, '/orgs/acme%20inc/repos/r%2Fx', {});
  assert.equal(hit?.route.name, 'two');
  assert.deepEqual({ ...hit?.params }, { org: 'acme inc', repo: 'r/x' });
  const bad = router.find('GET', undefined, '/orgs/%E0%A4%A/repos/ok', {});
  assert.deepEqual({ ...bad?.params }, { org: '%E0%A4%A', repo: 'ok' }, 'bad escapes stay raw');
  assert.equal(nameOf(router, '/caf%C3%A9'), 'encoded');
  assert.equal(nameOf(router, '/café'), undefined);
  assert.equal(nameOf(router, '/caf%c3%a9'), undefined, 'escapes are compared as written');
  const tail = router.find('GET', undefined, '/t/x/y/z', {});
  assert.equal(tail?.route.name, 'tail');
  assert.deepEqual({ ...tail?.params }, { name: 'x' });
  assert.deepEqual({ ...router.find('GET', undefined, '/caf%C3%A9', {})?.params }, {});
});

test('routes ending at one node with different param names each get their own names', () => {
  const router = new Router([
    route('by-id', '/users/:id', { methods: ['GET'] }),
    route('by-uid', '/users/:uid', { methods: ['DELETE'] }),
  ]);
  assert.deepEqual({ ...router.find('GET', undefined, '/users/7', {})?.params }, { id: '7' });
  assert.deepEqual({ ...router.find('DELETE', undefined, '/users/7', {})?.params }, { uid: '7' });
});

test('a param named __proto__ is an own property, not the prototype', () => {
  const router = new Router([route('proto', '/x/:__proto__')]);
  const params = router.find('GET', undefined, '/x/value', {})?.params;
  assert.equal(Object.getOwnPropertyDescriptor(params, '__proto__')?.value, 'value');
});

test('empty segments from // are literals, not normalised away', () => {
  const router = new Router([
    route('double', '/a//b'),
    route('single', '/a/b'),
    route('p', '/x/:id'),
  ]);
  assert.equal(nameOf(router, '/a//b'), 'double');
  assert.equal(nameOf(router, '/a/b'), 'single');
  assert.equal(nameOf(router, '/a///b'), undefined);
  assert.equal(nameOf(router, '/x//'), undefined);
});

test('methods: request method must be listed; HEAD matches a GET route; methods are case-sensitive', () => {
  const router = new Router([
    route('read', '/items', { methods: ['GET'] }),
    route('write', '/items', { methods: ['POST', 'PUT'] }),
  ]);
  assert.equal(nameOf(router, '/items', { method: 'GET' }), 'read');
  assert.equal(nameOf(router, '/items', { method: 'HEAD' }), 'read');
  assert.equal(nameOf(router, '/items', { method: 'PUT' }), 'write');
  assert.equal(nameOf(router, '/items', { method: 'DELETE' }), undefined);
  assert.equal(nameOf(router, '/items', { method: 'get' }), undefined);
  const postOnly = new Router([route('post', '/p', { methods: ['POST'] })]);
  assert.equal(nameOf(postOnly, '/p', { method: 'HEAD' }), undefined);
});

test('host: case-insensitive, port ignored, wildcard matches one or more labels', () => {
  const router = new Router([
    route('exact', '/', { host: 'API.example.com' }),
    route('wild', '/', { host: '*.example.com' }),
    route('any', '/'),
  ]);
  assert.equal(nameOf(router, '/', { host: 'api.example.com' }), 'exact');
  assert.equal(nameOf(router, '/', { host: 'API.Example.COM:8443' }), 'exact');
  assert.equal(nameOf(router, '/', { host: 'www.example.com' }), 'wild');
  assert.equal(nameOf(router, '/', { host: 'a.b.example.com' }), 'wild');
  assert.equal(nameOf(router, '/', { host: 'example.com' }), 'any', 'the wildcard needs a label');
  assert.equal(nameOf(router, '/', { host: 'badexample.com' }), 'any');
  assert.equal(nameOf(router, '/', { host: '.example.com' }), 'any', 'an empty label is no label');
  assert.equal(nameOf(router, '/', { host: 'example.com.evil' }), 'any');
  assert.equal(nameOf(router, '/', {}), 'any', 'no host header');
  const v6 = new Router([route('v6', '/', { host: '[::1]' })]);
  assert.equal(nameOf(v6, '/', { host: '[::1]:8080' }), 'v6');
});

test('headers: every configured header must equal the request value exactly', () => {
  const router = new Router([
    route('both', '/h', { headers: { 'x-tenant': 'acme', 'x-beta': '1' } }),
    route('tenant', '/h', { headers: { 'x-tenant': 'acme' } }),
    route('plain', '/h'),
  ]);
  assert.equal(nameOf(router, '/h', { headers: { 'x-tenant': 'acme', 'x-beta': '1' } }), 'both');
  assert.equal(nameOf(router, '/h', { headers: { 'x-tenant': 'acme', 'x-beta': '2' } }), 'tenant');
  assert.equal(nameOf(router, '/h', { headers: { 'x-tenant': 'ACME' } }), 'plain');
  assert.equal(nameOf(router, '/h', { headers: { 'x-tenant': 'acme ' } }), 'plain');
  assert.equal(nameOf(router, '/h', {}), 'plain');
});

test('more constrained first: host, then methods, then header count, whatever the file order', () => {
  const routes = [
    route('plain', '/c'),
    route('headers2', '/c', { headers: { a: '1', b: '2' } }),
    route('headers1', '/c', { headers: { a: '1' } }),
    route('methods', '/c', { methods: ['GET'] }),
    route('methods-headers', '/c', { methods: ['GET'], headers: { a: '1' } }),
    route('host', '/c', { host: 'h.test' }),
  ];
  const all = { a: '1', b: '2' };
  for (const order of [routes, [...routes].reverse()]) {
    const router = new Router(order);
    assert.equal(nameOf(router, '/c', { host: 'h.test', headers: all }), 'host');
    assert.equal(nameOf(router, '/c', { host: 'other.test', headers: all }), 'methods-headers');
    assert.equal(
      nameOf(router, '/c', { host: 'other.test', headers: { a: '1' } }),
      'methods-headers',
    );
    assert.equal(nameOf(router, '/c', { headers: { b: '2' } }), 'methods');
    assert.equal(nameOf(router, '/c', { method: 'POST', headers: all }), 'headers2');
    assert.equal(nameOf(router, '/c', { method: 'POST', headers: { a: '1' } }), 'headers1');
    assert.equal(nameOf(router, '/c', { method: 'POST' }), 'plain');
  }
});

test('an exact host is tried before a wildcard host at the same node', () => {
  const router = new Router([
    route('wild', '/', { host: '*.example.com' }),
    route('deeper-wild', '/', { host: '*.eu.example.com' }),
    route('exact', '/', { host: 'a.eu.example.com' }),
  ]);
  assert.equal(nameOf(router, '/', { host: 'a.eu.example.com' }), 'exact');
  assert.equal(nameOf(router, '/', { host: 'b.eu.example.com' }), 'deeper-wild');
  assert.equal(nameOf(router, '/', { host: 'b.us.example.com' }), 'wild');
});

test('when constraints fail at a node the search backtracks to param, then prefix routes', () => {
  const router = new Router([
    route('me-admin', '/users/me', { headers: { 'x-role': 'admin' } }),
    route('by-id-get', '/users/:id', { methods: ['GET'] }),
    route('users-any', '/users/*', { host: 'internal.test' }),
    route('catch-all', '/*'),
  ]);
  assert.equal(nameOf(router, '/users/me', { headers: { 'x-role': 'admin' } }), 'me-admin');
  assert.equal(nameOf(router, '/users/me'), 'by-id-get');
  assert.deepEqual({ ...router.find('GET', undefined, '/users/me', {})?.params }, { id: 'me' });
  assert.equal(nameOf(router, '/users/me', { method: 'POST', host: 'internal.test' }), 'users-any');
  assert.equal(nameOf(router, '/users/me', { method: 'POST' }), 'catch-all');
  assert.equal(nameOf(router, '/users', { method: 'POST' }), 'catch-all');
  assert.equal(nameOf(router, '/users', { host: 'internal.test' }), 'users-any');
});

test('deep backtracking: a literal path that fails late falls back through params', () => {
  const router = new Router([
    route('lit', '/a/b/c/d', { methods: ['POST'] }),
    route('mixed', '/a/:x/c/:y'),
    route('params', '/:p/:q/:r/:s'),
  ]);
  assert.equal(nameOf(router, '/a/b/c/d', { method: 'POST' }), 'lit');
  const mixed = router.find('GET', undefined, '/a/b/c/d', {});
  assert.equal(mixed?.route.name, 'mixed');
  assert.deepEqual({ ...mixed?.params }, { x: 'b', y: 'd' });
  const params = router.find('GET', undefined, '/z/b/c/d', {});
  assert.equal(params?.route.name, 'params');
  assert.deepEqual({ ...params?.params }, { p: 'z', q: 'b', r: 'c', s: 'd' });
});

test('a malformed pattern is refused when the table is built', () => {
  assert.throws(() => new Router([route('bad', '/a/*/b')]), InvalidArgumentError);
  assert.throws(() => new Router([route('bad', '/a*')]), InvalidArgumentError);
  assert.throws(() => new Router([route('bad', 'a/b')]), InvalidArgumentError);
  assert.throws(() => new Router([route('bad', '/:')]), InvalidArgumentError);
});

test('10,000 routes: every kind of lookup still finds the right one', () => {
  const routes: TestRoute[] = [];
  for (let i = 0; i < 2_500; i++) {
    routes.push(route(`exact-${i}`, `/svc${i}/items`));
    routes.push(route(`param-${i}`, `/svc${i}/items/:id`));
    routes.push(route(`prefix-${i}`, `/svc${i}/*`));
    routes.push(route(`host-${i}`, `/svc${i}/items`, { host: `h${i}.test` }));
  }
  const router = new Router(routes);
  assert.equal(router.size, 10_000);
  for (const i of [0, 1, 1234, 2_499]) {
    assert.equal(nameOf(router, `/svc${i}/items`), `exact-${i}`);
    assert.equal(nameOf(router, `/svc${i}/items`, { host: `h${i}.test` }), `host-${i}`);
    assert.equal(nameOf(router, `/svc${i}/items`, { host: `h${i + 1}.test` }), `exact-${i}`);
    const hit = router.find('GET', undefined, `/svc${i}/items/x${i}`, {});
    assert.equal(hit?.route.name, `param-${i}`);
    assert.deepEqual({ ...hit?.params }, { id: `x${i}` });
    assert.equal(nameOf(router, `/svc${i}/other/deep`), `prefix-${i}`);
  }
  assert.equal(nameOf(router, '/svc2500/items'), undefined);
  assert.equal(nameOf(router, '/svc/items'), undefined);
});
