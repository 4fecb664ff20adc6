// Security issue 9, follow-up of finding 1: once an upgrade is switched, a
// client that says nothing must not hold the tunnel — and the backend
// connection behind it — for ever (a slowloris on WebSockets). The client
// here is a raw socket that sends the handshake and WebSocket frames as bytes;
// the backend is a real WebSocket server (ws) that shows when its connection
// ends.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { connect, type Socket } from 'node:net';
import { describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { type WebSocket, WebSocketServer } from 'ws';
import { startGateway, type TestGateway } from '../helpers/gateway.ts';
import { metricOf } from '../helpers/metrics.ts';
import { eventually } from '../helpers/wait.ts';

// ---------------------------------------------------------------------------
// The backend: echoes every message; on /push it also sends one every 100 ms.

interface BackendConnection {
  readonly socket: WebSocket;
  isClosed: boolean;
}

interface Backend {
  readonly url: string;
  readonly connections: BackendConnection[];
  close(): Promise<void>;
}

const PUSH_EVERY_MS = 100;

async function startBackend(): Promise<Backend> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await once(wss, 'listening');
  const connections: BackendConnection[] = [];
  wss.on('connection', (socket, request) => {
    const conn: BackendConnection = { socket, isClosed: false };
    connections.push(conn);
    socket.on('message', (data: Buffer) => socket.send(`echo:${data.toString()}`));
    let pushed = 0;
    const timer =
      request.url === '/push'
        ? setInterval(() => socket.send(`push:${pushed++}`), PUSH_EVERY_MS)
        : undefined;
    socket.once('close', () => {
      clearInterval(timer);
      conn.isClosed = true;
    });
  });
  const { port } = wss.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    connections,
    async close() {
      for (const c of wss.clients) c.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}

// ---------------------------------------------------------------------------
// The client: a raw socket speaking the handshake and WebSocket frames.

const HEAD_END = '\r\n\r\n';

class RawWsClient {
  readonly socket: Socket;
  /** Text messages the backend sent through the tunnel. */
  readonly messages: string[] = [];
  status = 0;
  isClosed = false;
  #buffered = Buffer.alloc(0);
  #switched = false;
  #waiters: (() => void)[] = [];

  constructor(socket: Socket) {
    this.socket = socket;
    socket.on('data', (chunk: Buffer) => this.#data(chunk));
    socket.on('error', () => {});
    socket.once('close', () => {
      this.isClosed = true;
      this.#wake();
    });
  }

  /** Connects, sends the handshake for `path` and waits for the answer's head. */
  static async open(gatewayUrl: string, path: string): Promise<RawWsClient> {
    const { hostname, port } = new URL(gatewayUrl);
    const socket = connect(Number(port), hostname);
    await once(socket, 'connect');
    const client = new RawWsClient(socket);
    socket.write(
      `GET ${path} HTTP/1.1\r\nHost: gateway.test\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n` +
        `Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\n\r\n`,
    );
    await client.until(() => client.status !== 0);
    return client;
  }

  /** One masked text frame (RFC 6455 §5.3: a client masks every frame). */
  send(text: string): void {
    const payload = Buffer.from(text);
    assert.ok(payload.length < 126, 'short frames only');
    const mask = randomBytes(4);
    const frame = Buffer.alloc(6 + payload.length);
    frame[0] = 0x81;
    frame[1] = 0x80 | payload.length;
    mask.copy(frame, 2);
    for (let i = 0; i < payload.length; i++) frame[6 + i] = payload[i] ^ mask[i % 4];
    this.socket.write(frame);
  }

  #wake(): void {
    for (const w of this.#waiters.splice(0)) w();
  }

  #data(chunk: Buffer): void {
    this.#buffered = Buffer.concat([this.#buffered, chunk]);
    if (!this.#switched) {
      const end = this.#buffered.indexOf(HEAD_END);
      if (end === -1) return;
      this.status = Number(this.#buffered.subarray(0, end).toString('latin1').split(' ')[1]);
      this.#switched = true;
      this.#buffered = this.#buffered.subarray(end + HEAD_END.length);
    }
    // Server frames are unmasked; these are short text frames (RFC 6455 §5.2).
    while (this.#buffered.length >= 2) {
      const length = this.#buffered[1] & 0x7f;
      assert.ok(length < 126, 'short frames only');
      if (this.#buffered.length < 2 + length) break;
      if ((this.#buffered[0] & 0x0f) === 0x1) {
        this.messages.push(this.#buffered.subarray(2, 2 + length).toString());
      }
      this.#buffered = this.#buffered.subarray(2 + length);
    }
    this.#wake();
  }

  /** Resolves once `done()` holds or the connection closed. */
  async until(done: () => boolean): Promise<void> {
    while (!done() && !this.isClosed) {
      await new Promise<void>((resolve) => this.#waiters.push(resolve));
    }
  }

  close(): void {
    this.socket.destroy();
  }
}

function yaml(backendUrl: string, routes: string, defaults = ''): string {
  return `listen: 127.0.0.1:0
admin: { listen: 127.0.0.1:0 }
state: memory
backends:
  legacy: { url: ${backendUrl} }
${defaults}routes:
${routes}`;
}

function tunnelLines(gw: TestGateway): Record<string, unknown>[] {
  return gw.logs().filter((l) => l.msg === 'tunnel');
}

/** Bounded: a tunnel that is never closed fails the test here instead of hanging it. */
const CLOSE_WITHIN_MS = 5_000;

// ---------------------------------------------------------------------------

describe('security: an open tunnel that stays silent is closed', () => {
  test('a silent WebSocket is closed after tunnelIdleTimeout, its backend connection too', async (t) => {
    const backend = await startBackend();
    t.after(() => backend.close());
    const gw = await startGateway(
      yaml(
        backend.url,
        '  - { name: ws, match: { path: /ws }, legacy: legacy }\n',
        'defaults: { tunnelIdleTimeout: 300ms }\n',
      ),
    );
    t.after(() => gw.close());

    // The attack: complete the handshake, then say nothing.
    const client = await RawWsClient.open(gw.url, '/ws');
    t.after(() => client.close());
    assert.equal(client.status, 101);
    await eventually('the backend accepted the tunnel', () => backend.connections.length === 1);

    await eventually(
      'the gateway closed the silent client',
      () => client.isClosed,
      CLOSE_WITHIN_MS,
    );
    await eventually(
      'the backend connection closed too',
      () => backend.connections[0].isClosed,
      CLOSE_WITHIN_MS,
    );
    assert.equal(
      await metricOf(gw, 'cutover_tunnels_closed_total', { route: 'ws', reason: 'idle' }),
      1,
    );
    assert.equal(await metricOf(gw, 'cutover_tunnels_open', { route: 'ws' }), 0);
    const [line] = tunnelLines(gw);
    assert.ok(line, 'the tunnel end has its log line');
    assert.equal(line.reason, 'idle');
    assert.equal(line.route, 'ws');
    assert.equal(line.bytesIn, 0);
    assert.equal(line.bytesOut, 0);
    const access = gw.accessLogs().find((l) => l.path === '/ws');
    assert.equal(access?.status, 101, 'the access line of the 101 is still written');
    assert.equal(access?.reqId, line.reqId);
  });

  test('a tunnel with a message every 100 ms stays open across many timeouts', async (t) => {
    const backend = await startBackend();
    t.after(() => backend.close());
    const gw = await startGateway(
      yaml(
        backend.url,
        '  - { name: ws, match: { path: /ws }, legacy: legacy, tunnelIdleTimeout: 1s }\n',
      ),
    );
    t.after(() => gw.close());
    const client = await RawWsClient.open(gw.url, '/ws');
    t.after(() => client.close());
    assert.equal(client.status, 101);

    // 30 messages 100 ms apart: 3 s, three idle timeouts' worth, each answered.
    const rounds = 30;
    for (let i = 0; i < rounds; i++) {
      client.send(`m${i}`);
      await client.until(() => client.messages.length > i);
      assert.equal(client.isClosed, false, `closed after ${i} of ${rounds} messages`);
      await sleep(100);
    }
    assert.deepEqual(
      client.messages,
      Array.from({ length: rounds }, (_, i) => `echo:m${i}`),
    );
    assert.equal(await metricOf(gw, 'cutover_tunnels_open', { route: 'ws' }), 1);

    client.close();
    await eventually('the backend connection closed', () => backend.connections[0].isClosed);
    await eventually(
      'the close counted as the client closing',
      async () =>
        (await metricOf(gw, 'cutover_tunnels_closed_total', { route: 'ws', reason: 'client' })) ===
        1,
    );
    assert.equal(
      await metricOf(gw, 'cutover_tunnels_closed_total', { route: 'ws', reason: 'idle' }),
      undefined,
      'never closed for idleness',
    );
    assert.equal(await metricOf(gw, 'cutover_tunnels_open', { route: 'ws' }), 0);
    const [line] = tunnelLines(gw);
    assert.equal(line?.reason, 'client');
    // Masked client frames carry 6 bytes of header, the backend's 2 (RFC 6455 §5.2).
    const sent = Array.from({ length: rounds }, (_, i) => 6 + `m${i}`.length);
    const echoed = client.messages.map((m) => 2 + m.length);
    assert.equal(
      line.bytesIn,
      sent.reduce((a, b) => a + b),
      'bytes from the client',
    );
    assert.equal(
      line.bytesOut,
      echoed.reduce((a, b) => a + b),
      'bytes to the client',
    );
  });

  test('bytes in one direction only (the backend pushing) keep the tunnel open', async (t) => {
    const backend = await startBackend();
    t.after(() => backend.close());
    const gw = await startGateway(
      yaml(
        backend.url,
        '  - { name: push, match: { path: /push }, legacy: legacy, tunnelIdleTimeout: 1s }\n',
      ),
    );
    t.after(() => gw.close());
    const client = await RawWsClient.open(gw.url, '/push');
    t.after(() => client.close());
    assert.equal(client.status, 101);

    // The client never sends a byte; 20 pushes 100 ms apart reach it.
    await client.until(() => client.messages.length >= 20);
    assert.equal(client.isClosed, false, `closed after ${client.messages.length} pushes`);
    assert.equal(client.messages[19], 'push:19');
    assert.equal(await metricOf(gw, 'cutover_tunnels_open', { route: 'push' }), 1);

    // The backend ends it: counted as the backend's close, the client's connection closed.
    backend.connections[0].socket.terminate();
    await eventually('the client connection closed', () => client.isClosed, CLOSE_WITHIN_MS);
    await eventually(
      'the close counted as the backend closing',
      async () =>
        (await metricOf(gw, 'cutover_tunnels_closed_total', {
          route: 'push',
          reason: 'backend',
        })) === 1,
    );
    assert.equal(await metricOf(gw, 'cutover_tunnels_open', { route: 'push' }), 0);
  });
});
