// PlanBuilder's figures against traces whose numbers are worked out by hand
// in the comments: the call ratio, shared columns, transaction hops and the
// score formula; stages and their order; the hard-signal warnings.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { PlanPair, PlanResult } from '../../src/plan/index.ts';
import { buildPlan, client, httpCall, sql, trace } from './plan-spans.ts';

function pair(plan: PlanResult, a: string, b: string): PlanPair {
  const p = plan.pairs.find((x) => x.a === a && x.b === b);
  assert.ok(p, `no pair ${a}–${b} in ${JSON.stringify(plan.pairs.map((x) => [x.a, x.b]))}`);
  return p;
}

const formula = (ratio: number, columns: number, hops: number): number =>
  0.4 * ratio + 0.35 * Math.min(columns / 20, 1) + 0.25 * Math.min(hops / 5, 1);

test('a hand-computed pair: call ratio, shared columns, hops and the score formula', () => {
  const spans = [
    // T1 writes (POST, INSERT, UPDATE), so the whole trace is one transaction.
    // Cross-module calls in it: orders→billing, billing→ledger, ledger→orders = 3 hops.
    ...trace(
      httpCall('orders', 'POST', '/orders', [
        sql('orders', 'INSERT INTO orders (id, status, total) VALUES (?, ?, ?)'),
        client('orders', 'billing', 'POST', [
          httpCall('billing', 'POST', '/invoices', [
            sql('billing', 'UPDATE orders SET status = ? WHERE id = ?'),
            client('billing', 'ledger', 'POST', [
              httpCall('ledger', 'POST', '/entries', [
                client('ledger', 'orders', 'GET', [httpCall('orders', 'GET', '/orders/{id}')]),
              ]),
            ]),
          ]),
        ]),
      ]),
    ),
    // T2: orders alone, a read: no transaction, no cross-module call.
    ...trace(
      httpCall('orders', 'GET', '/orders/{id}', [
        sql('orders', 'SELECT id, status FROM orders WHERE id = ?'),
      ]),
    ),
    // T3: billing calls orders, reads only: one call, no transaction.
    ...trace(
      httpCall('billing', 'GET', '/invoices', [
        client('billing', 'orders', 'GET', [httpCall('orders', 'GET', '/orders/{id}')]),
      ]),
    ),
  ];
  const plan = buildPlan(spans);
  // orders: traffic 4 server spans (T1 ×2, T2, T3), 1 call out (T1) → 5 calls.
  // billing: traffic 2 (T1, T3), 2 calls out (→ledger T1, →orders T3) → 4 calls.
  // Between them: orders→billing (T1) + billing→orders (T3) = 2; busier is orders (5): 2/5.
  // Columns both touch: orders touches shop.orders.{id,status,total}, billing
  // shop.orders.{status,id}: 2 shared columns. Hops: 3 (T1).
  const ob = pair(plan, 'billing', 'orders');
  assert.equal(ob.callRatio, 2 / 5);
  assert.equal(ob.sharedLevel, 'columns');
  assert.deepEqual(ob.shared, ['shop.orders.id', 'shop.orders.status']);
  assert.equal(ob.sharedColumns, 2);
  assert.equal(ob.txHops, 3);
  assert.equal(ob.twoPhaseShare, 0);
  assert.ok(Math.abs(ob.score - formula(0.4, 2, 3)) < 1e-9, `score ${ob.score}`);
  assert.ok(Math.abs(ob.score - 0.345) < 1e-9);
  // billing–ledger: 1 call; ledger 1 served + 1 out = 2, billing 4 → 1/4; hops 3; nothing shared.
  const bl = pair(plan, 'billing', 'ledger');
  assert.equal(bl.callRatio, 1 / 4);
  assert.equal(bl.sharedLevel, 'none');
  assert.ok(Math.abs(bl.score - formula(0.25, 0, 3)) < 1e-9);
  // orders–ledger: ledger→orders once; orders is busier (5) → 1/5.
  const lo = pair(plan, 'ledger', 'orders');
  assert.equal(lo.callRatio, 1 / 5);
  assert.ok(Math.abs(lo.score - formula(0.2, 0, 3)) < 1e-9);

  // Each module's score is its highest pair, with the pair named.
  const orders = plan.modules.find((m) => m.name === 'orders');
  assert.equal(orders?.score, ob.score);
  assert.equal(orders?.pair?.with, 'billing');
  assert.equal(orders?.traffic, 4);
  assert.equal(orders?.stage, 'L2');
  assert.deepEqual(orders?.entryPoints, [
    { name: 'GET /orders/{id}', kind: 'http', path: '/orders/{id}', method: 'GET', calls: 3 },
    { name: 'POST /orders', kind: 'http', path: '/orders', method: 'POST', calls: 1 },
  ]);
  assert.equal(plan.traces.traces, 3);
  assert.equal(plan.traces.spans, spans.length);
});

test('stages L1 / L2 / L3 and the order: stage, score, then traffic (low first), then name', () => {
  const spans = [];
  // p serves POST /p and calls q each time (writes: one transaction, 1 hop):
  // p: 10 served + 10 out = 20 calls, q: 10 → ratio 10/20 = 0.5; 20 shared
  // columns from modules.yaml → 0.4·0.5 + 0.35 + 0.25·0.2 = 0.6 > 0.5: L3.
  for (let i = 0; i < 10; i++) {
    spans.push(
      ...trace(
        httpCall('p', 'POST', '/p', [client('p', 'q', 'POST', [httpCall('q', 'POST', '/q')])]),
      ),
    );
  }
  // r (3 requests) and s (1) share 4 columns and never call: 0.35·4/20 = 0.07: L1.
  for (let i = 0; i < 3; i++) spans.push(...trace(httpCall('r', 'GET', '/r')));
  spans.push(...trace(httpCall('s', 'GET', '/s')));
  // t and u share 20 columns, 2 requests each: 0.35: L2, tied on score and traffic.
  for (const svc of ['u', 't', 'u', 't']) spans.push(...trace(httpCall(svc, 'GET', `/${svc}`)));
  const cols = (n: number) => Array.from({ length: n }, (_, i) => `db.t.c${i}`);
  const plan = buildPlan(spans, {
    modules: {},
    dataStores: [],
    shared: [
      { modules: ['p', 'q'], columns: cols(20) },
      { modules: ['r', 's'], columns: cols(4) },
      { modules: ['t', 'u'], columns: cols(20) },
    ],
    twoPhase: [],
    cost: undefined,
    source: 'modules.yaml',
  });
  assert.deepEqual(
    plan.modules.map((m) => [m.name, m.stage, Math.round(m.score * 1e9) / 1e9, m.traffic]),
    [
      ['s', 'L1', 0.07, 1],
      ['r', 'L1', 0.07, 3],
      ['t', 'L2', 0.35, 2],
      ['u', 'L2', 0.35, 2],
      ['p', 'L3', 0.6, 10],
      ['q', 'L3', 0.6, 10],
    ],
  );
  assert.equal(pair(plan, 'p', 'q').sharedLevel, 'columns');
  assert.deepEqual(plan.pairs[0].a, 'p');
});

test('stage bounds: a score of exactly 0.2 is L1', () => {
  // a serves 1 and calls b once (a read: no transaction): a 2 calls, b 1 → ratio 0.5 → 0.2;
  // both served 1 request, so the name orders them.
  const l1 = buildPlan(
    trace(httpCall('a', 'GET', '/a', [client('a', 'b', 'GET', [httpCall('b', 'GET', '/b')])])),
  );
  assert.deepEqual(
    l1.modules.map((m) => [m.name, m.stage, m.score]),
    [
      ['a', 'L1', 0.2],
      ['b', 'L1', 0.2],
    ],
  );
});

test('high coupling: ≥ 50,000 cross-module calls a day, scaled from a one-minute trace set', () => {
  // One minute of traces is 1/1440 of a day: 35 calls → 50,400 a day, 34 → 48,960.
  const minute = (calls: number, from: string, to: string) => {
    const start = 1_700_000_000_000_000;
    const spans = [];
    for (let i = 0; i < calls; i++) {
      const at = start + Math.round((i * 59_000_000) / (calls - 1));
      spans.push(...trace(client(from, to, 'GET', [httpCall(to, 'GET', `/${to}`)]), at));
    }
    return spans;
  };
  const hot = buildPlan(minute(35, 'web', 'cart'));
  assert.equal(hot.traces.days, 1 / 1440);
  assert.equal(hot.pairs[0].callsPerDay, 35 * 1440);
  assert.deepEqual(
    hot.warnings.filter((w) => w.kind === 'high-coupling').map((w) => w.modules),
    [['cart', 'web']],
  );
  const cool = buildPlan(minute(34, 'web', 'cart'));
  assert.equal(cool.pairs[0].callsPerDay, 34 * 1440);
  assert.deepEqual(cool.warnings, []);
});

test("two-phase: 2PC (XA PREPARE, both modules writing) in > 15% of a pair's transactions", () => {
  const tx = (prepared: boolean) =>
    trace(
      httpCall('orders', 'POST', '/orders', [
        sql('orders', 'INSERT INTO orders (id) VALUES (?)'),
        ...(prepared ? [sql('orders', "XA PREPARE 'x1'")] : []),
        client('orders', 'stock', 'POST', [
          httpCall('stock', 'POST', '/reserve', [
            sql('stock', 'UPDATE stock SET n = n - 1 WHERE sku = ?', 'inv'),
          ]),
        ]),
      ]),
    );
  // 2 of 10 → 20% > 15%: warned; 1 of 10 → 10%: not.
  const strong = buildPlan([
    ...tx(true),
    ...tx(true),
    ...Array.from({ length: 8 }, () => tx(false)).flat(),
  ]);
  assert.equal(pair(strong, 'orders', 'stock').twoPhaseShare, 0.2);
  assert.deepEqual(
    strong.warnings.filter((w) => w.kind === 'two-phase').map((w) => w.modules),
    [['orders', 'stock']],
  );
  const weak = buildPlan([...tx(true), ...Array.from({ length: 9 }, () => tx(false)).flat()]);
  assert.equal(pair(weak, 'orders', 'stock').twoPhaseShare, 0.1);
  assert.deepEqual(weak.warnings, []);
});

test('transactions without writes: a marked span and a BEGIN…COMMIT pair under one parent', () => {
  // Reads only; the marked span's subtree crosses a→b→c: 2 hops. The
  // BEGIN…COMMIT parent in d calls e once: 1 hop. Unmarked reads: no transaction.
  const plan = buildPlan([
    ...trace({
      service: 'a',
      kind: 'server',
      name: 'GET /a',
      attributes: { transaction: 'true' },
      children: [
        client('a', 'b', 'GET', [
          httpCall('b', 'GET', '/b', [client('b', 'c', 'GET', [httpCall('c', 'GET', '/c')])]),
        ]),
      ],
    }),
    ...trace(
      httpCall('d', 'GET', '/d', [
        sql('d', 'BEGIN'),
        sql('d', 'SELECT x FROM t WHERE id = ?'),
        client('d', 'e', 'GET', [httpCall('e', 'GET', '/e')]),
        sql('d', 'COMMIT'),
      ]),
    ),
    ...trace(httpCall('f', 'GET', '/f', [client('f', 'g', 'GET', [httpCall('g', 'GET', '/g')])])),
  ]);
  assert.equal(pair(plan, 'a', 'c').txHops, 2);
  assert.equal(pair(plan, 'a', 'b').txHops, 2);
  assert.equal(pair(plan, 'd', 'e').txHops, 1);
  assert.equal(pair(plan, 'f', 'g').txHops, 0);
  assert.equal(pair(plan, 'f', 'g').twoPhaseShare, undefined);
});

test('data stores without modules.yaml: db.system, messaging.system and a remote endpoint that serves nothing', () => {
  const plan = buildPlan([
    ...trace(
      httpCall('orders', 'POST', '/orders', [
        sql('orders', 'INSERT INTO orders (id, status) VALUES (?, ?)'),
        {
          service: 'orders',
          kind: 'producer',
          name: 'publish',
          attributes: { 'messaging.system': 'kafka', 'messaging.destination.name': 'order-events' },
        },
        { service: 'orders', kind: 'client', name: 'get', remote: 'memcached' },
      ]),
    ),
    ...trace(
      httpCall('billing', 'GET', '/bills', [
        { service: 'billing', kind: 'client', name: 'get', remote: 'memcached' },
        sql('billing', 'SELECT total FROM invoices WHERE order_id = ?'),
      ]),
    ),
  ]);
  assert.deepEqual(plan.dataStores, [
    { name: 'kafka:order-events', source: 'messaging.system', modules: ['orders'], tables: [] },
    { name: 'memcached', source: 'remote endpoint', modules: ['billing', 'orders'], tables: [] },
    {
      name: 'postgresql:shop',
      source: 'db.system',
      modules: ['billing', 'orders'],
      tables: ['shop.invoices', 'shop.orders'],
    },
  ]);
  assert.deepEqual(plan.modules.map((m) => m.name).sort(), ['billing', 'orders']);
  // No column or table in common: the level is the stores both touch.
  const p = pair(plan, 'billing', 'orders');
  assert.equal(p.sharedLevel, 'stores');
  assert.deepEqual(p.shared, ['memcached', 'postgresql:shop']);
  assert.equal(p.sharedColumns, 2);
});

test('high coupling for a module: its pairs together reach 50,000 calls a day, none alone', () => {
  // One minute of traces: hub calls a 20 times and b 20 times → 28,800 a day
  // each, 57,600 for hub over both.
  const spans = [];
  for (let i = 0; i < 20; i++) {
    for (const to of ['a', 'b']) {
      spans.push(
        ...trace(
          client('hub', to, 'GET', [httpCall(to, 'GET', `/${to}`)]),
          1_700_000_000_000_000 + i * 3_000_000,
        ),
      );
    }
  }
  const plan = buildPlan(spans);
  assert.deepEqual(
    plan.warnings.map((w) => [w.kind, w.modules]),
    [['high-coupling', ['hub']]],
  );
  assert.match(plan.warnings[0].message, /hub makes and receives 57,600 cross-module calls a day/);
});

test('modules.yaml names no span belongs to are warned about', () => {
  const plan = buildPlan(trace(httpCall('orders', 'GET', '/orders')), {
    modules: {},
    dataStores: [],
    shared: [{ modules: ['orders', 'billing'], columns: ['shop.orders.id'] }],
    twoPhase: [],
    cost: undefined,
    source: 'modules.yaml',
  });
  assert.deepEqual(plan.warnings, [
    {
      kind: 'unknown-module',
      message: 'modules.yaml names module "billing", which no span belongs to',
      modules: ['billing'],
    },
  ]);
  assert.deepEqual(plan.pairs, []);
});

test('shared data falls back from columns to tables to stores as the statements allow', () => {
  const pairOf = (a: string, b: string) =>
    pair(
      buildPlan([
        ...trace(httpCall('x', 'GET', '/x', [sql('x', a)])),
        ...trace(httpCall('y', 'GET', '/y', [sql('y', b)])),
      ]),
      'x',
      'y',
    );
  // Single-table statements give columns: SELECT list, WHERE comparisons, SET, INSERT list.
  assert.deepEqual(
    pairOf(
      'SELECT "status", total AS t FROM public.orders WHERE id = $1',
      'UPDATE orders SET status = $1, note = $2 WHERE id = $3 AND total > 0',
    ).shared,
    ['shop.orders.id', 'shop.orders.status', 'shop.orders.total'],
  );
  // `*` and joins give no columns: the tables both name are the level.
  const joined = pairOf(
    'SELECT * FROM orders WHERE id = ?',
    'SELECT o.id FROM orders o JOIN invoices i ON i.order_id = o.id',
  );
  assert.equal(joined.sharedLevel, 'tables');
  assert.deepEqual(joined.shared, ['shop.orders']);
  // Different tables of one database: the store is what they share.
  const stores = pairOf('SELECT id FROM orders', 'SELECT id FROM invoices');
  assert.equal(stores.sharedLevel, 'stores');
  assert.deepEqual(stores.shared, ['postgresql:shop']);
  assert.equal(stores.sharedColumns, 1);
});
