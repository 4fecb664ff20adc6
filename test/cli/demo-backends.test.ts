import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { type DemoBackends, startDemoBackends } from '../../src/cli/demo-backends.ts';
import { loadConfigFile } from '../../src/config/index.ts';

let demo: DemoBackends;
before(async () => {
  demo = await startDemoBackends({ legacyPort: 0, rewritePort: 0 });
});
after(() => demo.close());

type Json = Record<string, unknown>;

async function getJson(
  url: string,
  init?: RequestInit,
): Promise<{ status: number; body: Json; servedBy: string | null; headers: Headers }> {
  const res = await fetch(url, init);
  assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
  return {
    status: res.status,
    body: (await res.json()) as Json,
    servedBy: res.headers.get('x-served-by'),
    headers: res.headers,
  };
}

function withoutMeta(body: Json): Json {
  const { meta, ...rest } = body;
  const m = meta as { requestId: unknown; servedAt: unknown };
  assert.equal(typeof m.requestId, 'string');
  assert.equal(new Date(m.servedAt as string).toISOString(), m.servedAt);
  return rest;
}

/** GETs `path` on both services and returns their bodies without `meta`. */
async function both(path: string): Promise<{ legacy: Json; rewrite: Json }> {
  const [l, r] = await Promise.all([
    getJson(demo.legacy.url + path),
    getJson(demo.rewrite.url + path),
  ]);
  assert.equal(l.status, 200, `legacy ${path}`);
  assert.equal(r.status, 200, `rewrite ${path}`);
  assert.equal(l.servedBy, 'legacy-java');
  assert.equal(r.servedBy, 'rewrite-go');
  return { legacy: withoutMeta(l.body), rewrite: withoutMeta(r.body) };
}

test('listens on the ports the OS picked', () => {
  assert.match(demo.legacy.url, /^http:\/\/127\.0\.0\.1:\d+$/);
  assert.match(demo.rewrite.url, /^http:\/\/127\.0\.0\.1:\d+$/);
  assert.notEqual(demo.legacy.url, demo.rewrite.url);
});

test('healthz answers ok as text on both', async () => {
  for (const url of [demo.legacy.url, demo.rewrite.url]) {
    const res = await fetch(`${url}/healthz`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/plain/);
    assert.equal(await res.text(), 'ok');
  }
});

test('user profiles agree once meta is ignored, and depend only on the id', async () => {
  const { legacy, rewrite } = await both('/api/v1/user/42');
  assert.deepEqual(rewrite, legacy);
  assert.equal(legacy.id, '42');
  for (const field of ['name', 'email', 'plan', 'createdAt']) {
    assert.equal(typeof legacy[field], 'string', field);
  }
  const again = await both('/api/v1/user/42');
  assert.deepEqual(again.legacy, legacy);
  const other = await both('/api/v1/user/7');
  assert.notDeepEqual(other.legacy, legacy);
});

test('meta differs on every answer', async () => {
  const a = await getJson(`${demo.legacy.url}/api/v1/user/42`);
  const b = await getJson(`${demo.legacy.url}/api/v1/user/42`);
  const ma = a.body.meta as Json;
  const mb = b.body.meta as Json;
  assert.notEqual(ma.requestId, mb.requestId);
});

test('catalog products agree', async () => {
  const { legacy, rewrite } = await both('/api/v1/catalog/SKU-1234');
  assert.deepEqual(rewrite, legacy);
  assert.equal(legacy.sku, 'SKU-1234');
  assert.equal(typeof legacy.name, 'string');
  assert.equal(typeof legacy.price, 'number');
  assert.equal(legacy.currency, 'EUR');
  assert.equal(typeof legacy.stock, 'number');
});

test('orders differ only in the type of total: number on legacy, "0.00" string on the rewrite', async () => {
  for (const user of ['42', '7', 'alice', 'u-1001']) {
    const { legacy, rewrite } = await both(`/api/v1/orders?user=${user}`);
    assert.notDeepEqual(rewrite, legacy);
    const orders = legacy.orders as Json[];
    const rewriteOrders = rewrite.orders as Json[];
    assert.ok(orders.length > 0);
    for (const [i, order] of orders.entries()) {
      const total = order.total as number;
      const items = order.items as { sku: string; qty: number; price: number }[];
      assert.equal(typeof total, 'number');
      assert.equal(rewriteOrders[i].total, total.toFixed(2));
      const sum = items.reduce((cents, it) => cents + Math.round(it.price * 100) * it.qty, 0);
      assert.equal(Math.round(total * 100), sum, 'total is the sum of the items');
      assert.equal(order.currency, 'EUR');
    }
    const repaired = {
      ...rewrite,
      orders: rewriteOrders.map((o) => ({ ...o, total: Number(o.total) })),
    };
    assert.deepEqual(repaired, legacy);
  }
});

test('orders without a user are refused with 400 on both', async () => {
  for (const url of [demo.legacy.url, demo.rewrite.url]) {
    const res = await getJson(`${url}/api/v1/orders`);
    assert.equal(res.status, 400);
    assert.match(res.body.error as string, /user/);
  }
});

test('POST /api/v1/orders creates the same order on both', async () => {
  const order = {
    user: '42',
    items: [
      { sku: 'SKU-1234', qty: 2 },
      { sku: 'SKU-9', qty: 1 },
    ],
  };
  const init = (): RequestInit => ({
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(order),
  });
  const l = await getJson(`${demo.legacy.url}/api/v1/orders`, init());
  const r = await getJson(`${demo.rewrite.url}/api/v1/orders`, init());
  assert.equal(l.status, 201);
  assert.equal(r.status, 201);
  const created = withoutMeta(l.body);
  assert.deepEqual(withoutMeta(r.body), created);
  assert.match(created.id as string, /^ord-\d{6}$/);
  assert.equal(l.headers.get('location'), `/api/v1/orders/${created.id}`);
  assert.equal(created.user, '42');
  assert.equal(created.status, 'created');
  const items = created.items as { sku: string; qty: number; price: number }[];
  assert.deepEqual(
    items.map(({ sku, qty }) => ({ sku, qty })),
    order.items,
  );
  const product = await getJson(`${demo.legacy.url}/api/v1/catalog/SKU-1234`);
  assert.equal(items[0].price, product.body.price);
});

test('POST /api/v1/orders with a bad body is refused with 400', async () => {
  for (const body of ['not json', '{"user":"42"}', '{"user":"42","items":[{"sku":"A","qty":0}]}']) {
    const res = await getJson(`${demo.rewrite.url}/api/v1/orders`, { method: 'POST', body });
    assert.equal(res.status, 400, body);
  }
});

test('the slow endpoint answers on both', async () => {
  const { legacy, rewrite } = await both('/api/v1/slow');
  assert.deepEqual(rewrite, legacy);
});

test('unknown paths are 404 and wrong methods 405', async () => {
  const missing = await getJson(`${demo.legacy.url}/api/v1/nothing`);
  assert.equal(missing.status, 404);
  const wrong = await getJson(`${demo.rewrite.url}/api/v1/user/42`, { method: 'DELETE' });
  assert.equal(wrong.status, 405);
  assert.equal(wrong.headers.get('allow'), 'GET');
});

test('break makes every rewrite API endpoint answer 500 until heal', async () => {
  const legacyBreak = await fetch(`${demo.legacy.url}/__demo/break`, { method: 'POST' });
  assert.equal(legacyBreak.status, 404, 'the control endpoints exist only on the rewrite');
  await legacyBreak.text();

  const broke = await getJson(`${demo.rewrite.url}/__demo/break`, { method: 'POST' });
  assert.equal(broke.status, 200);
  assert.equal(broke.body.broken, true);
  try {
    for (const path of [
      '/api/v1/user/42',
      '/api/v1/orders?user=42',
      '/api/v1/catalog/SKU-1',
      '/api/v1/slow',
    ]) {
      const res = await getJson(demo.rewrite.url + path);
      assert.equal(res.status, 500, path);
      assert.equal(res.servedBy, 'rewrite-go');
    }
    const post = await getJson(`${demo.rewrite.url}/api/v1/orders`, {
      method: 'POST',
      body: JSON.stringify({ user: '42', items: [{ sku: 'SKU-1', qty: 1 }] }),
    });
    assert.equal(post.status, 500);
    const health = await fetch(`${demo.rewrite.url}/healthz`);
    assert.equal(health.status, 200, 'the process still looks alive');
    await health.text();
    const legacy = await getJson(`${demo.legacy.url}/api/v1/user/42`);
    assert.equal(legacy.status, 200, 'legacy is not affected');
  } finally {
    const healed = await getJson(`${demo.rewrite.url}/__demo/heal`, { method: 'POST' });
    assert.equal(healed.status, 200);
    assert.equal(healed.body.broken, false);
  }
  const res = await getJson(`${demo.rewrite.url}/api/v1/user/42`);
  assert.equal(res.status, 200);
});

test('close() frees both ports', async () => {
  const extra = await startDemoBackends({ legacyPort: 0, rewritePort: 0 });
  const res = await fetch(`${extra.legacy.url}/healthz`);
  await res.text();
  await extra.close();
  await assert.rejects(fetch(`${extra.legacy.url}/healthz`), TypeError);
  await assert.rejects(fetch(`${extra.rewrite.url}/healthz`), TypeError);
});

test('examples/demo.yaml points its backends and health checks at the demo services', async () => {
  const config = await loadConfigFile(
    new URL('../../examples/demo.yaml', import.meta.url).pathname,
    {
      DEMO_LEGACY_PORT: new URL(demo.legacy.url).port,
      DEMO_REWRITE_PORT: new URL(demo.rewrite.url).port,
    },
  );
  assert.deepEqual(config.listen, { host: '127.0.0.1', port: 8080 });
  // One port for HTTP/1.1 and h2c (the gRPC route's clients).
  assert.deepEqual(config.listeners[0].protocols, ['http1', 'h2']);
  assert.deepEqual(config.admin.listen, { host: '127.0.0.1', port: 9090 });
  for (const [name, service] of [
    ['legacy', demo.legacy],
    ['rewrite', demo.rewrite],
  ] as const) {
    const backend = config.backends.get(name)!;
    assert.deepEqual(backend.urls, [`${service.url}/`]);
    const res = await fetch(new URL(backend.health!.path, backend.urls[0]));
    assert.equal(await res.text(), 'ok');
  }
  for (const [name, port] of [
    ['legacy-grpc', 9003],
    ['rewrite-grpc', 9004],
  ] as const) {
    const backend = config.backends.get(name)!;
    assert.deepEqual([backend.urls, backend.protocol], [[`http://127.0.0.1:${port}/`], 'h2c']);
  }
  const routes = Object.fromEntries(config.routes.map((r) => [r.name, r]));
  assert.deepEqual(Object.keys(routes), ['user-profile', 'orders', 'catalog', 'slow', 'stock']);
  assert.deepEqual(routes.stock.match.grpc, { service: 'demo.v1.Stock', method: undefined });
  // Shadowed like the HTTP routes, with the service's descriptors.
  assert.equal(routes.stock.rollout?.shadowFor, routes['user-profile'].rollout?.shadowFor);
  assert.ok(routes.stock.shadow?.proto, 'stock compares decoded protobuf messages');
  assert.deepEqual(routes.orders.match.methods, ['GET', 'POST']);
  // The demo's traffic all comes from 127.0.0.1: sticky on the IP, catalog would be all or nothing.
  assert.deepEqual(routes.catalog.split.stickyKey, [{ kind: 'cookie', name: 'visitor' }]);
  for (const route of config.routes) {
    // A rollout starts in shadow at weight 0; a file weight above it would be served meanwhile.
    assert.equal(route.weight, 0, route.name);
    assert.ok(route.rollout, `${route.name} rolls out`);
    assert.deepEqual(route.rollout.steps, [5, 25, 50, 100], route.name);
    if (route.name === 'stock') continue;
    assert.ok(route.rollout.shadowFor > 0, route.name);
    // Every answer's meta (request id, timestamp) differs: shadow must not count it.
    assert.deepEqual(route.shadow?.compare.ignore, ['$.meta'], route.name);
  }
  assert.equal(config.rollouts.checkEvery, 1000);
  assert.equal(config.state, 'sqlite:.cutover/demo.db');
});

test('examples/demo.yaml reads its holds and its state from the environment', async () => {
  const config = await loadConfigFile(
    new URL('../../examples/demo.yaml', import.meta.url).pathname,
    {
      DEMO_SHADOW_FOR: '2s',
      DEMO_INTERVAL: '3s',
      DEMO_SLOW_INTERVAL: '4s',
      DEMO_STATE: 'memory',
    },
  );
  const rollouts = Object.fromEntries(config.routes.map((r) => [r.name, r.rollout]));
  for (const name of ['user-profile', 'orders', 'catalog']) {
    assert.equal(rollouts[name]?.shadowFor, 2000, name);
    assert.equal(rollouts[name]?.interval, 3000, name);
  }
  assert.equal(rollouts.slow?.shadowFor, 2000);
  assert.equal(rollouts.slow?.interval, 4000);
  assert.equal(config.state, 'memory');
});
