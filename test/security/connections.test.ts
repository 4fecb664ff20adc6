// Issue 9, finding 7: connections without a cap. 20,000 idle connections were
// all accepted and a slowloris held its socket for 83 s. Every client here is
// a raw TCP socket sending raw bytes, as the attacker's would.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { startGateway, type TestGateway, twoBackendYaml } from '../helpers/gateway.ts';
import { metricValue, scrapeMetrics } from '../helpers/metrics.ts';
import { startUpstream, type Upstream } from '../helpers/upstream.ts';
import { eventually } from '../helpers/wait.ts';

const REQUEST = 'GET /x HTTP/1.1\r\nHost: gateway\r\n\r\n';

/** A raw client connection that records what it received and when it closed. */
class RawClient {
  readonly socket: Socket;
  received = '';
  readonly closed: Promise<void>;
  #waiters: (() => void)[] = [];

  constructor(url: string) {
    const { hostname, port } = new URL(url);
    this.socket = connect(Number(port), hostname);
    this.socket.setEncoding('latin1');
    this.socket.on('data', (d: string) => {
      this.received += d;
      for (const w of this.#waiters.splice(0)) w();
    });
    this.socket.on('error', () => {});
    this.closed = once(this.socket, 'close').then(() => {
      for (const w of this.#waiters.splice(0)) w();
    });
  }

  get isClosed(): boolean {
    return this.socket.closed;
  }

  async connected(): Promise<void> {
    if (this.socket.readyState !== 'opening') return;
    await once(this.socket, 'connect');
  }

  /** Waits until `count` complete responses have arrived (or the socket closed); returns how many did. */
  async responses(count: number): Promise<number> {
    for (;;) {
      const done = this.statuses().length;
      if (done >= count || this.isClosed) return done;
      await new Promise<void>((resolve) => this.#waiters.push(resolve));
    }
  }

  /** Status codes of the complete responses so far (bodies framed by Content-Length). */
  statuses(): number[] {
    const found: number[] = [];
    let at = 0;
    for (;;) {
      const end = this.received.indexOf('\r\n\r\n', at);
      if (end === -1) return found;
      const head = this.received.slice(at, end);
      const length = /\r\ncontent-length: *(\d+)/i.exec(head);
      const next = end + 4 + (length ? Number(length[1]) : 0);
      if (next > this.received.length) return found;
      found.push(Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1]));
      at = next;
    }
  }

  close(): void {
    this.socket.destroy();
  }
}

/** Opens a connection, sends one request and waits for its whole answer; the connection stays open (keep-alive). */
async function idleAfterOneRequest(url: string): Promise<RawClient> {
  const c = new RawClient(url);
  await c.connected();
  c.socket.write(REQUEST);
  assert.equal(await c.responses(1), 1, `no answer: ${JSON.stringify(c.received)}`);
  assert.match(c.received, /^HTTP\/1\.1 200 /);
  return c;
}

describe('security: server.maxConnections', () => {
  const MAX = 3;
  let legacy: Upstream;
  let gw: TestGateway;
  const clients: RawClient[] = [];
  before(async () => {
    legacy = await startUpstream({ name: 'legacy' });
    gw = await startGateway(
      twoBackendYaml(legacy.url, legacy.url, {
        top: `server: { maxConnections: ${MAX} }`,
      }),
    );
  });
  after(async () => {
    for (const c of clients) c.close();
    await gw?.close();
    await legacy?.close();
  });

  test('the connection past the cap is closed unanswered; one is accepted again once an idle one closes', {
    timeout: 20_000,
  }, async () => {
    for (let i = 0; i < MAX; i++) clients.push(await idleAfterOneRequest(gw.url));

    const extra = new RawClient(gw.url);
    clients.push(extra);
    extra.socket.on('connect', () => extra.socket.write(REQUEST));
    await extra.closed;
    assert.equal(extra.received, '', 'the connection past the cap got an answer');
    assert.ok(
      metricValue(await scrapeMetrics(gw), 'cutover_connections_refused_total') >= 1,
      'the refused connection is counted',
    );

    // The idle connections already open are not disturbed.
    const kept = clients[1];
    kept.socket.write(REQUEST);
    assert.equal(await kept.responses(2), 2);

    clients[0].close();
    await clients[0].closed;
    let again: RawClient | undefined;
    await eventually('a new connection is served after one closed', async () => {
      const c = new RawClient(gw.url);
      clients.push(c);
      c.socket.on('connect', () => c.socket.write(REQUEST));
      const got = await c.responses(1);
      if (got === 1) again = c;
      return got === 1;
    });
    assert.match(again?.received ?? '', /^HTTP\/1\.1 200 /);
  });
});

test('a reload that lowers server.maxConnections applies to the next connection', {
  timeout: 20_000,
}, async (t) => {
  const legacy = await startUpstream({ name: 'legacy' });
  const yaml = (max: number) =>
    twoBackendYaml(legacy.url, legacy.url, { top: `server: { maxConnections: ${max} }` });
  const gw = await startGateway(yaml(100));
  const clients: RawClient[] = [];
  t.after(async () => {
    for (const c of clients) c.close();
    await gw.close();
    await legacy.close();
  });
  writeFileSync(gw.file, yaml(2));
  assert.equal(await gw.running.reload(), true);
  for (let i = 0; i < 2; i++) clients.push(await idleAfterOneRequest(gw.url));
  const extra = new RawClient(gw.url);
  clients.push(extra);
  extra.socket.on('connect', () => extra.socket.write(REQUEST));
  await extra.closed;
  assert.equal(extra.received, '', 'the third connection got an answer under a cap of 2');
});

describe('security: server.headersTimeout', () => {
  let legacy: Upstream;
  let gw: TestGateway;
  const clients: RawClient[] = [];
  before(async () => {
    legacy = await startUpstream({ name: 'legacy' });
    gw = await startGateway(
      twoBackendYaml(legacy.url, legacy.url, {
        top: 'server: { headersTimeout: 300ms }',
      }),
    );
  });
  after(async () => {
    for (const c of clients) c.close();
    await gw?.close();
    await legacy?.close();
  });

  test('a slowloris that keeps trickling its head is answered 408 and closed', {
    timeout: 20_000,
  }, async () => {
    const c = new RawClient(gw.url);
    clients.push(c);
    await c.connected();
    c.socket.write('GET /x HTTP/1.1\r\nHost: gateway\r\n');
    // One more header byte every 50 ms: each is progress, none completes the head.
    const trickle = setInterval(() => {
      if (!c.isClosed) c.socket.write('X');
    }, 50);
    try {
      await c.closed;
    } finally {
      clearInterval(trickle);
    }
    assert.match(c.received, /^HTTP\/1\.1 408 /);
    assert.equal(legacy.requests.length, 0, 'the backend never saw the half request');
  });

  test('a connection that sends nothing is closed too', { timeout: 20_000 }, async () => {
    const c = new RawClient(gw.url);
    clients.push(c);
    await c.connected();
    await c.closed;
    assert.match(c.received, /^HTTP\/1\.1 408 /);
  });

  test('a kept-alive connection between requests is not cut by headersTimeout', {
    timeout: 20_000,
  }, async () => {
    const c = await idleAfterOneRequest(gw.url);
    clients.push(c);
    // A second request on the same connection, sent after a slowloris on
    // another connection has been closed (so well past headersTimeout).
    const slow = new RawClient(gw.url);
    clients.push(slow);
    await slow.connected();
    slow.socket.write('GET /x HTTP/1.1\r\n');
    await slow.closed;
    assert.equal(c.isClosed, false, 'the idle keep-alive connection was closed');
    c.socket.write(REQUEST);
    assert.equal(await c.responses(2), 2);
  });
});
