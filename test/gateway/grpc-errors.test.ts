// What a gRPC client sees when Cutover answers a call itself: a gRPC status
// in a trailers-only answer (never a problem+json body), for every refusal
// path — no route, rate limit, breaker open, body limit, backend down,
// route timeout — and the HTTP/2-only rules: a gRPC call over HTTP/1.1, or
// to a backend spoken to over HTTP/1.1, gets an error that says so.
import assert from 'node:assert/strict';
import { connect as h2connect } from 'node:http2';
import { after, before, describe, it } from 'node:test';
import { startGateway, type TestGateway } from '../helpers/gateway.ts';
import { type GrpcPeer, getOrder, grpc, ordersClient, startGrpcPeer } from '../helpers/grpc.ts';
import { eventually } from '../helpers/wait.ts';

/** A unary call of any method with raw bytes: for paths no stub knows. */
function rawUnary(
  client: grpc.Client,
  path: string,
  metadata: Record<string, string> = {},
): Promise<Buffer> {
  const md = new grpc.Metadata();
  for (const [k, v] of Object.entries(metadata)) md.set(k, v);
  return new Promise((resolve, reject) =>
    client.makeUnaryRequest(
      path,
      (b: Buffer) => b,
      (b: Buffer) => b,
      Buffer.alloc(0),
      md,
      { deadline: Date.now() + 5_000 },
      (e, r) => (e ? reject(e) : resolve(r!)),
    ),
  );
}

/** The ServiceError a call failed with (the test fails when it succeeded). */
async function failure(call: Promise<unknown>): Promise<grpc.ServiceError> {
  try {
    await call;
  } catch (e) {
    return e as grpc.ServiceError;
  }
  assert.fail('the call succeeded');
}

describe('gRPC statuses for the answers Cutover gives itself', () => {
  let peer: GrpcPeer;
  let downUrl: string;
  let gateway: TestGateway;
  let client: grpc.Client;

  before(async () => {
    peer = await startGrpcPeer('legacy');
    const down = await startGrpcPeer('down');
    downUrl = down.url;
    await down.close();
    // Each case is a route chosen by the `x-case` metadata (a header to the router).
    gateway = await startGateway(`listen:
  - address: 127.0.0.1:0
admin: { listen: 127.0.0.1:0 }
state: memory
backends:
  legacy: { url: ${peer.url}, protocol: h2c }
  tripped: { url: ${peer.url}, protocol: h2c }
  down: { url: ${downUrl}, protocol: h2c }
  fresh: { url: ${peer.url}, protocol: h2c }
  plain: { url: ${peer.url} }
routes:
  - name: orders
    match: { grpc: { service: shop.v1.Orders } }
    legacy: legacy
  - name: limited
    match: { grpc: { service: shop.v1.Orders }, headers: { x-case: limit } }
    legacy: legacy
    limit: { rps: 0.001, burst: 1 }
  - name: shedding
    match: { grpc: { service: shop.v1.Orders }, headers: { x-case: shed } }
    legacy: legacy
    concurrency: { max: 1 }
  - name: breaker
    match: { grpc: { service: shop.v1.Orders }, headers: { x-case: breaker } }
    legacy: tripped
  - name: small
    match: { grpc: { service: shop.v1.Orders }, headers: { x-case: body } }
    legacy: fresh
    maxBodyBytes: 16
  - name: down
    match: { grpc: { service: shop.v1.Orders }, headers: { x-case: down } }
    legacy: down
  - name: slow
    match: { grpc: { service: shop.v1.Orders }, headers: { x-case: slow } }
    legacy: legacy
    timeout: 200ms
  - name: http1-backend
    match: { path: /shop.v1.Orders/Get, headers: { x-case: http1 } }
    legacy: plain
`);
    client = ordersClient(new URL(gateway.url).host);
  });

  after(async () => {
    client.close();
    await gateway.close();
    await peer.close();
  });

  it('the route works: a call is answered by the backend', async () => {
    const order = await getOrder(client, 'o-1');
    assert.equal(order.servedBy, 'legacy');
  });

  it('no route: UNIMPLEMENTED naming the path, with the request id and the Cutover code', async () => {
    const e = await failure(rawUnary(client, '/shop.v1.Payments/Pay'));
    assert.equal(e.code, grpc.status.UNIMPLEMENTED);
    assert.equal(e.details, 'no route matches POST /shop.v1.Payments/Pay');
    assert.deepEqual(e.metadata.get('x-cutover-error'), ['CUTOVER_ERR_NO_ROUTE']);
    assert.equal(e.metadata.get('x-request-id').length, 1);
  });

  it('rate limit: RESOURCE_EXHAUSTED once the route has no token left', async () => {
    await getOrder(client, 'o-1', { 'x-case': 'limit' });
    const e = await failure(getOrder(client, 'o-2', { 'x-case': 'limit' }));
    assert.equal(e.code, grpc.status.RESOURCE_EXHAUSTED);
    assert.equal(e.details, 'route limited: rate limit exceeded');
    assert.deepEqual(e.metadata.get('x-cutover-error'), ['CUTOVER_ERR_RATE_LIMITED']);
  });

  it('shedding (concurrency max reached): UNAVAILABLE, while the call in flight is answered', async () => {
    const before = peer.calls.get('Get') ?? 0;
    const slow = getOrder(client, 'o-1', { 'x-case': 'shed', 'x-test-delay': '300' });
    await eventually(
      'the first call to reach the backend',
      () => peer.calls.get('Get') === before + 1,
    );
    const e = await failure(getOrder(client, 'o-2', { 'x-case': 'shed' }));
    assert.equal(e.code, grpc.status.UNAVAILABLE);
    assert.equal(e.details, 'route shedding: too many requests in flight (limit 1); shedding load');
    assert.deepEqual(e.metadata.get('retry-after'), ['1']);
    assert.equal((await slow).id, 'o-1');
  });

  it('breaker forced open through the admin API: UNAVAILABLE', async () => {
    const forced = await fetch(`${gateway.adminUrl}/api/backends/tripped/breaker`, {
      method: 'POST',
      body: JSON.stringify({ state: 'open' }),
    });
    assert.equal(forced.status, 200);
    const before = peer.calls.get('Get') ?? 0;
    const e = await failure(getOrder(client, 'o-1', { 'x-case': 'breaker' }));
    assert.equal(e.code, grpc.status.UNAVAILABLE);
    assert.equal(e.details, 'route breaker: the circuit breaker of backend tripped is open');
    assert.equal(peer.calls.get('Get') ?? 0, before, 'nothing reached the backend');
  });

  it('a message over maxBodyBytes: RESOURCE_EXHAUSTED, and the next calls on the session are served', async () => {
    // A call first, so the refused one's upstream stream opens on a session
    // that carried one: cancelling it in the turn it opened left that session
    // stuck (later calls went unanswered) before body.ts waited a turn.
    assert.equal((await getOrder(client, 'a', { 'x-case': 'body' })).id, 'a');
    const e = await failure(getOrder(client, 'x'.repeat(64), { 'x-case': 'body' }));
    assert.equal(e.code, grpc.status.RESOURCE_EXHAUSTED);
    assert.equal(e.details, 'request body exceeds the limit of 16 bytes');
    assert.deepEqual(e.metadata.get('x-cutover-error'), ['CUTOVER_ERR_BODY_TOO_LARGE']);
    assert.equal((await getOrder(client, 'b', { 'x-case': 'body' })).id, 'b');
  });

  it('backend down: UNAVAILABLE', async () => {
    const e = await failure(getOrder(client, 'o-1', { 'x-case': 'down' }));
    assert.equal(e.code, grpc.status.UNAVAILABLE);
    assert.equal(e.details, 'route down: backend down could not be reached');
  });

  it('backend slower than the route timeout: DEADLINE_EXCEEDED from the gateway', async () => {
    const e = await failure(getOrder(client, 'o-1', { 'x-case': 'slow', 'x-test-delay': '2000' }));
    assert.equal(e.code, grpc.status.DEADLINE_EXCEEDED);
    assert.equal(e.details, 'route slow: backend legacy timed out (waiting for response headers)');
    assert.deepEqual(e.metadata.get('x-cutover-error'), ['CUTOVER_ERR_UPSTREAM_TIMEOUT']);
  });

  it('a backend spoken to over HTTP/1.1: UNIMPLEMENTED saying so, and nothing sent', async () => {
    const before = peer.calls.get('Get') ?? 0;
    const e = await failure(getOrder(client, 'o-1', { 'x-case': 'http1' }));
    assert.equal(e.code, grpc.status.UNIMPLEMENTED);
    assert.match(e.details, /backend plain is spoken to over HTTP\/1\.1 \(protocol: http1\)/);
    assert.deepEqual(e.metadata.get('x-cutover-error'), ['CUTOVER_ERR_GRPC_BACKEND_PROTOCOL']);
    assert.equal(peer.calls.get('Get') ?? 0, before);
  });

  it('grpc-message is percent-encoded: a % in the detail arrives as a %', async () => {
    const e = await failure(rawUnary(client, '/shop.v1.Orders%C3%A9/Get'));
    assert.equal(e.code, grpc.status.UNIMPLEMENTED);
    assert.equal(e.details, 'no route matches POST /shop.v1.Orders%C3%A9/Get');
  });

  it('the answer is trailers-only: one HEADERS frame, status 200, ending the stream', async () => {
    const session = h2connect(gateway.url);
    try {
      const stream = session.request({
        ':method': 'POST',
        ':path': '/shop.v1.Payments/Pay',
        'content-type': 'application/grpc',
        te: 'trailers',
      });
      stream.end(Buffer.alloc(5));
      const frames: string[] = [];
      let head: Record<string, unknown> = {};
      stream.on('response', (h, flags) => {
        head = h;
        // 0x1 END_STREAM: the head is the whole answer.
        frames.push(`headers end=${(flags & 1) === 1}`);
      });
      stream.on('trailers', () => frames.push('trailers'));
      stream.on('data', () => frames.push('data'));
      await new Promise((r) => stream.on('close', r));
      assert.deepEqual(frames, ['headers end=true']);
      assert.equal(head[':status'], 200);
      assert.equal(head['content-type'], 'application/grpc');
      assert.equal(head['grpc-status'], String(grpc.status.UNIMPLEMENTED));
      assert.equal(head['content-length'], undefined);
    } finally {
      session.close();
    }
  });

  it('a gRPC call over HTTP/1.1: 505 with a problem saying gRPC needs HTTP/2', async () => {
    const res = await fetch(`${gateway.url}/shop.v1.Orders/Get`, {
      method: 'POST',
      headers: { 'content-type': 'application/grpc', te: 'trailers' },
      body: Buffer.alloc(5),
    });
    assert.equal(res.status, 505);
    assert.equal(res.headers.get('content-type'), 'application/problem+json');
    const body = (await res.json()) as { code: string; detail: string };
    assert.equal(body.code, 'CUTOVER_ERR_GRPC_PROTOCOL');
    assert.match(body.detail, /^gRPC needs HTTP\/2: this call came over HTTP\/1\.1/);
  });
});
