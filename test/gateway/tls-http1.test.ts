// HTTP/1.1 on a TLS listener (ALPN http/1.1) gets the same `server` limits as
// on a plaintext one. Node's secure HTTP/2 server hands such connections to
// node:http's connection code, which reads the limits from the secure server:
// without ours it applied Node's defaults (a slowloris held its socket past
// 60 s, a 8 KB head passed a 4 KiB limit, idle connections were kept 5 s).
// Every client here is a raw TLS socket sending raw bytes. And an Upgrade
// (WebSocket) over TLS is tunnelled as on plaintext, not served as a request.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect as tcpConnect } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { connect, type TLSSocket } from 'node:tls';
import WebSocket from 'ws';
import { createCa, type TestCa } from '../helpers/certs.ts';
import { startGateway, type TestGateway } from '../helpers/gateway.ts';
import { metricValue, scrapeMetrics } from '../helpers/metrics.ts';
import {
  startUpstream,
  startWebSocketEcho,
  type Upstream,
  type WebSocketEcho,
} from '../helpers/upstream.ts';

const REQUEST = 'GET /x HTTP/1.1\r\nHost: gw.test\r\n\r\n';

/** A raw TLS connection speaking HTTP/1.1 (by ALPN) that records what it received. */
class TlsClient {
  readonly socket: TLSSocket;
  received = '';
  readonly closed: Promise<void>;

  constructor(port: number, ca: string, alpn: string[] = ['http/1.1']) {
    this.socket = connect({
      host: '127.0.0.1',
      port,
      servername: 'gw.test',
      ca,
      ALPNProtocols: alpn,
    });
    this.socket.setEncoding('latin1');
    this.socket.on('data', (d: string) => {
      this.received += d;
    });
    this.socket.on('error', () => {});
    this.closed = once(this.socket, 'close').then(() => undefined);
  }

  async secure(): Promise<void> {
    await once(this.socket, 'secureConnect');
    assert.equal(this.socket.alpnProtocol, 'http/1.1');
  }

  /** Waits until `text` was received (or the socket closed). */
  async receivedText(text: string): Promise<boolean> {
    while (!this.received.includes(text)) {
      if (this.socket.closed) return false;
      await Promise.race([once(this.socket, 'data'), this.closed]);
    }
    return true;
  }
}

describe('TLS listener: HTTP/1.1 connections get the server limits', () => {
  let ca: TestCa;
  let legacy: Upstream;
  let gw: TestGateway;
  let port: number;
  const clients: TlsClient[] = [];

  before(async () => {
    ca = await createCa();
    const cert = await ca.issue('gw', ['gw.test']);
    legacy = await startUpstream({ name: 'legacy' });
    gw = await startGateway(`listen:
  - address: 127.0.0.1:0
    tls: { cert: ${cert.cert}, key: ${cert.key} }
admin: { listen: 127.0.0.1:0 }
state: memory
server:
  headersTimeout: 500ms
  requestTimeout: 60s
  keepAliveTimeout: 42s
  maxHeaderBytes: 4KiB
backends:
  legacy: { url: ${legacy.url} }
routes:
  - name: main
    match: { path: /* }
    legacy: legacy
`);
    port = Number(new URL(gw.running.listenerUrls[0]).port);
  });
  after(async () => {
    for (const c of clients) c.socket.destroy();
    await gw?.close();
    await legacy?.close();
  });

  function client(alpn?: string[]): TlsClient {
    const c = new TlsClient(port, ca.certPem, alpn);
    clients.push(c);
    return c;
  }

  // Node's default for this connection would be a 60 s head timeout checked
  // every 30 s: the test's own timeout (20 s) fails it.
  test('a slowloris that keeps trickling its head is answered 408 and closed (server.headersTimeout)', {
    timeout: 20_000,
  }, async () => {
    const c = client();
    await c.secure();
    c.socket.write('GET /x HTTP/1.1\r\nHost: gw.test\r\n');
    // One more header byte every 50 ms: each is progress, none completes the head.
    const trickle = setInterval(() => {
      if (!c.socket.closed) c.socket.write('X');
    }, 50);
    try {
      await c.closed;
    } finally {
      clearInterval(trickle);
    }
    assert.match(c.received, /^HTTP\/1\.1 408 /);
    assert.match(c.received, /"code":"CUTOVER_ERR_BAD_REQUEST"/);
    assert.equal(legacy.requests.length, 0, 'the backend never saw the half request');
  });

  test('a connection that completes the handshake and sends nothing is closed too', {
    timeout: 20_000,
  }, async () => {
    const c = client();
    await c.secure();
    await c.closed;
    assert.match(c.received, /^HTTP\/1\.1 408 /);
  });

  test('a client offering no ALPN at all is HTTP/1.1 and bound the same way', {
    timeout: 20_000,
  }, async () => {
    const c = client([]);
    await once(c.socket, 'secureConnect');
    assert.equal(c.socket.alpnProtocol, false);
    c.socket.write('GET /x HTTP/1.1\r\n');
    await c.closed;
    assert.match(c.received, /^HTTP\/1\.1 408 /);
  });

  test('a head over server.maxHeaderBytes is refused with 431, as in plaintext', async () => {
    const c = client();
    await c.secure();
    c.socket.write(`GET /x HTTP/1.1\r\nHost: gw.test\r\nX-Big: ${'a'.repeat(8000)}\r\n\r\n`);
    await c.closed;
    assert.match(c.received, /^HTTP\/1\.1 431 /);
    assert.match(c.received, /content-type: application\/problem\+json/i);
    assert.equal(legacy.requests.length, 0);
    const unrouted = metricValue(await scrapeMetrics(gw), 'cutover_unrouted_requests_total', {
      status: '431',
    });
    assert.equal(unrouted, 1, 'counted as an unrouted answer');
  });

  test('answers announce server.keepAliveTimeout, and the connection stays for the next request', async () => {
    const c = client();
    await c.secure();
    c.socket.write(REQUEST);
    assert.ok(await c.receivedText('\r\n\r\n'), c.received);
    assert.match(c.received, /^HTTP\/1\.1 200 /);
    assert.match(c.received, /keep-alive: timeout=42/i);
    c.received = '';
    c.socket.write(REQUEST);
    assert.ok(await c.receivedText('\r\n\r\n'), 'a second request on the same connection');
    assert.match(c.received, /^HTTP\/1\.1 200 /);
  });

  // Node's default handshake timeout is 120 s: the test's own timeout fails it.
  test('a connection that never finishes its TLS handshake is closed (server.headersTimeout)', {
    timeout: 20_000,
  }, async () => {
    const socket = tcpConnect(port, '127.0.0.1');
    socket.on('error', () => {});
    await once(socket, 'connect');
    // The first bytes of a TLS record header (handshake, TLS 1.0 record version), and no more.
    socket.write(Buffer.from([0x16, 0x03, 0x01]));
    await once(socket, 'close');
  });

  test('plaintext bytes on the TLS port get no HTTP answer: the handshake fails and the socket closes', async () => {
    const socket = tcpConnect(port, '127.0.0.1');
    let received = '';
    socket.setEncoding('latin1');
    socket.on('data', (d: string) => {
      received += d;
    });
    socket.on('error', () => {});
    await once(socket, 'connect');
    socket.write(REQUEST);
    await once(socket, 'close');
    assert.doesNotMatch(received, /^HTTP\//);
  });
});

describe('TLS listener: WebSocket over HTTP/1.1', () => {
  let ca: TestCa;
  let echo: WebSocketEcho;
  let gw: TestGateway;

  before(async () => {
    ca = await createCa();
    const cert = await ca.issue('gw', ['gw.test']);
    echo = await startWebSocketEcho('legacy');
    gw = await startGateway(`listen:
  - address: 127.0.0.1:0
    tls: { cert: ${cert.cert}, key: ${cert.key} }
admin: { listen: 127.0.0.1:0 }
state: memory
backends:
  legacy: { url: ${echo.url} }
routes:
  - name: main
    match: { path: /* }
    legacy: legacy
`);
  });
  after(async () => {
    await gw?.close();
    await echo?.close();
  });

  test('a wss:// client is tunnelled to the backend, which sees X-Forwarded-Proto https', async () => {
    const url = gw.running.listenerUrls[0].replace(/^https:/, 'wss:');
    const ws = new WebSocket(`${url}/ws?room=1`, { ca: ca.certPem });
    try {
      const answer = await new Promise<string>((resolve, reject) => {
        ws.once('open', () => {
          ws.once('message', (data: Buffer) => resolve(data.toString('utf8')));
          ws.send('hello');
        });
        ws.once('error', reject);
        ws.once('unexpected-response', (_req: unknown, res: { statusCode?: number }) =>
          reject(new Error(`upgrade refused with ${res.statusCode}`)),
        );
      });
      assert.equal(answer, 'legacy:hello');
      const seen = echo.upgrades.at(-1)!;
      assert.equal(seen.url, '/ws?room=1');
      assert.equal(seen.headers['x-forwarded-proto'], 'https');
    } finally {
      ws.terminate();
    }
  });
});
