// Issue 9, finding 5: slow clients must not exhaust a backend. Each test
// plays the attack with raw bytes on raw sockets against a real gateway and a
// real upstream, and checks what users and the backend see: clients that
// never read a large answer, uploads that stall, and a backend whose
// connections are all busy.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { request } from 'undici';
import { startGateway, type TestGateway } from '../helpers/gateway.ts';
import { metricOf } from '../helpers/metrics.ts';
import { startUpstream, type Upstream } from '../helpers/upstream.ts';
import { eventually, waitFor } from '../helpers/wait.ts';

type Json = Record<string, unknown>;

/**
 * Larger than what the kernel absorbs between a gateway and a client that
 * reads nothing (about 3.8 MB on loopback here: the gateway's send buffer
 * plus the client's receive buffer), so without response buffering the
 * gateway has to pause the upstream; smaller than the 8 MiB response buffer
 * the tests configure, so with it the whole answer is taken from the upstream.
 */
const LARGE_ANSWER = 6 * 1024 * 1024;

function portOf(gw: TestGateway): number {
  return Number(new URL(gw.url).port);
}

/** A raw connection that sends `head` (and `body`, if any) and then reads nothing. */
async function rawClient(port: number, head: string, body = ''): Promise<Socket> {
  const socket = connect(port, '127.0.0.1');
  socket.setNoDelay(true);
  await once(socket, 'connect');
  socket.write(head + body);
  return socket;
}

interface RawAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** Reads everything the gateway sends on `socket` until it closes (bounded), parsed as one answer. */
async function answerOf(socket: Socket): Promise<RawAnswer> {
  const chunks: Buffer[] = [];
  socket.on('data', (c: Buffer) => chunks.push(c));
  socket.resume();
  await once(socket, 'close', { signal: AbortSignal.timeout(10_000) });
  const text = Buffer.concat(chunks).toString('latin1');
  const end = text.indexOf('\r\n\r\n');
  assert.ok(end > 0, `no complete answer: ${JSON.stringify(text.slice(0, 200))}`);
  const [statusLine, ...lines] = text.slice(0, end).split('\r\n');
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
  }
  return { status: Number(statusLine.split(' ')[1]), headers, body: text.slice(end + 4) };
}

async function legacyBreaker(gw: TestGateway): Promise<{ state: string; failures: number }> {
  const res = await request(`${gw.adminUrl}/api/routes/main`);
  assert.equal(res.statusCode, 200);
  const detail = (await res.body.json()) as { breakers: { legacy: Json } };
  return detail.breakers.legacy as { state: string; failures: number };
}

function singleBackend(upUrl: string, backend: string, server: string, route = ''): string {
  return `listen: 127.0.0.1:0
admin: { listen: 127.0.0.1:0 }
state: memory
server: { ${server} }
backends:
  up: { url: ${upUrl}, ${backend} }
routes:
  - name: main
    match: { path: /* }
    legacy: up
${route}
`;
}

function getBig(bytes: number): string {
  return `GET /big HTTP/1.1\r\nhost: test\r\nx-test-behavior: big:${bytes}\r\n\r\n`;
}

describe('clients that never read a large answer', () => {
  const SLOW_CLIENTS = 40;
  let up: Upstream;
  let gw: TestGateway;
  const sockets: Socket[] = [];

  before(async () => {
    up = await startUpstream({ name: 'up' });
    // A long queueTimeout: on a busy machine, 40 answers of 6 MiB through 4
    // connections may keep a request waiting for more than the default 3 s.
    gw = await startGateway(
      singleBackend(
        up.url,
        'connections: 4, queueTimeout: 60s',
        'responseBuffer: 8MiB, bufferMemory: 1GiB',
      ),
    );
  });
  after(async () => {
    for (const s of sockets) s.destroy();
    await gw.close();
    await up.close();
  });

  test('the upstream finishes every answer, its connections are freed, and a normal client is served with the breaker closed', async () => {
    for (let i = 0; i < SLOW_CLIENTS; i++) {
      const s = await rawClient(portOf(gw), getBig(LARGE_ANSWER));
      s.pause();
      sockets.push(s);
    }
    // With 4 connections, the 40 requests reach the upstream only if the
    // first answers give their connections back while their clients still read nothing.
    await waitFor(
      'all slow clients’ requests reach the upstream',
      20_000,
      async () => up.requests.length,
      (n) => n === SLOW_CLIENTS,
    );
    let finished = 0;
    for (const r of up.requests) void r.closed.then(() => finished++);
    await eventually(
      'the upstream finishes every answer (no connection held by a slow client)',
      () => finished === SLOW_CLIENTS,
      20_000,
    );
    assert.equal(up.aborted, 0, 'no answer was cut');

    const res = await request(`${gw.url}/normal`, { headersTimeout: 10_000, bodyTimeout: 10_000 });
    assert.equal(res.statusCode, 200);
    assert.equal(((await res.body.json()) as Json).path, '/normal');

    const breaker = await legacyBreaker(gw);
    assert.equal(breaker.state, 'closed');
    assert.equal(breaker.failures, 0);
  });
});

describe('a client that stops reading a buffered answer', () => {
  let up: Upstream;
  let gw: TestGateway;
  let socket: Socket | undefined;

  before(async () => {
    up = await startUpstream({ name: 'up' });
    gw = await startGateway(
      singleBackend(up.url, 'connections: 4', 'responseBuffer: 8MiB, sendTimeout: 300ms'),
    );
  });
  after(async () => {
    socket?.destroy();
    await gw.close();
    await up.close();
  });

  test('is cut after sendTimeout; the upstream had already finished and is not blamed', async () => {
    socket = await rawClient(portOf(gw), getBig(LARGE_ANSWER));
    socket.pause();
    const rec = await up.nextRequest();
    await rec.closed;
    assert.equal(rec.aborted, false, 'the upstream sent its whole answer');
    await waitFor(
      'the send timeout closes the client connection',
      10_000,
      async () => await metricOf(gw, 'cutover_client_timeouts_total', { kind: 'send' }),
      (n) => n === 1,
    );
    // What the client gets when it finally reads: a cut answer, then the end.
    const answer = await answerOf(socket);
    assert.equal(answer.status, 200);
    assert.equal(Number(answer.headers['content-length']), LARGE_ANSWER);
    assert.ok(answer.body.length < LARGE_ANSWER, `got ${answer.body.length} bytes`);

    const breaker = await legacyBreaker(gw);
    assert.equal(breaker.state, 'closed');
    assert.equal(breaker.failures, 0);
  });
});

describe('uploads that stall', () => {
  let up: Upstream;
  let gw: TestGateway;
  const sockets: Socket[] = [];

  before(async () => {
    up = await startUpstream({ name: 'up' });
    gw = await startGateway(singleBackend(up.url, 'connections: 4', 'clientBodyTimeout: 30s'));
  });
  after(async () => {
    for (const s of sockets) s.destroy();
    await gw.close();
    await up.close();
  });

  test('hold no upstream connection: a normal client is served while they stall', async () => {
    for (let i = 0; i < 10; i++) {
      // Half announce their length, half are chunked; each sends a little and stops.
      const head =
        i % 2 === 0
          ? 'POST /upload HTTP/1.1\r\nhost: test\r\ncontent-length: 100000\r\n\r\n'
          : 'POST /upload HTTP/1.1\r\nhost: test\r\ntransfer-encoding: chunked\r\n\r\n';
      sockets.push(
        await rawClient(portOf(gw), head, i % 2 === 0 ? 'x'.repeat(10) : 'a\r\nxxxxxxxxxx\r\n'),
      );
    }
    const res = await request(`${gw.url}/normal`, { headersTimeout: 10_000, bodyTimeout: 10_000 });
    assert.equal(res.statusCode, 200);
    await res.body.dump();
    assert.deepEqual(
      up.requests.map((r) => `${r.method} ${r.url}`),
      ['GET /normal'],
      'the upstream saw none of the stalled uploads',
    );
  });
});

describe('client body timeout', () => {
  let up: Upstream;
  let gw: TestGateway;
  const sockets: Socket[] = [];

  before(async () => {
    up = await startUpstream({ name: 'up' });
    gw = await startGateway(
      singleBackend(up.url, 'connections: 4', 'clientBodyTimeout: 300ms, requestBuffer: 64KiB'),
    );
  });
  after(async () => {
    for (const s of sockets) s.destroy();
    await gw.close();
    await up.close();
  });

  function assertClientTimeout(answer: RawAnswer): void {
    assert.equal(answer.status, 408, answer.body);
    assert.equal(answer.headers['content-type'], 'application/problem+json');
    assert.equal(answer.headers.connection, 'close');
    assert.equal((JSON.parse(answer.body) as Json).code, 'CUTOVER_ERR_CLIENT_TIMEOUT');
  }

  test('a buffered upload that stalls gets 408 and never reaches the upstream', async () => {
    const s = await rawClient(
      portOf(gw),
      'POST /upload HTTP/1.1\r\nhost: test\r\ncontent-length: 1000\r\n\r\n',
      'x'.repeat(10),
    );
    sockets.push(s);
    assertClientTimeout(await answerOf(s));
    const chunked = await rawClient(
      portOf(gw),
      'POST /upload HTTP/1.1\r\nhost: test\r\ntransfer-encoding: chunked\r\n\r\n',
      'a\r\nxxxxxxxxxx\r\n',
    );
    sockets.push(chunked);
    assertClientTimeout(await answerOf(chunked));
    assert.equal(up.requests.length, 0, 'the upstream saw neither upload');
    assert.equal(await metricOf(gw, 'cutover_client_timeouts_total', { kind: 'body' }), 2);
  });

  test('a streamed upload (over requestBuffer) that stalls gets 408; the backend is not blamed', async () => {
    const s = await rawClient(
      portOf(gw),
      'POST /upload HTTP/1.1\r\nhost: test\r\ncontent-length: 1000000\r\n\r\n',
      'x'.repeat(100_000),
    );
    sockets.push(s);
    assertClientTimeout(await answerOf(s));
    const rec = up.requests.at(-1);
    assert.ok(rec, 'the streamed upload reached the upstream');
    await rec.closed;
    assert.ok(rec.bodyBytes < 1_000_000);
    const breaker = await legacyBreaker(gw);
    assert.equal(breaker.state, 'closed');
    assert.equal(breaker.failures, 0);
  });
  test('an upload that stalls after the upstream began answering is cut; the backend is not blamed', async () => {
    const timeoutsBefore = await metricOf(gw, 'cutover_client_timeouts_total', { kind: 'body' });
    const s = await rawClient(
      portOf(gw),
      'POST /echo HTTP/1.1\r\nhost: test\r\nx-test-behavior: echo\r\ncontent-length: 1000000\r\n\r\n',
      'x'.repeat(100_000),
    );
    sockets.push(s);
    // The echo upstream answers (200, streaming) before the body is over: no 408 can
    // be sent any more, so the client sees its answer cut.
    const answer = await answerOf(s);
    assert.equal(answer.status, 200);
    assert.ok(answer.body.length < 1_000_000, `got ${answer.body.length} bytes`);
    assert.equal(
      await metricOf(gw, 'cutover_client_timeouts_total', { kind: 'body' }),
      (timeoutsBefore ?? 0) + 1,
    );
    const breaker = await legacyBreaker(gw);
    assert.equal(breaker.state, 'closed');
    assert.equal(breaker.failures, 0);
  });
});

describe('a backend whose connections are all busy', () => {
  let up: Upstream;
  let gw: TestGateway;
  const hanging: Promise<unknown>[] = [];

  before(async () => {
    up = await startUpstream({ name: 'up', behavior: 'hang' });
    gw = await startGateway(
      singleBackend(
        up.url,
        'connections: 2, maxQueued: 1, queueTimeout: 300ms',
        '',
        '    timeout: 60s',
      ),
    );
  });
  after(async () => {
    await gw.close();
    await up.close();
    await Promise.allSettled(hanging);
  });

  function assertBusy(status: number, headers: Record<string, unknown>, body: Json): void {
    assert.equal(status, 503);
    assert.equal(headers['content-type'], 'application/problem+json');
    assert.match(String(headers['retry-after']), /^[1-9]\d*$/);
    assert.equal(body.code, 'CUTOVER_ERR_BACKEND_BUSY');
  }

  test('a request waits at most queueTimeout (503, counted), one past maxQueued is refused at once; the breaker stays closed', async () => {
    for (let i = 0; i < 2; i++) {
      hanging.push(
        request(`${gw.url}/hang/${i}`).then(
          (r) => r.body.dump(),
          () => undefined,
        ),
      );
    }
    await waitFor(
      'both connections busy',
      10_000,
      async () => up.requests.length,
      (n) => n === 2,
    );

    const queued = request(`${gw.url}/queued`, { headersTimeout: 10_000 });
    queued.catch(() => undefined); // awaited below; an early failed assertion must not leave it unhandled
    await waitFor(
      'one request waiting in the queue',
      10_000,
      async () => await metricOf(gw, 'cutover_backend_queued', { backend: 'up' }),
      (n) => n === 1,
    );
    const full = await request(`${gw.url}/full`, { headersTimeout: 10_000 });
    assertBusy(full.statusCode, full.headers, (await full.body.json()) as Json);

    const timedOut = await queued;
    assertBusy(timedOut.statusCode, timedOut.headers, (await timedOut.body.json()) as Json);

    assert.equal(
      await metricOf(gw, 'cutover_backend_queue_rejected_total', { backend: 'up', reason: 'full' }),
      1,
    );
    assert.equal(
      await metricOf(gw, 'cutover_backend_queue_rejected_total', {
        backend: 'up',
        reason: 'timeout',
      }),
      1,
    );
    assert.equal(await metricOf(gw, 'cutover_backend_queued', { backend: 'up' }), 0);
    assert.equal(up.requests.length, 2, 'the refused requests never reached the upstream');
    const breaker = await legacyBreaker(gw);
    assert.equal(breaker.state, 'closed');
    assert.equal(breaker.failures, 0);
  });
});

describe('a candidate whose connections are all busy', () => {
  let legacy: Upstream;
  let candidate: Upstream;
  let gw: TestGateway;
  const hanging: Promise<unknown>[] = [];

  before(async () => {
    legacy = await startUpstream({ name: 'legacy' });
    candidate = await startUpstream({ name: 'candidate', behavior: 'hang' });
    gw = await startGateway(`listen: 127.0.0.1:0
admin: { listen: 127.0.0.1:0 }
state: memory
backends:
  legacy: { url: ${legacy.url} }
  rewrite: { url: ${candidate.url}, connections: 1, queueTimeout: 300ms }
routes:
  - name: main
    match: { path: /* }
    legacy: legacy
    candidate: rewrite
    weight: 100
    timeout: 60s
    fallback: {}
`);
  });
  after(async () => {
    await gw.close();
    await legacy.close();
    await candidate.close();
    await Promise.allSettled(hanging);
  });

  test('a request that waited queueTimeout goes to legacy (fallback), not to a 503', async () => {
    hanging.push(
      request(`${gw.url}/hang`).then(
        (r) => r.body.dump(),
        () => undefined,
      ),
    );
    await waitFor(
      'the candidate’s one connection is busy',
      10_000,
      async () => candidate.requests.length,
      (n) => n === 1,
    );
    const res = await request(`${gw.url}/second`, { headersTimeout: 10_000 });
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers['x-cutover-fallback'], 'queue-timeout');
    assert.equal(((await res.body.json()) as Json).upstream, 'legacy');
    assert.equal(candidate.requests.length, 1, 'the candidate never got the second request');
    assert.equal(
      await metricOf(gw, 'cutover_backend_queue_rejected_total', {
        backend: 'rewrite',
        reason: 'timeout',
      }),
      1,
    );
  });
});
