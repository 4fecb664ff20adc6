// Run-time weights and forced breakers: written to the state store before
// they apply, restored at a restart, and kept (or given back to the file)
// across config reloads. Real store, registry and route tables, in-process.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseConfigText } from '../../src/config/index.ts';
import { InvalidArgumentError, NotFoundError } from '../../src/errors.ts';
import { GuardRegistry } from '../../src/gateway/guard-registry.ts';
import { InFlight } from '../../src/gateway/in-flight.ts';
import { RuntimeControl, readRuntimeState } from '../../src/gateway/runtime-control.ts';
import { ShadowMemory } from '../../src/gateway/shadow-memory.ts';
import { RouteTable } from '../../src/gateway/table.ts';
import { type FleetStore, MemoryStore } from '../../src/state/index.ts';
import { createLogger, Metrics } from '../../src/telemetry/index.ts';

function yaml(routes: string): string {
  return `listen: 127.0.0.1:0
admin: { listen: 127.0.0.1:0 }
state: memory
backends:
  legacy: { url: "http://127.0.0.1:9" }
  rewrite: { url: "http://127.0.0.1:9", breaker: {} }
routes:
${routes}`;
}

const ORDERS = (weight: number) =>
  `  - { name: orders, match: { path: /orders/* }, legacy: legacy, candidate: rewrite, weight: ${weight} }\n`;
const ALONE = '  - { name: alone, match: { path: /alone/* }, legacy: legacy }\n';

/** One gateway's worth of run-time state over `store`, as Gateway.create builds it. */
async function start(store: FleetStore, text: string) {
  const logger = createLogger({ level: 'silent' });
  const metrics = new Metrics();
  const inFlight = new InFlight();
  const { weights, forced } = await readRuntimeState(store);
  const guards = new GuardRegistry(metrics, logger, forced, new ShadowMemory(1 << 20, metrics));
  let table: RouteTable | undefined;
  const control = new RuntimeControl(
    { store, logger, guards, table: () => table! },
    parseConfigText(text, 'cutover.yaml'),
    weights,
  );
  const load = (t: string) => {
    table = new RouteTable(
      parseConfigText(t, 'cutover.yaml'),
      control.weights,
      metrics,
      guards,
      logger,
      inFlight,
      table,
    );
    return table;
  };
  load(text);
  return {
    control,
    reload: load,
    weight: (name: string) => table!.routes.get(name)?.weight.weight,
    candidateBreaker: () => table!.routes.get('orders')!.candidateBreaker!,
  };
}

describe('runtime control: weights', () => {
  test('a weight set at run time is stored first, applies at once and comes back after a restart', async () => {
    const store = new MemoryStore();
    const a = await start(store, yaml(ORDERS(0)));
    const status = await a.control.setWeight('orders', 25.5);
    assert.deepEqual(
      [status.weight, status.configWeight, status.weightSource],
      [25.5, 0, 'runtime'],
    );
    assert.equal(a.weight('orders'), 25.5);
    assert.equal(await store.get('weight', 'orders'), 25.5);

    const restarted = await start(store, yaml(ORDERS(0)));
    assert.equal(restarted.weight('orders'), 25.5);
  });

  test('a reload changes the file weight under a run-time one; reset gives the new file weight back', async () => {
    const store = new MemoryStore();
    const g = await start(store, yaml(ORDERS(10)));
    await g.control.setWeight('orders', 50);
    const next = g.reload(yaml(ORDERS(20)));
    const cell = next.routes.get('orders')!.weight;
    assert.deepEqual([cell.weight, cell.configWeight], [50, 20]);

    const reset = await g.control.resetWeight('orders');
    assert.deepEqual([reset.weight, reset.weightSource], [20, 'config']);
    assert.equal(await store.get('weight', 'orders'), undefined);
  });

  test('a route removed by a reload and brought back gets its run-time weight again', async () => {
    const store = new MemoryStore();
    const g = await start(store, yaml(ORDERS(0) + ALONE));
    await g.control.setWeight('orders', 5);
    g.reload(yaml(ALONE));
    assert.equal(g.weight('orders'), undefined);
    await assert.rejects(g.control.setWeight('orders', 6), NotFoundError);
    g.reload(yaml(ORDERS(0) + ALONE));
    assert.equal(g.weight('orders'), 5);
  });

  test('a refused weight changes nothing, in the route or in the store', async () => {
    const store = new MemoryStore();
    const g = await start(store, yaml(ORDERS(10) + ALONE));
    await assert.rejects(g.control.setWeight('orders', 100.001), InvalidArgumentError);
    await assert.rejects(g.control.setWeight('alone', 1), /has no candidate backend/);
    await assert.rejects(g.control.resetWeight('nope'), NotFoundError);
    assert.equal(g.weight('orders'), 10);
    assert.deepEqual([...(await store.list('weight')).keys()], []);
  });
});

describe('runtime control: forced breakers', () => {
  test('forcing a backend open is stored, applies to its breakers, survives a reload and a restart', async () => {
    const store = new MemoryStore();
    const g = await start(store, yaml(ORDERS(10)));
    const forced = await g.control.forceBreaker('rewrite', 'open');
    assert.equal(forced.forced, 'open');
    assert.equal((forced.routes.orders as { state: string }).state, 'open');
    assert.equal(g.candidateBreaker().state, 'open');
    assert.equal(await store.get('breaker', 'rewrite'), 'open');

    g.reload(yaml(ORDERS(20)));
    assert.equal(g.candidateBreaker().state, 'open');

    const restarted = await start(store, yaml(ORDERS(10)));
    assert.equal(restarted.candidateBreaker().state, 'open');
    assert.equal(restarted.control.backendBreakers('rewrite').forced, 'open');

    const auto = await restarted.control.forceBreaker('rewrite', undefined);
    assert.equal(auto.forced, null);
    assert.equal(restarted.candidateBreaker().state, 'closed');
    assert.equal(await store.get('breaker', 'rewrite'), undefined);
  });

  test('an unknown backend is refused before anything is stored', async () => {
    const store = new MemoryStore();
    const g = await start(store, yaml(ORDERS(10)));
    await assert.rejects(g.control.forceBreaker('nope', 'open'), NotFoundError);
    assert.throws(() => g.control.backendBreakers('nope'), NotFoundError);
    assert.deepEqual([...(await store.list('breaker')).keys()], []);
  });
});
