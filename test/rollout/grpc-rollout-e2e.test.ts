// A gRPC rollout end to end: grpc-js legacy and rewrite behind a real
// gateway, under a steady load of unary calls. The rewrite answers every call
// UNAVAILABLE in its trailers after a 200 head — no HTTP error anywhere — and
// the error-rate gate, which reads the outcome of each attempt, rolls it back;
// clients meanwhile get legacy's answers (the route resends gRPC calls).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startGateway, type TestGateway } from '../helpers/gateway.ts';
import { type GrpcPeer, getOrder, grpc, ordersClient, startGrpcPeer } from '../helpers/grpc.ts';
import { metricOf } from '../helpers/metrics.ts';
import { found, history, rolloutUntil, transitions } from './fixture.ts';

/** `concurrency` loops of unary Get calls until stopped; what the clients saw. */
function startGrpcLoad(address: string, concurrency: number) {
  const client = ordersClient(address);
  const seen = new Map<string, number>();
  let running = true;
  let sent = 0;
  const loop = async (n: number): Promise<void> => {
    while (running) {
      const id = `o-${n}-${sent++}`;
      try {
        const order = await getOrder(client, id);
        const key = order.id === id ? order.servedBy : 'wrong answer';
        seen.set(key, (seen.get(key) ?? 0) + 1);
      } catch (e) {
        const key = `code ${(e as grpc.ServiceError).code}`;
        seen.set(key, (seen.get(key) ?? 0) + 1);
      }
    }
  };
  const loops = Array.from({ length: concurrency }, (_, n) => loop(n));
  return {
    seen,
    async stop(): Promise<void> {
      running = false;
      await Promise.all(loops);
      client.close();
    },
  };
}

describe('a gRPC rollout', () => {
  let legacy: GrpcPeer;
  let rewrite: GrpcPeer;

  before(async () => {
    legacy = await startGrpcPeer('legacy');
    rewrite = await startGrpcPeer('rewrite');
  });

  after(async () => {
    await legacy.close();
    await rewrite.close();
  });

  it('is rolled back by gRPC errors while every HTTP status stays 200; clients get legacy’s answers', async () => {
    rewrite.failGets(grpc.status.UNAVAILABLE);
    let gw: TestGateway | undefined;
    let load: ReturnType<typeof startGrpcLoad> | undefined;
    try {
      gw = await startGateway(`listen:
  - address: 127.0.0.1:0
    protocols: [h2]
admin: { listen: 127.0.0.1:0 }
state: memory
rollouts: { checkEvery: 100ms }
backends:
  legacy: { url: ${legacy.url}, protocol: h2c }
  # No breaker: the error-rate gate is the one way back.
  rewrite: { url: ${rewrite.url}, protocol: h2c, breaker: false }
routes:
  - name: main
    match: { path: /shop.v1.Orders/* }
    legacy: legacy
    candidate: rewrite
    fallback: { methods: [POST] }
    rollout:
      steps: [25, 50, 100]
      shadowFor: 0s
      interval: 300ms
      minRequests: 30
      window: 5s
      failureLimit: 2
      gates: { errorRate: 0.3%, p95: false, baseline: false }
`);
      load = startGrpcLoad(new URL(gw.url).host, 8);
      const rolled = await rolloutUntil(
        gw,
        'rolled back',
        (s) => s.state === 'rolled-back',
        20_000,
      );
      assert.equal(rolled.weight, 0);
      assert.match(rolled.reason, /errorRate/);
      const last = found(transitions(await history(gw)).at(-1), 'a transition');
      assert.equal(last.to, 'rolled-back');
      assert.equal(last.previousWeight, 25);
      const gate = found(
        last.gates.find((g) => g.name === 'errorRate'),
        'the errorRate gate',
      );
      assert.equal(gate.status, 'failed');
      assert.ok((gate.value ?? 0) > 0.003, JSON.stringify(gate));

      // Every candidate answer was an HTTP 200 carrying UNAVAILABLE, counted as 5xx.
      const candidate = { route: 'main', side: 'candidate', backend: 'rewrite' };
      const unavailable = await metricOf(gw, 'cutover_grpc_responses_total', {
        ...candidate,
        grpc_status: 'UNAVAILABLE',
      });
      assert.ok((unavailable ?? 0) >= 1);
      assert.equal(
        await metricOf(gw, 'cutover_requests_total', { ...candidate, class: '5xx' }),
        unavailable,
      );
      assert.equal(
        await metricOf(gw, 'cutover_requests_total', { ...candidate, class: '2xx' }),
        undefined,
      );
      const line = found(
        gw.accessLogs().find((l) => l.fallback === 'grpc'),
        'an access line of a call that fell back',
      );
      assert.deepEqual([line.side, line.status, line.grpc_status], ['legacy', 200, 'OK']);
    } finally {
      await load?.stop();
      await gw?.close();
      rewrite.failGets(undefined);
    }
    assert.deepEqual([...load!.seen.keys()], ['legacy'], 'every call got legacy’s answer');
  });
});
