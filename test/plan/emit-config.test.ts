// `--emit-config`: the skeleton passes Cutover's own loader and routes the
// first stage's entry points only.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseConfigText } from '../../src/config/index.ts';
import { emitConfig, type PlanResult, toPathPattern } from '../../src/plan/index.ts';
import { fixturePlan } from './plan-result-fixture.ts';

test('the skeleton loads, with one route per L1 entry point, a backend pair per L1 module and the default steps', () => {
  const text = emitConfig(fixturePlan(), { source: 'traces/' });
  const config = parseConfigText(text, 'emitted.yaml', {});
  const routes = config.routes.map((r) => ({
    name: r.name,
    path: r.match.path,
    methods: r.match.methods,
    legacy: r.legacy,
    candidate: r.candidate,
  }));
  assert.deepEqual(routes, [
    {
      name: 'users-get-api-users-id',
      path: '/api/users/:id',
      methods: ['GET'],
      legacy: 'users-legacy',
      candidate: 'users-candidate',
    },
    {
      name: 'users-put-api-users-id',
      path: '/api/users/:id',
      methods: ['PUT'],
      legacy: 'users-legacy',
      candidate: 'users-candidate',
    },
    {
      name: 'inventory-reserve',
      path: '/shop.v1.Stock/Reserve',
      methods: ['POST'],
      legacy: 'inventory-legacy',
      candidate: 'inventory-candidate',
    },
  ]);
  for (const r of config.routes) assert.deepEqual(r.rollout?.steps, [1, 5, 25, 50, 100]);
  assert.deepEqual([...config.backends.keys()].sort(), [
    'inventory-candidate',
    'inventory-legacy',
    'users-candidate',
    'users-legacy',
  ]);
  // L2 / L3 modules are named as held back, never routed.
  assert.match(text, /^# Held for later stages \(L2, L3\): orders, billing, /m);
  assert.ok(!/orders-legacy|billing-legacy/.test(text));
  assert.match(text, /placeholders never resolve/);
  assert.match(text, /url: http:\/\/users\.legacy\.invalid:8080/);
});

test('a name with a line break cannot escape its YAML comment', () => {
  const plan = fixturePlan();
  const evil: PlanResult = {
    ...plan,
    modules: plan.modules.map((m) =>
      m.stage === 'L3' ? { ...m, name: 'x\nlisten: 0.0.0.0:1' } : m,
    ),
  };
  const config = parseConfigText(emitConfig(evil), 'emitted.yaml', {});
  assert.equal(config.routes.length, 3);
});

test('a plan with no L1 module still gives a config the loader takes', () => {
  const plan = fixturePlan();
  const none: PlanResult = { ...plan, modules: plan.modules.filter((m) => m.stage !== 'L1') };
  const text = emitConfig(none);
  assert.match(text, /Stage L1 \(move first\): no module/);
  assert.equal(parseConfigText(text, 'emitted.yaml', {}).routes.length, 0);
});

test('route templates of the common frameworks become Cutover path patterns', () => {
  const cases: [string, string | undefined][] = [
    ['/api/orders/{id}', '/api/orders/:id'],
    ['/api/orders/{id:[0-9]+}/items', '/api/orders/:id/items'],
    ['/users/<int:user_id>', '/users/:user_id'],
    ['/users/:id', '/users/:id'],
    ['/static/*', '/static/*'],
    ['/files/{*rest}', '/files/*'],
    ['/files/{path...}', '/files/*'],
    ['/a/**', '/a/*'],
    ['/reports/{name}.csv', '/reports/:name'],
    ['/v1/{1st}', '/v1/:p1'],
    ['/search?q=1', '/search'],
    ['/a/', '/a'],
    ['/', '/'],
    ['GET', undefined],
  ];
  for (const [template, pattern] of cases) assert.equal(toPathPattern(template), pattern, template);
});
