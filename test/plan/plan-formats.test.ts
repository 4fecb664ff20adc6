// One set of traces written as Zipkin, Jaeger and OTLP gives the same plan.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { PlanBuilder, type PlanResult, readSpans } from '../../src/plan/index.ts';
import { COUPLED_ROWS, jaegerJson, otlpJsonLines, zipkinJson } from './trace-fixtures.ts';

const dir = mkdtempSync(join(tmpdir(), 'cutover-plan-formats-'));
after(() => rmSync(dir, { recursive: true, force: true }));

async function planOf(name: string, text: string): Promise<PlanResult> {
  const file = join(dir, name);
  writeFileSync(file, text);
  const builder = new PlanBuilder();
  const summary = await readSpans([file], { onSpan: (s) => builder.add(s) });
  return builder.finish(summary);
}

test('Zipkin, Jaeger and OTLP exports of the same traces give the same modules, pairs and data stores', async () => {
  const zipkin = await planOf('zipkin.json', zipkinJson());
  const jaeger = await planOf('jaeger.json', jaegerJson());
  const otlp = await planOf('otlp.jsonl', otlpJsonLines());
  const graph = (p: PlanResult) => ({
    modules: p.modules,
    pairs: p.pairs,
    dataStores: p.dataStores,
    traces: p.traces,
  });
  assert.deepEqual(graph(jaeger), graph(zipkin));
  assert.deepEqual(graph(otlp), graph(zipkin));
  // What the graph is: gateway calls orders and payments; orders reads postgres.
  assert.deepEqual(
    zipkin.pairs.filter((p) => p.callsPerDay > 0).map((p) => [p.a, p.b]),
    [
      ['gateway', 'orders'],
      ['gateway', 'payments'],
    ],
  );
  assert.deepEqual(zipkin.dataStores, [
    { name: 'postgresql:shop', source: 'db.system', modules: ['orders'], tables: ['shop.orders'] },
  ]);
  assert.deepEqual(zipkin.modules.map((m) => m.name).sort(), ['gateway', 'orders', 'payments']);
});

test('the coupled set (calls, a Kafka topic, a shared table, gRPC) plans the same from all three formats', async () => {
  const zipkin = await planOf('coupled-zipkin.json', zipkinJson(COUPLED_ROWS));
  const jaeger = await planOf('coupled-jaeger.json', jaegerJson(COUPLED_ROWS));
  const otlp = await planOf('coupled-otlp.jsonl', otlpJsonLines(COUPLED_ROWS));
  const graph = (p: PlanResult) => ({
    modules: p.modules,
    pairs: p.pairs,
    dataStores: p.dataStores,
  });
  assert.deepEqual(graph(jaeger), graph(zipkin));
  assert.deepEqual(graph(otlp), graph(zipkin));

  assert.deepEqual(
    zipkin.dataStores.map((d) => [d.name, d.source, d.modules]),
    [
      ['kafka:order-events', 'messaging.system', ['billing', 'orders']],
      ['memcached', 'remote endpoint', ['billing']],
      ['postgresql:shop', 'db.system', ['billing', 'orders']],
    ],
  );
  // orders and billing: the producer→consumer call and the gRPC call (2);
  // orders: 2 served + 1 out = 3, billing: 2 served + 1 out = 3 → 2/3.
  // Columns both touch: shop.orders.id and .status. The checkout trace writes:
  // gateway→orders, orders→billing = 2 hops.
  const p = zipkin.pairs.find((x) => x.a === 'billing' && x.b === 'orders');
  assert.ok(p);
  assert.equal(p.callRatio, 2 / 3);
  assert.deepEqual(p.shared, ['shop.orders.id', 'shop.orders.status']);
  assert.equal(p.txHops, 2);
  assert.ok(Math.abs(p.score - (0.4 * (2 / 3) + 0.35 * (2 / 20) + 0.25 * (2 / 5))) < 1e-9);
  const orders = zipkin.modules.find((m) => m.name === 'orders');
  assert.deepEqual(orders?.entryPoints, [
    { name: 'POST /orders', kind: 'http', path: '/orders', method: 'POST', calls: 1 },
    {
      name: 'grpc orders.v1.Orders/Get',
      kind: 'grpc',
      path: 'orders.v1.Orders',
      method: 'Get',
      calls: 1,
    },
  ]);
});

test('spans the readers skip are counted in a spans-skipped warning', async () => {
  const spans = JSON.parse(zipkinJson()) as Record<string, unknown>[];
  delete spans[5].traceId;
  delete spans[4].localEndpoint;
  const plan = await planOf('skips.json', JSON.stringify(spans));
  assert.equal(plan.traces.spans, 4);
  assert.deepEqual(plan.warnings, [
    {
      kind: 'spans-skipped',
      message: '2 spans were skipped (1 no service, 1 no traceId); the figures leave them out',
      modules: [],
    },
  ]);
});
