// Shadow copies of gRPC calls (issue 12), end to end: a grpc-js client calls
// through Cutover (h2c in, h2c out) to grpc-js servers for legacy and the
// rewrite. A unary call is copied with its metadata and both answers are
// compared, decoded with the route's .proto (the differing protobuf field is
// named) or byte for byte without one; streaming calls are never copied and
// are counted as `skipped: streaming` — known from the descriptors, or seen
// on the wire without them — and the client's calls are never held up.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { request } from 'undici';
import { startGateway, type TestGateway, tempDir } from '../helpers/gateway.ts';
import {
  type GrpcPeer,
  type GrpcSetup,
  getOrder,
  grpc,
  ORDERS_PROTO,
  OrdersClient,
  ordersClient,
  startGrpcSetup,
} from '../helpers/grpc.ts';
import { metricOf } from '../helpers/metrics.ts';
import { waitFor } from '../helpers/wait.ts';

interface Diffs {
  summary: {
    compared: number;
    matched: number;
    mismatched: number;
    skipped: Record<string, number>;
  };
  fields: { pattern: string; raw: number }[];
  samples: { url: string; diff: string; differences: { path: string }[] }[];
}

async function diffs(gw: TestGateway): Promise<Diffs> {
  const res = await request(`${gw.adminUrl}/api/routes/orders/diffs`);
  assert.equal(res.statusCode, 200);
  return (await res.body.json()) as Diffs;
}

function until(gw: TestGateway, what: string, done: (d: Diffs) => boolean): Promise<Diffs> {
  return waitFor(what, 10_000, () => diffs(gw), done);
}

function gatewayYaml(legacy: GrpcPeer, rewrite: GrpcPeer, shadow: string): string {
  return `listen:
  - address: 127.0.0.1:0
    protocols: [h2]
admin: { listen: 127.0.0.1:0 }
state: memory
backends:
  legacy: { url: ${legacy.url}, protocol: h2c }
  rewrite: { url: ${rewrite.url}, protocol: h2c }
routes:
  - name: orders
    match: { path: /shop.v1.Orders/* }
    legacy: legacy
    candidate: rewrite
    weight: 0
    shadow: ${shadow}
`;
}

type Call = Record<string, (...args: unknown[]) => unknown>;

/** A server-streaming List through `client`: the ids received, once the call is over. */
async function list(client: grpc.Client, id: string): Promise<string[]> {
  const call = (client as unknown as Call).List(
    { id },
    new grpc.Metadata(),
  ) as grpc.ClientReadableStream<{
    id: string;
  }>;
  const got: string[] = [];
  call.on('data', (o: { id: string }) => got.push(o.id));
  const status = await new Promise<grpc.StatusObject>((r) => call.on('status', r));
  assert.equal(status.code, grpc.status.OK);
  return got;
}

/** A client-streaming Collect of `texts`: the summary's joined texts. */
function collect(client: grpc.Client, texts: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const call = (client as unknown as Call).Collect(
      new grpc.Metadata(),
      (e: Error | null, r: { joined: string }) => (e ? reject(e) : resolve(r.joined)),
    ) as grpc.ClientWritableStream<{ text: string }>;
    for (const text of texts) call.write({ text });
    call.end();
  });
}

/** A bidi Chat that waits for each answer before it sends the next message. */
async function chat(client: grpc.Client, texts: string[]): Promise<string[]> {
  const call = (client as unknown as Call).Chat(new grpc.Metadata()) as grpc.ClientDuplexStream<
    { text: string },
    { text: string }
  >;
  const replies: string[] = [];
  for (const text of texts) {
    call.write({ text });
    replies.push(
      await new Promise<string>((r) => call.once('data', (m: { text: string }) => r(m.text))),
    );
  }
  call.end();
  await new Promise((r) => call.on('status', r));
  return replies;
}

describe('gRPC shadow copies with the route’s .proto', () => {
  let rewrite: GrpcPeer;
  let gw: TestGateway;
  let client: grpc.Client;
  let setup: GrpcSetup;

  before(async () => {
    // The service's .proto beside the config, with Get marked as a read: it
    // is copied without `writes: true` (every gRPC call is a POST).
    const dir = tempDir();
    const proto = readFileSync(ORDERS_PROTO, 'utf8').replace(
      'rpc Get(GetOrderRequest) returns (Order);',
      'rpc Get(GetOrderRequest) returns (Order) { option idempotency_level = NO_SIDE_EFFECTS; }',
    );
    assert.match(proto, /NO_SIDE_EFFECTS/);
    writeFileSync(join(dir, 'orders.proto'), proto);
    setup = await startGrpcSetup(
      (legacy, rewrite) => gatewayYaml(legacy, rewrite, '{ compare: { protos: [orders.proto] } }'),
      { dir },
    );
    ({ rewrite, client } = setup);
    gw = setup.gateway;
  });

  after(() => setup.close());

  test('a unary call is copied with its metadata; the diff names the differing protobuf field', async () => {
    // x-test-total sets total.units in both answers: only a copied metadata makes them agree.
    const order = await getOrder(client, 'o-1', { 'x-test-total': '7' });
    assert.equal(order.servedBy, 'legacy');
    assert.equal(order.total?.units, '7');
    const d = await until(gw, 'the pair compared', (x) => x.summary.compared === 1);
    assert.equal(rewrite.calls.get('Get'), 1);
    assert.equal(d.summary.mismatched, 1);
    assert.deepEqual(
      d.fields.map((f) => f.pattern),
      ['$.servedBy'],
    );
    assert.deepEqual(
      d.samples[0].differences.map((x) => x.path),
      ['$.servedBy'],
    );
    assert.equal(d.samples[0].url, '/shop.v1.Orders/Get');
    assert.match(d.samples[0].diff, /-\s+"servedBy": "legacy"/);
    assert.match(d.samples[0].diff, /\+\s+"servedBy": "rewrite"/);
  });

  test('grpc-status is compared from trailers-only answers; grpc-message is not by default', async () => {
    await assert.rejects(
      getOrder(client, 'o-2', { 'x-test-status': '5' }),
      (e: grpc.ServiceError) => e.code === grpc.status.NOT_FOUND && e.details === 'legacy says 5',
    );
    const d = await until(gw, 'the pair compared', (x) => x.summary.compared === 2);
    // Both NOT_FOUND, "legacy says 5" vs "rewrite says 5": a match.
    assert.equal(d.summary.matched, 1);
  });

  test('streaming methods (known from the .proto) are not copied, and counted as streaming', async () => {
    assert.deepEqual(await list(client, 'l'), ['l-0', 'l-1', 'l-2']);
    assert.equal(await collect(client, ['x', 'y']), 'x,y');
    assert.deepEqual(await chat(client, ['one', 'two']), ['legacy:one', 'legacy:two']);
    const d = await until(gw, 'three calls skipped', (x) => x.summary.skipped.streaming === 3);
    assert.equal(d.summary.compared, 2);
    for (const method of ['List', 'Collect', 'Chat'])
      assert.equal(rewrite.calls.get(method), undefined);
    assert.equal(
      await metricOf(gw, 'cutover_shadow_total', { route: 'orders', result: 'skipped_streaming' }),
      3,
    );
  });
});

describe('gRPC shadow copies without descriptors', () => {
  let rewrite: GrpcPeer;
  let gw: TestGateway;
  let client: grpc.Client;
  let setup: GrpcSetup;

  before(async () => {
    setup = await startGrpcSetup((legacy, rewrite) =>
      gatewayYaml(legacy, rewrite, '{ writes: true }'),
    );
    ({ rewrite, client } = setup);
    gw = setup.gateway;
  });

  after(() => setup.close());

  test('a unary call is compared byte for byte, and the sample says why', async () => {
    await getOrder(client, 'o-1');
    const d = await until(gw, 'the pair compared', (x) => x.summary.compared === 1);
    assert.equal(rewrite.calls.get('Get'), 1);
    assert.deepEqual(
      d.samples[0].differences.map((x) => x.path),
      ['body'],
    );
    assert.match(
      d.samples[0].diff,
      /^gRPC messages compared byte for byte \(no descriptors for the route/,
    );
  });

  test('a bidi call that waits for each answer goes on unhindered and is not copied', async () => {
    assert.deepEqual(await chat(client, ['one', 'two', 'three']), [
      'legacy:one',
      'legacy:two',
      'legacy:three',
    ]);
    await until(gw, 'the call skipped', (x) => x.summary.skipped.streaming === 1);
    assert.equal(rewrite.calls.get('Chat'), undefined);
  });

  test('a client stream of two messages is not copied', async () => {
    assert.equal(await collect(client, ['x', 'y']), 'x,y');
    await until(gw, 'the call skipped', (x) => x.summary.skipped.streaming === 2);
    assert.equal(rewrite.calls.get('Collect'), undefined);
  });

  test('a server stream (one request message, several answers) is given up at its second answer', async () => {
    assert.deepEqual(await list(client, 'l'), ['l-0', 'l-1', 'l-2']);
    const d = await until(gw, 'the call skipped', (x) => x.summary.skipped.streaming === 3);
    // Its request looked unary: the copy may have reached the rewrite before the second answer.
    assert.equal(d.summary.compared, 1);
  });
});

/** A server whose Get answers `units` and a trailer `x-checksum: <checksum>` beside its status. */
async function startTrailerPeer(
  checksum: string,
  units: string,
): Promise<{ url: string; close(): void }> {
  const server = new grpc.Server();
  server.addService(OrdersClient.service, {
    Get(
      call: grpc.ServerUnaryCall<{ id: string }, unknown>,
      callback: grpc.sendUnaryData<unknown>,
    ) {
      const trailer = new grpc.Metadata();
      trailer.set('x-checksum', checksum);
      callback(null, { id: call.request.id, total: { currency: 'EUR', units } }, trailer);
    },
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) =>
      e ? reject(e) : resolve(p),
    ),
  );
  return { url: `http://127.0.0.1:${port}`, close: () => server.forceShutdown() };
}

test('both answers keep their trailers: status and listed trailer fields are compared from them', async () => {
  const legacy = await startTrailerPeer('sum-a', '10');
  const rewrite = await startTrailerPeer('sum-b', '11');
  const dir = tempDir();
  writeFileSync(join(dir, 'orders.proto'), readFileSync(ORDERS_PROTO));
  const gw = await startGateway(
    gatewayYaml(
      { url: legacy.url } as GrpcPeer,
      { url: rewrite.url } as GrpcPeer,
      '{ writes: true, compare: { protos: [orders.proto], headers: [content-type, x-checksum] } }',
    ),
    { dir },
  );
  const client = ordersClient(new URL(gw.url).host);
  try {
    const order = await getOrder(client, 'o-1');
    assert.equal(order.total?.units, '10');
    const d = await until(gw, 'the pair compared', (x) => x.summary.compared === 1);
    // grpc-status 0 came in the trailers of both (no grpc-status difference), x-checksum too.
    assert.deepEqual(
      d.samples[0].differences.map((x) => x.path),
      ['header:x-checksum', '$.total.units'],
    );
  } finally {
    client.close();
    await gw.close();
    legacy.close();
    rewrite.close();
  }
});
