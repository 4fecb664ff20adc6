// gRPC outcomes through a real gateway between real grpc-js peers: an
// answer's grpc-status (in a trailers-only head or in real trailers after a
// 200 head) decides success for the breaker, the figures and the access log;
// a failed call with no message sent yet is retried or falls back to legacy
// when the route lets POSTs be resent; once a message reached the client,
// nothing is resent.
import assert from 'node:assert/strict';
import { connect as h2connect } from 'node:http2';
import { after, before, describe, it } from 'node:test';
import type { TestGateway } from '../helpers/gateway.ts';
import { type GrpcPeer, type GrpcSetup, getOrder, grpc, startGrpcSetup } from '../helpers/grpc.ts';
import { metricOf } from '../helpers/metrics.ts';
import { eventually } from '../helpers/wait.ts';

const UNAVAILABLE = grpc.status.UNAVAILABLE;

/** shop.v1.GetOrderRequest { id: "x" } in one gRPC length-prefixed message. */
const GET_X = Buffer.from([0, 0, 0, 0, 3, 0x0a, 0x01, 0x78]);

/** One raw gRPC Get straight to `url`: the head's fields and the trailers, as a peer sends them. */
function rawGet(
  url: string,
  metadata: Record<string, string>,
): Promise<{ head: Record<string, unknown>; trailers: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const session = h2connect(url);
    session.on('error', reject);
    const stream = session.request({
      ':method': 'POST',
      ':path': '/shop.v1.Orders/Get',
      'content-type': 'application/grpc',
      te: 'trailers',
      ...metadata,
    });
    let head: Record<string, unknown> = {};
    let trailers: Record<string, unknown> = {};
    stream.on('response', (h) => {
      head = h;
    });
    stream.on('trailers', (t) => {
      trailers = t;
    });
    stream.resume();
    stream.on('end', () => {
      session.close();
      resolve({ head, trailers });
    });
    stream.on('error', reject);
    stream.end(GET_X);
  });
}

/** Messages a server-streaming List delivers, and the status it ends with. */
async function list(
  client: grpc.Client,
  metadata: Record<string, string>,
): Promise<{ ids: string[]; code: number }> {
  const md = new grpc.Metadata();
  for (const [k, v] of Object.entries(metadata)) md.set(k, v);
  const call = (
    client as unknown as {
      List(r: object, m: grpc.Metadata): grpc.ClientReadableStream<{ id: string }>;
    }
  ).List({ id: 'l' }, md);
  const ids: string[] = [];
  call.on('data', (o: { id: string }) => ids.push(o.id));
  // The error event carries the same status; listened to so it does not throw.
  call.on('error', () => {});
  const status = await new Promise<grpc.StatusObject>((r) => call.on('status', r));
  return { ids, code: status.code };
}

function gatewayYaml(legacy: GrpcPeer, rewrite: GrpcPeer, route: string): string {
  return `listen:
  - address: 127.0.0.1:0
    protocols: [h2]
admin: { listen: 127.0.0.1:0 }
state: memory
backends:
  legacy: { url: ${legacy.url}, protocol: h2c }
  rewrite:
    url: ${rewrite.url}
    protocol: h2c
    breaker: { minRequests: 4, errorRatio: 0.5, openFor: 1m }
routes:
  - name: orders
    match: { path: /shop.v1.Orders/* }
    legacy: legacy
    candidate: rewrite
    split: { override: header:x-release-stage }
${route}
`;
}

describe('gRPC calls on a route that resends them (fallback.methods lists POST)', () => {
  let legacy: GrpcPeer;
  let rewrite: GrpcPeer;
  let gateway: TestGateway;
  let client: grpc.Client;
  let setup: GrpcSetup;

  before(async () => {
    setup = await startGrpcSetup((legacy, rewrite) =>
      gatewayYaml(
        legacy,
        rewrite,
        `    fallback: { methods: [POST] }
    retry: { attempts: 2 }`,
      ),
    );
    ({ legacy, rewrite, client } = setup);
    gateway = setup.gateway;
  });

  after(() => setup.close());

  it('a candidate answering UNAVAILABLE in real trailers trips its breaker; every unary call gets legacy’s answer', async () => {
    rewrite.failGets(UNAVAILABLE);
    try {
      // The rewrite's failure is a 200 head, then grpc-status in the trailers.
      const raw = await rawGet(rewrite.url, {});
      assert.equal(raw.head[':status'], 200);
      assert.equal(raw.head['grpc-status'], undefined);
      assert.equal(raw.trailers['grpc-status'], String(UNAVAILABLE));

      const before = rewrite.calls.get('Get') ?? 0;
      for (let i = 0; i < 6; i++) {
        const order = await getOrder(client, `o-${i}`, { 'x-release-stage': 'canary' });
        assert.equal(order.servedBy, 'legacy', `call ${i}`);
        assert.equal(order.id, `o-${i}`, 'legacy got the whole request body');
      }
      // Four failures open the breaker (minRequests 4); the last two never reach the rewrite.
      assert.equal((rewrite.calls.get('Get') ?? 0) - before, 4);
      const labels = { route: 'orders', backend: 'rewrite' };
      assert.equal(await metricOf(gateway, 'cutover_breaker_state', labels), 2);
      const candidate = { route: 'orders', side: 'candidate', backend: 'rewrite' };
      assert.equal(
        await metricOf(gateway, 'cutover_grpc_responses_total', {
          ...candidate,
          grpc_status: 'UNAVAILABLE',
        }),
        4,
      );
      // A gRPC failure in a 200 counts as 5xx, as every gate reads it.
      assert.equal(
        await metricOf(gateway, 'cutover_requests_total', { ...candidate, class: '5xx' }),
        4,
      );
      assert.equal(
        await metricOf(gateway, 'cutover_requests_total', { ...candidate, class: '2xx' }),
        undefined,
      );
      assert.equal(
        await metricOf(gateway, 'cutover_fallbacks_total', { route: 'orders', reason: 'grpc' }),
        4,
      );
      assert.equal(
        await metricOf(gateway, 'cutover_fallbacks_total', {
          route: 'orders',
          reason: 'breaker-open',
        }),
        2,
      );
      let line: Record<string, unknown> | undefined;
      await eventually('the access line of the first fallback', () => {
        line = gateway.accessLogs().find((l) => l.fallback === 'grpc');
        return line !== undefined;
      });
      assert.equal(line!.side, 'legacy');
      assert.equal(line!.status, 200);
      assert.equal(line!.grpc_status, 'OK');
      assert.equal(line!.attempts, 2);
    } finally {
      rewrite.failGets(undefined);
    }
  });

  for (const [how, metadata] of [
    ['in real trailers after a 200 head', { 'x-test-head-first': '1' }],
    ['in a trailers-only answer', {}],
  ] as const) {
    it(`a unary call answered UNAVAILABLE ${how} is retried and succeeds on the next attempt`, async () => {
      const calls = legacy.calls.get('Get') ?? 0;
      const retried = (await metricOf(gateway, 'cutover_retries_total', { route: 'orders' })) ?? 0;
      const order = await getOrder(client, 'r-1', {
        ...metadata,
        'x-release-stage': 'stable',
        'x-test-status': String(UNAVAILABLE),
        // Only this call's first attempt fails.
        'x-test-fail-first': String(calls + 1),
      });
      assert.equal(order.servedBy, 'legacy');
      assert.equal(order.id, 'r-1');
      assert.equal((legacy.calls.get('Get') ?? 0) - calls, 2);
      assert.equal(
        await metricOf(gateway, 'cutover_retries_total', { route: 'orders' }),
        retried + 1,
      );
    });
  }

  it('a server-streaming call that failed after sending a message is not retried: the client sees the failure', async () => {
    const calls = legacy.calls.get('List') ?? 0;
    const retried = (await metricOf(gateway, 'cutover_retries_total', { route: 'orders' })) ?? 0;
    const got = await list(client, {
      'x-release-stage': 'stable',
      'x-test-messages': '1',
      'x-test-status': String(UNAVAILABLE),
    });
    assert.deepEqual(got, { ids: ['l-0'], code: UNAVAILABLE });
    assert.equal((legacy.calls.get('List') ?? 0) - calls, 1);
    assert.equal(await metricOf(gateway, 'cutover_retries_total', { route: 'orders' }), retried);
    // Still a failure in the figures and the log.
    assert.ok(
      ((await metricOf(gateway, 'cutover_grpc_responses_total', {
        route: 'orders',
        side: 'legacy',
        grpc_status: 'UNAVAILABLE',
      })) ?? 0) >= 1,
    );
  });

  it('a bidi stream flows while its answer’s head is held: each reply comes before the next message', async () => {
    const md = new grpc.Metadata();
    md.set('x-release-stage', 'stable');
    const chat = (
      client as unknown as {
        Chat(m: grpc.Metadata): grpc.ClientDuplexStream<{ text: string }, { text: string }>;
      }
    ).Chat(md);
    const replies: string[] = [];
    for (const t of ['one', 'two']) {
      chat.write({ text: t });
      replies.push(
        await new Promise<string>((r) => chat.once('data', (m: { text: string }) => r(m.text))),
      );
    }
    chat.end();
    const status = await new Promise<grpc.StatusObject>((r) => chat.on('status', r));
    assert.equal(status.code, grpc.status.OK);
    assert.deepEqual(replies, ['legacy:one', 'legacy:two']);
  });
});

describe('gRPC calls on a route that does not resend POSTs (the default)', () => {
  let legacy: GrpcPeer;
  let rewrite: GrpcPeer;
  let gateway: TestGateway;
  let client: grpc.Client;
  let setup: GrpcSetup;

  before(async () => {
    setup = await startGrpcSetup((legacy, rewrite) => gatewayYaml(legacy, rewrite, ''));
    ({ legacy, rewrite, client } = setup);
    gateway = setup.gateway;
  });

  after(() => setup.close());

  it('a candidate’s UNAVAILABLE reaches the client, counted as the candidate’s failure', async () => {
    rewrite.failGets(UNAVAILABLE);
    try {
      await assert.rejects(
        getOrder(client, 'n-1', { 'x-release-stage': 'canary' }),
        (e: grpc.ServiceError) => {
          assert.equal(e.code, UNAVAILABLE);
          assert.equal(e.details, `rewrite says ${UNAVAILABLE}`);
          return true;
        },
      );
      assert.equal(legacy.calls.get('Get'), undefined, 'legacy never saw the call');
      const candidate = { route: 'orders', side: 'candidate', backend: 'rewrite' };
      assert.equal(
        await metricOf(gateway, 'cutover_requests_total', { ...candidate, class: '5xx' }),
        1,
      );
      let line: Record<string, unknown> | undefined;
      await eventually('the access line', () => {
        line = gateway.accessLogs().find((l) => l.side === 'candidate');
        return line !== undefined;
      });
      assert.equal(line!.status, 200);
      assert.equal(line!.grpc_status, 'UNAVAILABLE');
      assert.equal(line!.fallback, undefined);
    } finally {
      rewrite.failGets(undefined);
    }
  });

  it('an answer’s own status that the route does not count as a failure is a success', async () => {
    await assert.rejects(
      getOrder(client, 'n-2', { 'x-release-stage': 'canary', 'x-test-status': '5' }),
      (e: grpc.ServiceError) => e.code === grpc.status.NOT_FOUND,
    );
    const candidate = { route: 'orders', side: 'candidate', backend: 'rewrite' };
    assert.equal(
      await metricOf(gateway, 'cutover_grpc_responses_total', {
        ...candidate,
        grpc_status: 'NOT_FOUND',
      }),
      1,
    );
    assert.equal(
      await metricOf(gateway, 'cutover_requests_total', { ...candidate, class: '2xx' }),
      1,
    );
  });
});
