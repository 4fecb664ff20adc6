// WebSocket through the gateway: the upgrade is split like any request, then
// frames flow both ways through the tunnel until either side closes.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import WebSocket, { WebSocketServer } from 'ws';
import { startGateway, type TestGateway, twoBackendYaml } from '../helpers/gateway.ts';
import { startUpstream, startWebSocketEcho, type WebSocketEcho } from '../helpers/upstream.ts';
import { eventually } from '../helpers/wait.ts';

interface Frame {
  data: Buffer;
  isBinary: boolean;
}

/** A client connected through the gateway, with its frames queued for the test to take in order. */
class Client {
  readonly ws: WebSocket;
  readonly #frames: Frame[] = [];
  readonly #waiters: ((f: Frame) => void)[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;

  constructor(ws: WebSocket) {
    this.ws = ws;
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      const frame = { data, isBinary };
      const waiter = this.#waiters.shift();
      if (waiter) waiter(frame);
      else this.#frames.push(frame);
    });
    this.closed = new Promise((resolve) => {
      ws.once('close', (code: number, reason: Buffer) =>
        resolve({ code, reason: reason.toString() }),
      );
    });
  }

  next(): Promise<Frame> {
    const queued = this.#frames.shift();
    if (queued) return Promise.resolve(queued);
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  /** Sends a text message and returns the text of the next frame received. */
  async roundTrip(text: string): Promise<string> {
    this.ws.send(text);
    const frame = await this.next();
    assert.equal(frame.isBinary, false, 'a text message comes back as text');
    return frame.data.toString('utf8');
  }
}

function wsUrl(httpUrl: string, path: string): string {
  return `${httpUrl.replace(/^http:/, 'ws:')}${path}`;
}

async function connectClient(
  gatewayUrl: string,
  path: string,
  headers: Record<string, string> = {},
): Promise<Client> {
  const ws = new WebSocket(wsUrl(gatewayUrl, path), { headers });
  const client = new Client(ws);
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
    ws.once('unexpected-response', (_req: unknown, res: IncomingMessage) =>
      reject(new Error(`upgrade refused with ${res.statusCode}`)),
    );
  });
  return client;
}

/** Tries an upgrade that the gateway should refuse; resolves to the HTTP status and body it sent. */
function refusedUpgrade(
  gatewayUrl: string,
  path: string,
): Promise<{ status: number; contentType: string | undefined; body: string }> {
  const ws = new WebSocket(wsUrl(gatewayUrl, path));
  return new Promise((resolve, reject) => {
    ws.once('open', () => {
      ws.terminate();
      reject(new Error('the upgrade was accepted'));
    });
    // With an `unexpected-response` listener ws leaves the response to us and emits no error.
    ws.once('error', reject);
    ws.once('unexpected-response', (req: { destroy(): void }, res: IncomingMessage) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.once('end', () => {
        req.destroy();
        resolve({
          status: res.statusCode ?? 0,
          contentType: res.headers['content-type'],
          body: Buffer.concat(chunks).toString('utf8'),
        });
      });
      res.once('error', reject);
    });
  });
}

/**
 * A WebSocket echo server that also lets the test see each connection's end
 * and close or cut it from the server side.
 */
interface TrackedServer {
  readonly url: string;
  readonly connections: TrackedConnection[];
  /** The next connection accepted (or the oldest not yet taken). */
  nextConnection(): Promise<TrackedConnection>;
  close(): Promise<void>;
}

interface TrackedConnection {
  readonly socket: WebSocket;
  readonly request: IncomingMessage;
  /** Resolves with the close code the server saw once the connection is over. */
  readonly closed: Promise<number>;
}

async function startTrackedServer(name: string): Promise<TrackedServer> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await once(wss, 'listening');
  const connections: TrackedConnection[] = [];
  const pending: TrackedConnection[] = [];
  const waiters: ((c: TrackedConnection) => void)[] = [];
  wss.on('connection', (socket, request) => {
    socket.on('message', (data: Buffer, isBinary: boolean) => {
      socket.send(Buffer.concat([Buffer.from(`${name}:`), data]), { binary: isBinary });
    });
    const conn: TrackedConnection = {
      socket,
      request,
      closed: new Promise((resolve) => socket.once('close', (code: number) => resolve(code))),
    };
    connections.push(conn);
    const waiter = waiters.shift();
    if (waiter) waiter(conn);
    else pending.push(conn);
  });
  const { port } = wss.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    connections,
    nextConnection() {
      const conn = pending.shift();
      if (conn) return Promise.resolve(conn);
      return new Promise((resolve) => waiters.push(resolve));
    },
    async close() {
      for (const c of wss.clients) c.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}

describe('upgrade: WebSocket through the gateway', () => {
  let legacy: WebSocketEcho;
  let rewrite: WebSocketEcho;
  let gw0: TestGateway;
  let gw100: TestGateway;

  before(async () => {
    legacy = await startWebSocketEcho('legacy');
    rewrite = await startWebSocketEcho('rewrite');
    gw0 = await startGateway(twoBackendYaml(legacy.url, rewrite.url, { weight: 0 }));
    gw100 = await startGateway(twoBackendYaml(legacy.url, rewrite.url, { weight: 100 }));
  });
  after(async () => {
    await gw0.close();
    await gw100.close();
    await legacy.close();
    await rewrite.close();
  });

  test('at weight 0 the socket reaches legacy, with the path, query and forwarding headers', async () => {
    const before = legacy.upgrades.length;
    const client = await connectClient(gw0.url, '/ws?room=7', { 'x-user-id': 'u-1' });
    try {
      assert.equal(await client.roundTrip('hello'), 'legacy:hello');
      assert.equal(legacy.upgrades.length, before + 1);
      const seen = legacy.upgrades.at(-1)!;
      assert.equal(seen.url, '/ws?room=7');
      assert.equal(seen.headers['x-user-id'], 'u-1');
      assert.equal(seen.headers['x-forwarded-for'], '127.0.0.1');
      assert.equal(seen.headers.host, new URL(legacy.url).host);
    } finally {
      client.ws.close();
      await client.closed;
    }
  });

  test('x-release-stage: canary sends the socket to the candidate at weight 0', async () => {
    const client = await connectClient(gw0.url, '/ws', { 'x-release-stage': 'canary' });
    try {
      assert.equal(await client.roundTrip('hi'), 'rewrite:hi');
    } finally {
      client.ws.close();
      await client.closed;
    }
  });

  test('a sticky key at weight 100 sends the socket to the candidate', async () => {
    const client = await connectClient(gw100.url, '/ws', { 'x-user-id': 'user-42' });
    try {
      assert.equal(await client.roundTrip('hi'), 'rewrite:hi');
      assert.equal(rewrite.upgrades.at(-1)!.headers['x-user-id'], 'user-42');
    } finally {
      client.ws.close();
      await client.closed;
    }
  });

  test('x-release-stage: stable keeps the socket on legacy at weight 100', async () => {
    const client = await connectClient(gw100.url, '/ws', {
      'x-release-stage': 'stable',
      'x-user-id': 'user-42',
    });
    try {
      assert.equal(await client.roundTrip('hi'), 'legacy:hi');
    } finally {
      client.ws.close();
      await client.closed;
    }
  });

  test('several text and binary messages go both ways, in order', async () => {
    const client = await connectClient(gw0.url, '/ws', { 'x-user-id': 'u-2' });
    try {
      for (let i = 0; i < 5; i++) client.ws.send(`message ${i}`);
      for (let i = 0; i < 5; i++) {
        const frame = await client.next();
        assert.equal(frame.isBinary, false);
        assert.equal(frame.data.toString('utf8'), `legacy:message ${i}`);
      }
      const binary = Buffer.from([0, 1, 2, 0xfe, 0xff, 0x80, 0x0a, 0x0d]);
      client.ws.send(binary, { binary: true });
      const frame = await client.next();
      assert.equal(frame.isBinary, true);
      assert.deepEqual(frame.data, Buffer.concat([Buffer.from('legacy:'), binary]));
      // Bigger than any socket buffer, so it crosses the tunnel in many reads.
      const big = Buffer.alloc(2 * 1024 * 1024);
      for (let i = 0; i < big.length; i++) big[i] = (i * 31) & 0xff;
      client.ws.send(big, { binary: true });
      const bigFrame = await client.next();
      assert.equal(bigFrame.isBinary, true);
      assert.equal(bigFrame.data.length, big.length + 'legacy:'.length);
      assert.ok(bigFrame.data.subarray('legacy:'.length).equals(big), 'big payload intact');
    } finally {
      client.ws.close();
      await client.closed;
    }
  });

  test('upgrade to a path with no route: 404', async () => {
    const echo = await startWebSocketEcho('only');
    const gw = await startGateway(`listen: 127.0.0.1:0
admin: { listen: 127.0.0.1:0 }
state: memory
backends: { legacy: { url: ${echo.url} } }
routes:
  - { name: only, match: { path: /ws }, legacy: legacy }
`);
    try {
      const refused = await refusedUpgrade(gw.url, '/elsewhere');
      assert.equal(refused.status, 404);
      assert.equal(refused.contentType, 'application/problem+json');
      assert.equal(JSON.parse(refused.body).code, 'CUTOVER_ERR_NO_ROUTE');
      assert.equal(echo.upgrades.length, 0, 'nothing reached the backend');
      // The routed path still upgrades.
      const client = await connectClient(gw.url, '/ws');
      assert.equal(await client.roundTrip('x'), 'only:x');
      client.ws.close();
      await client.closed;
    } finally {
      await gw.close();
      await echo.close();
    }
  });
});

describe('upgrade: closing and failures', () => {
  let legacy: TrackedServer;
  let rewrite: TrackedServer;
  let gw: TestGateway;

  before(async () => {
    legacy = await startTrackedServer('legacy');
    rewrite = await startTrackedServer('rewrite');
    gw = await startGateway(twoBackendYaml(legacy.url, rewrite.url, { weight: 0 }));
  });
  after(async () => {
    await gw.close();
    await legacy.close();
    await rewrite.close();
  });

  test('the upstream can send unprompted; a client close reaches the upstream', async () => {
    const client = await connectClient(gw.url, '/ws');
    const upstream = await legacy.nextConnection();
    upstream.socket.send('pushed by the server');
    const pushed = await client.next();
    assert.equal(pushed.data.toString(), 'pushed by the server');
    assert.equal(await client.roundTrip('ping'), 'legacy:ping');
    client.ws.close(4001, 'client done');
    assert.equal(await upstream.closed, 4001, 'the upstream saw the client close code');
    assert.equal((await client.closed).code, 4001);
  });

  test('a client that vanishes without a close frame: the upstream connection closes', async () => {
    const client = await connectClient(gw.url, '/ws');
    const upstream = await legacy.nextConnection();
    assert.equal(await client.roundTrip('ping'), 'legacy:ping');
    client.ws.terminate();
    // 1006: the TCP connection ended without a close frame, so the gateway cut it.
    assert.equal(await upstream.closed, 1006);
  });

  test('an upstream close reaches the client with its code and reason', async () => {
    const client = await connectClient(gw.url, '/ws');
    const upstream = await legacy.nextConnection();
    assert.equal(await client.roundTrip('ping'), 'legacy:ping');
    upstream.socket.close(4002, 'server going away');
    const closed = await client.closed;
    assert.equal(closed.code, 4002);
    assert.equal(closed.reason, 'server going away');
    await upstream.closed;
  });

  test('an upstream that drops the connection: the client connection closes', async () => {
    const client = await connectClient(gw.url, '/ws');
    const upstream = await legacy.nextConnection();
    assert.equal(await client.roundTrip('ping'), 'legacy:ping');
    upstream.socket.terminate();
    assert.equal((await client.closed).code, 1006);
  });

  test('shutting the gateway down closes open tunnels at both ends once the grace is over', async () => {
    // The drain waits for tunnels as for requests (in-flight.ts): a short grace keeps this quick.
    const gw2 = await startGateway(
      twoBackendYaml(legacy.url, rewrite.url, {
        weight: 0,
        top: 'server: { shutdownGrace: 200ms }',
      }),
    );
    const client = await connectClient(gw2.url, '/ws');
    const upstream = await legacy.nextConnection();
    assert.equal(await client.roundTrip('ping'), 'legacy:ping');
    await gw2.close();
    assert.equal((await client.closed).code, 1006);
    assert.equal(await upstream.closed, 1006);
  });

  test('a graceful shutdown lets an open tunnel run, and ends as soon as it closes', async () => {
    // A grace longer than the test's own timeout: only the tunnel's end can finish the close.
    const gw2 = await startGateway(
      twoBackendYaml(legacy.url, rewrite.url, { weight: 0, top: 'server: { shutdownGrace: 1h }' }),
    );
    const client = await connectClient(gw2.url, '/ws');
    const upstream = await legacy.nextConnection();
    assert.equal(await client.roundTrip('ping'), 'legacy:ping');
    const gateway = gw2.running.gateway;
    assert.equal(gateway.inFlight, 1, 'the open tunnel is in flight');
    const closing = gw2.close();
    await eventually('the listener to stop accepting', () => !gateway.server.listening);
    assert.equal(gateway.readiness().ready, false);
    assert.equal(await client.roundTrip('still here'), 'legacy:still here');
    client.ws.close(1000, 'done');
    await closing;
    assert.equal((await client.closed).code, 1000);
    assert.equal(await upstream.closed, 1000);
    assert.equal(gateway.inFlight, 0);
  });

  test('a backend that refuses the upgrade: its answer reaches the client', async () => {
    const plain = await startUpstream({ name: 'plain', behavior: 'status:403' });
    const gw2 = await startGateway(twoBackendYaml(plain.url, rewrite.url, { weight: 0 }));
    try {
      const refused = await refusedUpgrade(gw2.url, '/ws');
      assert.equal(refused.status, 403);
      assert.deepEqual(JSON.parse(refused.body), { upstream: 'plain', status: 403 });
      assert.equal(plain.requests.at(-1)?.headers.upgrade, 'websocket');
    } finally {
      await gw2.close();
      await plain.close();
    }
  });

  test('upgrade to a dead backend: 502 problem', async () => {
    const dead = await startTrackedServer('dead');
    const deadUrl = dead.url;
    await dead.close();
    const gw2 = await startGateway(twoBackendYaml(deadUrl, rewrite.url, { weight: 0 }));
    try {
      const refused = await refusedUpgrade(gw2.url, '/ws');
      assert.equal(refused.status, 502);
      assert.equal(refused.contentType, 'application/problem+json');
      const body = JSON.parse(refused.body) as Record<string, unknown>;
      assert.equal(body.code, 'CUTOVER_ERR_UPSTREAM_CONNECT');
      assert.match(String(body.detail), /backend legacy/);
    } finally {
      await gw2.close();
    }
  });
});
