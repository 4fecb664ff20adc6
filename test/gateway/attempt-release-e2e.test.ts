// Every way an attempt can end gives back what it held: through a real
// gateway and real upstreams, each path below ends with no attempt left
// unreleased in this process (the gateway runs in it), no backend
// concurrency slot and no connection slot held.
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { request } from 'undici';
import WebSocket from 'ws';
import { unreleasedAttempts } from '../../src/gateway/attempt.ts';
import { startGateway, type TestGateway } from '../helpers/gateway.ts';
import { rawExchange } from '../helpers/raw-exchange.ts';
import {
  BEHAVIOR_HEADER,
  type Behavior,
  startUpstream,
  startWebSocketEcho,
  type Upstream,
  type WebSocketEcho,
} from '../helpers/upstream.ts';
import { eventually } from '../helpers/wait.ts';

async function get(
  gw: TestGateway,
  path: string,
  behavior?: Behavior,
  body?: string,
): Promise<{ status: number; fallback: unknown }> {
  const res = await request(`${gw.url}${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: behavior ? { [BEHAVIOR_HEADER]: behavior } : {},
    body,
  });
  await res.body.dump();
  return { status: res.statusCode, fallback: res.headers['x-cutover-fallback'] };
}

async function allReleased(what: string): Promise<void> {
  await eventually(`${what}: every attempt released`, () => unreleasedAttempts() === 0);
}

describe('every path releases its attempt', () => {
  let legacy: Upstream;
  let rewrite: Upstream;
  let flaky: Upstream;
  let slow: Upstream;
  let echo: WebSocketEcho;
  let gw: TestGateway;

  before(async () => {
    legacy = await startUpstream({ name: 'legacy' });
    rewrite = await startUpstream({ name: 'rewrite' });
    flaky = await startUpstream({ name: 'flaky' });
    slow = await startUpstream({ name: 'slow', behavior: 'slow:300' });
    echo = await startWebSocketEcho('echo');
    // breaker: false — the failures below must reach each path, not an open breaker.
    gw = await startGateway(`listen: 127.0.0.1:0
admin: { listen: 127.0.0.1:0 }
state: memory
backends:
  legacy: { url: ${legacy.url}, breaker: false }
  rewrite: { url: ${rewrite.url}, breaker: false }
  flaky: { url: ${flaky.url}, breaker: false }
  echo: { url: ${echo.url}, breaker: false }
  narrow: { url: ${slow.url}, breaker: false, connections: 1, maxQueued: 0 }
  capped: { url: ${slow.url}, breaker: false, concurrency: { max: 1 } }
routes:
  - name: fallback
    match: { path: /fb/* }
    legacy: legacy
    candidate: rewrite
    weight: 100
    timeout: 300ms
    maxBodyBytes: 1KiB
    upgrades: [websocket]
  - name: retry
    match: { path: /retry/* }
    legacy: flaky
    retry: { attempts: 3, backoff: 1ms, maxBackoff: 2ms }
    timeout: 300ms
  - { name: narrow, match: { path: /narrow/* }, legacy: narrow }
  - { name: capped, match: { path: /capped/* }, legacy: capped }
  - { name: ws, match: { path: /ws/* }, legacy: echo, upgrades: [websocket] }
`);
  });

  after(async () => {
    await gw?.close();
    await Promise.all([legacy, rewrite, flaky, slow, echo].map((u) => u?.close()));
  });

  test('success, and a success relayed after fallbacks for 5xx, timeout and reset', async () => {
    assert.equal((await get(gw, '/fb/ok')).status, 200);
    for (const [behavior, reason] of [
      ['status:503', '5xx'],
      ['hang', 'timeout'],
      ['reset', 'reset'],
    ] as const) {
      rewrite.setBehavior(behavior);
      const a = await get(gw, '/fb/x');
      assert.equal(a.status, 200, behavior);
      assert.equal(a.fallback, reason);
    }
    rewrite.setBehavior('ok');
    await allReleased('fallbacks');
  });

  test('retries until the attempts run out, and a 4xx relayed as is', async () => {
    assert.equal((await get(gw, '/retry/x', 'status:502')).status, 502);
    assert.equal((await get(gw, '/retry/x', 'reset')).status, 502);
    assert.equal((await get(gw, '/retry/x', 'status:404')).status, 404);
    await allReleased('retries');
  });

  test('an answer cut mid-body, and a request body too large', async () => {
    await get(gw, '/retry/x', 'close-early').catch(() => undefined);
    assert.equal((await get(gw, '/fb/x', undefined, 'x'.repeat(4096))).status, 413);
    await allReleased('broken bodies');
  });

  test('a client that leaves while its attempt waits for an answer', async () => {
    const socket = connect(Number(new URL(gw.url).port), '127.0.0.1');
    socket.write(`GET /retry/x HTTP/1.1\r\nhost: x\r\n${BEHAVIOR_HEADER}: hang\r\n\r\n`);
    await eventually('the request reached the upstream', () =>
      flaky.requests.some((r) => r.behavior === 'hang'),
    );
    socket.destroy();
    await allReleased('client gone');
  });

  test('refusals: no connection free (queue of 0), concurrency cap full', async () => {
    const [first, second] = await Promise.all([get(gw, '/narrow/a'), get(gw, '/narrow/b')]);
    assert.deepEqual([first.status, second.status].sort(), [200, 503]);
    const [c1, c2] = await Promise.all([get(gw, '/capped/a'), get(gw, '/capped/b')]);
    assert.deepEqual([c1.status, c2.status].sort(), [200, 503]);
    await allReleased('refusals');
  });

  test('upgrades: a tunnel, and a refusal relayed', async () => {
    const ws = new WebSocket(`${gw.url.replace('http', 'ws')}/ws/x`);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    ws.close();
    // The plain upstream answers the handshake with a 200: relayed, then the connection closes.
    const answer = await rawExchange(
      gw.url,
      'GET /fb/ws HTTP/1.1\r\nhost: x\r\nconnection: upgrade\r\nupgrade: websocket\r\n\r\n',
    );
    assert.match(answer.toString('latin1'), /^HTTP\/1\.1 200 /);
    await allReleased('upgrades');
  });
});
