// Issue 9, finding 2: no refused or aborted dispatch may keep a connection
// slot of a backend's pool. Each failure kind below runs three times the
// pool size (connections: 2) against one backend; a plain request to that
// backend must then still be answered. Failures the gateway or the client
// caused must not count against the backend (breaker, 5xx figures); the
// backend's own failures (reset, timeout) still must.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage } from 'node:http';
import { type AddressInfo, connect, type Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { request } from 'undici';
import { BackendInstance } from '../../src/gateway/backends.ts';
import { Metrics } from '../../src/telemetry/index.ts';
import { expectContinue } from '../helpers/expect-client.ts';
import { startGateway, type TestGateway } from '../helpers/gateway.ts';
import { metricOf } from '../helpers/metrics.ts';
import { type RecordedRequest, startUpstream, type Upstream } from '../helpers/upstream.ts';
import { eventually } from '../helpers/wait.ts';

const POOL = 2;
const TIMES = POOL * 3;

/** Opens a raw connection to the gateway and writes `bytes`. */
function rawSend(url: string, bytes: string | Buffer): Socket {
  const { hostname, port } = new URL(url);
  const socket = connect(Number(port), hostname);
  socket.on('error', () => {});
  socket.write(bytes);
  return socket;
}

/** Everything the gateway answers on `socket` until it closes. */
function answerOf(socket: Socket): Promise<string> {
  return new Promise((resolve) => {
    let out = '';
    socket.on('data', (d: Buffer) => {
      out += d.toString('latin1');
    });
    socket.on('close', () => resolve(out));
  });
}

function statusOf(raw: string): number {
  return Number(raw.split(' ')[1]);
}

describe('the pool never leaks a connection slot', () => {
  let legacy: Upstream;
  let gw: TestGateway;
  let seq = 0;

  /** The request the backend got for `path`, once it got it. */
  async function arrived(path: string): Promise<RecordedRequest> {
    let found: RecordedRequest | undefined;
    await eventually(`backend receives ${path}`, () => {
      found = legacy.requests.find((r) => r.url === path);
      return found !== undefined;
    });
    return found!;
  }

  /** A plain request to the same backend must still be answered. */
  async function stillServes(kind: string): Promise<void> {
    const res = await request(`${gw.url}/plain/${kind}`, { signal: AbortSignal.timeout(5000) });
    assert.equal(res.statusCode, 200, `after ${TIMES} × ${kind}`);
    await res.body.dump();
  }

  function path(kind: string): string {
    return `/${kind}/${++seq}`;
  }

  before(async () => {
    legacy = await startUpstream({ name: 'legacy' });
    // requestBuffer 0: bodies stream, so a client can leave with its request
    // already upstream (a buffered body would never reach the backend).
    gw = await startGateway(`listen: 127.0.0.1:0
admin: { listen: 127.0.0.1:0 }
state: memory
server: { requestBuffer: 0 }
backends:
  legacy: { url: ${legacy.url}, connections: ${POOL}, breaker: { minRequests: 1000 } }
routes:
  - name: flaky
    match: { path: /flaky/* }
    legacy: legacy
    timeout: 300ms
  - name: main
    match: { path: /* }
    legacy: legacy
    maxBodyBytes: 200KiB
`);
  });
  after(async () => {
    await gw.close();
    await legacy.close();
  });

  test('Expect: 100-continue uploads', async () => {
    for (let i = 0; i < TIMES; i++) {
      const p = path('expect');
      const answer = await expectContinue(
        gw.url,
        `POST ${p} HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n`,
        Buffer.alloc(100),
      );
      assert.equal(answer.status, 200, answer.raw.slice(0, 400));
    }
    await stillServes('expect');
  });

  test('client gone in the middle of its body', async () => {
    for (let i = 0; i < TIMES; i++) {
      const p = path('mid-body');
      const socket = rawSend(
        gw.url,
        `POST ${p} HTTP/1.1\r\nHost: a\r\nContent-Length: 100000\r\n\r\n${'x'.repeat(1000)}`,
      );
      const rec = await arrived(p);
      await eventually('part of the body reaches the backend', () => rec.bodyBytes > 0);
      socket.destroy();
      await rec.closed;
      assert.equal(rec.aborted, true, 'the upstream request is cancelled with its client');
    }
    await stillServes('mid-body');
  });

  test('client gone while waiting for the answer', async () => {
    for (let i = 0; i < TIMES; i++) {
      const p = path('waiting');
      const socket = rawSend(
        gw.url,
        `GET ${p} HTTP/1.1\r\nHost: a\r\nX-Test-Behavior: hang\r\nConnection: close\r\n\r\n`,
      );
      const rec = await arrived(p);
      socket.destroy();
      await rec.closed;
      assert.equal(rec.aborted, true, 'the upstream request is cancelled with its client');
    }
    await stillServes('waiting');
  });

  test('client gone while its request waits for a free connection', async () => {
    for (let i = 0; i < TIMES; i++) {
      // Both connections busy with requests the backend holds...
      const holders = [path('holder'), path('holder')];
      const held = holders.map((p) =>
        rawSend(
          gw.url,
          `GET ${p} HTTP/1.1\r\nHost: a\r\nX-Test-Behavior: hang\r\nConnection: close\r\n\r\n`,
        ),
      );
      const recs = await Promise.all(holders.map((p) => arrived(p)));
      // ...so this one queues in the pool; its client leaves, then the holders'.
      const queued = rawSend(gw.url, `GET ${path('queued')} HTTP/1.1\r\nHost: a\r\n\r\n`);
      await eventually(
        'the queued request is in flight at the gateway',
        () => gw.running.gateway.inFlight === 3,
      );
      queued.destroy();
      await eventually(
        'the gateway lets the queued request go',
        () => gw.running.gateway.inFlight === 2,
      );
      for (const s of held) s.destroy();
      await Promise.all(recs.map((r) => r.closed));
    }
    await stillServes('queued');
  });

  test('request body shorter than its Content-Length', async () => {
    for (let i = 0; i < TIMES; i++) {
      const p = path('short');
      const socket = rawSend(
        gw.url,
        `POST ${p} HTTP/1.1\r\nHost: a\r\nContent-Length: 1000\r\n\r\n${'x'.repeat(10)}`,
      );
      const answer = answerOf(socket);
      const rec = await arrived(p);
      socket.end();
      // The client's fault: Node's parser answers 400 at the early end of input.
      assert.equal(statusOf(await answer), 400);
      await rec.closed;
    }
    await stillServes('short');
  });

  test('chunked request body over maxBodyBytes', async () => {
    const chunk = Buffer.alloc(64 * 1024, 0x63);
    const framed = Buffer.concat([
      Buffer.from(`${chunk.length.toString(16)}\r\n`),
      chunk,
      Buffer.from('\r\n'),
    ]);
    for (let i = 0; i < TIMES; i++) {
      const p = path('chunked-too-large');
      const socket = rawSend(
        gw.url,
        `POST ${p} HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n`,
      );
      const answer = answerOf(socket);
      for (let c = 0; c < 4; c++) socket.write(framed);
      assert.equal(statusOf(await answer), 413);
    }
    await stillServes('chunked-too-large');
  });

  test('failures that were not the backend never count against it', async () => {
    const detail = gw.running.gateway.routeDetail('main') as {
      breakers: { legacy: { failures: number; state: string } };
    };
    assert.equal(detail.breakers.legacy.failures, 0);
    assert.equal(detail.breakers.legacy.state, 'closed');
    assert.equal(
      await metricOf(gw, 'cutover_requests_total', { route: 'main', side: 'legacy', class: '5xx' }),
      undefined,
    );
  });

  test('upstream resets and timeouts (the backend failing) leak nothing and do count', async () => {
    for (let i = 0; i < TIMES; i++) {
      const reset = await request(`${gw.url}${path('flaky')}`, {
        headers: { 'x-test-behavior': 'reset' },
      });
      assert.equal(reset.statusCode, 502);
      await reset.body.dump();
      const timeout = await request(`${gw.url}${path('flaky')}`, {
        headers: { 'x-test-behavior': 'hang' },
      });
      assert.equal(timeout.statusCode, 504);
      await timeout.body.dump();
    }
    await stillServes('flaky');
    const detail = gw.running.gateway.routeDetail('flaky') as {
      breakers: { legacy: { failures: number } };
    };
    assert.equal(detail.breakers.legacy.failures, TIMES * 2);
  });

  test('a request undici refuses outright leaves the pool whole', async () => {
    // Straight to a backend's pool, as the proxy dispatches: a header undici
    // will not send (Expect) is refused before anything is written.
    const instance = new BackendInstance(
      legacy.url,
      gw.running.gateway.config.backends.get('legacy')!,
      0,
      new Metrics(),
    );
    try {
      for (let i = 0; i < TIMES; i++) {
        await assert.rejects(
          instance.pool.request({
            path: '/refused',
            method: 'POST',
            headers: { expect: '100-continue' },
            body: 'x',
          }),
          { code: 'UND_ERR_NOT_SUPPORTED' },
        );
      }
      const res = await instance.pool.request({
        path: '/after-refusals',
        method: 'GET',
        signal: AbortSignal.timeout(5000),
      });
      assert.equal(res.statusCode, 200);
      await res.body.dump();
    } finally {
      await instance.pool.close();
    }
  });

  test('the gateway still shuts down', async () => {
    assert.equal(gw.running.gateway.inFlight, 0);
  });
});

describe('a failure the gateway caused itself', () => {
  test('a retry refused by a pool that a reload closed answers 500 and counts against no backend', async () => {
    // First request: 503 asking for a retry in 3 s; the retry would get a 200.
    const seen: IncomingMessage[] = [];
    const arrivedOnce = Promise.withResolvers<void>();
    const backend = createServer((req, res) => {
      seen.push(req);
      req.resume();
      if (seen.length === 1) {
        res.writeHead(503, { 'retry-after': '3', 'content-length': 0 }).end();
        arrivedOnce.resolve();
      } else res.writeHead(200, { 'content-length': 2 }).end('ok');
    });
    backend.listen(0, '127.0.0.1');
    await once(backend, 'listening');
    const url = `http://127.0.0.1:${(backend.address() as AddressInfo).port}`;
    const yaml = (connections: number) => `listen: 127.0.0.1:0
admin: { listen: 127.0.0.1:0 }
state: memory
backends:
  legacy: { url: ${url}, connections: ${connections} }
routes:
  - name: main
    match: { path: /* }
    legacy: legacy
    retry: { attempts: 2, maxBackoff: 5s }
`;
    const gw = await startGateway(yaml(4));
    try {
      const answer = request(`${gw.url}/retried`, { signal: AbortSignal.timeout(10_000) });
      await arrivedOnce.promise;
      // New pool settings: the old pool is closed while the retry waits.
      writeFileSync(gw.file, yaml(8));
      assert.equal(await gw.running.reload(), true);
      const res = await answer;
      const problem = (await res.body.json()) as { code: string };
      assert.equal(res.statusCode, 500);
      assert.equal(problem.code, 'CUTOVER_ERR_FORWARD_REFUSED');
      assert.equal(seen.length, 1, 'the refused retry never reached the backend');
      // The backend's 503 counts; the gateway's own 500 only as an answer it made itself.
      assert.equal(
        await metricOf(gw, 'cutover_requests_total', {
          route: 'main',
          side: 'legacy',
          class: '5xx',
        }),
        1,
      );
      assert.equal(await metricOf(gw, 'cutover_unrouted_requests_total', { status: '500' }), 1);
    } finally {
      await gw.close();
      backend.closeAllConnections();
      backend.close();
    }
  });
});

describe('a half-open breaker and clients that leave', () => {
  test('a probe whose client left gives its permit back: the next request probes and closes the breaker', async () => {
    const legacy = await startUpstream({ name: 'legacy' });
    const gw = await startGateway(`listen: 127.0.0.1:0
admin: { listen: 127.0.0.1:0 }
state: memory
backends:
  legacy: { url: ${legacy.url}, breaker: { minRequests: 2, errorRatio: 0.5, openFor: 1s, probes: 1 } }
routes:
  - name: main
    match: { path: /* }
    legacy: legacy
`);
    const breaker = () =>
      (gw.running.gateway.routeDetail('main') as { breakers: { legacy: { state: string } } })
        .breakers.legacy.state;
    try {
      for (let i = 0; i < 2; i++) {
        const res = await request(`${gw.url}/fail/${i}`, {
          headers: { 'x-test-behavior': 'status:500' },
        });
        await res.body.dump();
      }
      assert.equal(breaker(), 'open');
      // Knock until a request is let through as the probe; its client then leaves.
      let n = 0;
      let probe: RecordedRequest | undefined;
      await eventually('the breaker lets a probe through', async () => {
        const p = `/probe/${++n}`;
        const socket = rawSend(
          gw.url,
          `GET ${p} HTTP/1.1\r\nHost: a\r\nX-Test-Behavior: hang\r\nConnection: close\r\n\r\n`,
        );
        let answered = false;
        const answer = answerOf(socket).then(() => {
          answered = true;
          return false;
        });
        // Refused (a 503 that closes the connection) or let through to the backend.
        const reached = new Promise<boolean>((resolve) => {
          const poll = () => {
            if (legacy.requests.some((r) => r.url === p)) resolve(true);
            else if (!answered) setTimeout(poll, 5);
          };
          poll();
        });
        const through = await Promise.race([answer, reached]);
        if (!through) return false;
        probe = legacy.requests.find((r) => r.url === p);
        socket.destroy();
        return true;
      });
      await probe!.closed;
      assert.equal(breaker(), 'half-open');
      const res = await request(`${gw.url}/after-probe`, { signal: AbortSignal.timeout(5000) });
      assert.equal(res.statusCode, 200, 'the permit of the probe whose client left is free again');
      await res.body.dump();
      assert.equal(breaker(), 'closed');
    } finally {
      await gw.close();
      await legacy.close();
    }
  });
});
