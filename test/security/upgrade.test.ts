// Security issue 9, finding 1: an Upgrade request must not become a raw
// tunnel before the backend agreed. Each test sends the attack's raw bytes over
// a raw socket to a real gateway, in front of a real backend — a byte-level one
// where the attack needs a backend that refuses an upgrade and keeps parsing
// the connection, as nginx, Go and Tomcat do — and asserts on what the client
// and the backend saw.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { IncomingMessage } from 'node:http';
import { type AddressInfo, connect, createServer, type Socket } from 'node:net';
import { describe, type TestContext, test } from 'node:test';
import { request } from 'undici';
import WebSocket from 'ws';
import { startGateway, type TestGateway } from '../helpers/gateway.ts';
import { startUpstream, startWebSocketEcho } from '../helpers/upstream.ts';
import { eventually } from '../helpers/wait.ts';

// ---------------------------------------------------------------------------
// A byte-level backend

interface SeenRequest {
  method: string;
  url: string;
  /** Lower-cased names; repeated fields joined with ", ". */
  headers: Record<string, string>;
}

/**
 * What the backend does with an Upgrade request: `refuse` answers 400 and
 * keeps reading the connection as HTTP (nginx, Go, Tomcat); `switch` answers
 * 101 for whatever protocol was asked, sends `HELLO` and records every later
 * byte as tunnel data; `hang` never answers; `cut` sends a 400 head and part
 * of its body, then closes. Other requests get 200.
 */
type UpgradeAnswer = 'refuse' | 'switch' | 'hang' | 'cut';

interface RawUpstream {
  readonly url: string;
  readonly requests: SeenRequest[];
  /** Bytes received after a 101, all connections together. */
  tunnel(): string;
  /** Connections open now. */
  readonly open: number;
  close(): Promise<void>;
}

const HEAD_END = '\r\n\r\n';

function parseHead(text: string): { first: string; headers: Record<string, string> } {
  const lines = text.split('\r\n');
  const headers: Record<string, string> = {};
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`;
  }
  return { first: lines[0], headers };
}

/** `switchTo`: the protocol a `switch` names in its 101; undefined echoes the one asked, null names none. */
async function startRawUpstream(
  answer: UpgradeAnswer,
  switchTo?: string | null,
): Promise<RawUpstream> {
  const requests: SeenRequest[] = [];
  const sockets = new Set<Socket>();
  let tunnel = '';
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    let buffered = '';
    let switched = false;
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => {
      if (switched) {
        tunnel += chunk;
        return;
      }
      buffered += chunk;
      for (;;) {
        const end = buffered.indexOf(HEAD_END);
        if (end === -1) return;
        const { first, headers } = parseHead(buffered.slice(0, end));
        const length = Number(headers['content-length'] ?? 0);
        if (buffered.length < end + 4 + length) return;
        buffered = buffered.slice(end + 4 + length);
        const [method, url] = first.split(' ');
        requests.push({ method, url, headers });
        if (headers.upgrade === undefined) {
          const body = `ok ${method} ${url}`;
          socket.write(`HTTP/1.1 200 OK\r\ncontent-length: ${body.length}\r\n\r\n${body}`);
          continue;
        }
        if (answer === 'hang') return;
        if (answer === 'cut') {
          socket.end('HTTP/1.1 400 Bad Request\r\ncontent-length: 100\r\n\r\nonly part');
          return;
        }
        if (answer === 'refuse') {
          const body = 'upgrade not allowed';
          socket.write(
            `HTTP/1.1 400 Bad Request\r\ncontent-type: text/plain\r\ncontent-length: ${body.length}\r\n\r\n${body}`,
          );
          continue;
        }
        switched = true;
        const protocol = switchTo === undefined ? headers.upgrade : switchTo;
        const field = protocol === null ? '' : `upgrade: ${protocol}\r\n`;
        socket.write(
          `HTTP/1.1 101 Switching Protocols\r\nconnection: Upgrade\r\n${field}\r\nHELLO`,
        );
        tunnel += buffered;
        return;
      }
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    tunnel: () => tunnel,
    get open() {
      return sockets.size;
    },
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

// ---------------------------------------------------------------------------
// A byte-level client

interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** A raw connection to the gateway that parses what comes back into responses (and tunnel bytes after a 101). */
class RawClient {
  readonly socket: Socket;
  readonly responses: RawResponse[] = [];
  readonly closed: Promise<void>;
  isClosed = false;
  #buffered = '';
  #switched = false;
  #tunnel = '';
  #waiters: (() => void)[] = [];

  constructor(socket: Socket) {
    this.socket = socket;
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => this.#data(chunk));
    socket.on('error', () => {});
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()));
    this.closed.then(() => {
      this.isClosed = true;
      this.#wake();
    });
  }

  static async open(gatewayUrl: string): Promise<RawClient> {
    const { hostname, port } = new URL(gatewayUrl);
    const socket = connect(Number(port), hostname);
    await once(socket, 'connect');
    return new RawClient(socket);
  }

  send(text: string): void {
    this.socket.write(text);
  }

  get tunnel(): string {
    return this.#tunnel;
  }

  #wake(): void {
    for (const w of this.#waiters.splice(0)) w();
  }

  #data(chunk: string): void {
    if (this.#switched) {
      this.#tunnel += chunk;
      this.#wake();
      return;
    }
    this.#buffered += chunk;
    for (;;) {
      const end = this.#buffered.indexOf(HEAD_END);
      if (end === -1) break;
      const { first, headers } = parseHead(this.#buffered.slice(0, end));
      const status = Number(first.split(' ')[1]);
      const length = status === 101 ? 0 : Number(headers['content-length'] ?? 0);
      if (this.#buffered.length < end + 4 + length) break;
      this.responses.push({
        status,
        headers,
        body: this.#buffered.slice(end + 4, end + 4 + length),
      });
      this.#buffered = this.#buffered.slice(end + 4 + length);
      if (status === 101) {
        this.#switched = true;
        this.#tunnel = this.#buffered;
        this.#buffered = '';
        break;
      }
    }
    this.#wake();
  }

  /** Resolves once `done()` holds or the connection closed. */
  async until(done: () => boolean): Promise<void> {
    while (!done() && !this.isClosed) {
      await new Promise<void>((resolve) => this.#waiters.push(resolve));
      await Promise.resolve();
    }
  }

  /** The n-th response (from 0), or undefined when the connection closed first. */
  async response(n: number): Promise<RawResponse | undefined> {
    await this.until(() => this.responses.length > n);
    return this.responses[n];
  }

  close(): void {
    this.socket.destroy();
  }
}

const WS_HEADERS =
  'Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n';

/** A raw upstream in `mode`, a gateway with `routes` in front of it and a raw client; all closed after the test. */
async function throughGateway(
  t: TestContext,
  mode: UpgradeAnswer,
  routes: string,
  switchTo?: string | null,
): Promise<{ upstream: RawUpstream; gw: TestGateway; client: RawClient }> {
  const upstream = await startRawUpstream(mode, switchTo);
  t.after(() => upstream.close());
  const gw = await startGateway(yaml(upstream.url, routes));
  t.after(() => gw.close());
  const client = await RawClient.open(gw.url);
  t.after(() => client.close());
  return { upstream, gw, client };
}

function upgradeRequest(path: string, extra = ''): string {
  return `GET ${path} HTTP/1.1\r\nHost: gateway.test\r\n${WS_HEADERS}${extra}\r\n`;
}

function yaml(legacyUrl: string, routes: string, candidateUrl?: string): string {
  return `listen: 127.0.0.1:0
admin: { listen: 127.0.0.1:0 }
state: memory
backends:
  legacy: { url: ${legacyUrl} }
${candidateUrl ? `  rewrite: { url: ${candidateUrl} }\n` : ''}routes:
${routes}`;
}

async function forceBreaker(gw: TestGateway, backend: string, state: string): Promise<void> {
  const res = await request(`${gw.adminUrl}/api/backends/${backend}/breaker`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ state }),
  });
  assert.equal(res.statusCode, 200, await res.body.text());
}

/** The problem code of a gateway answer. */
function codeOf(res: RawResponse | undefined): unknown {
  assert.ok(res, 'the gateway answered');
  assert.equal(res.headers['content-type'], 'application/problem+json');
  return (JSON.parse(res.body) as { code: unknown }).code;
}

// ---------------------------------------------------------------------------

describe('security: an Upgrade is a request until the backend answers 101', () => {
  test('pipelined requests behind a refused upgrade never reach the backend unguarded', async (t) => {
    const { upstream, gw, client } = await throughGateway(
      t,
      'refuse',
      `  - { name: ws, match: { path: /ws }, legacy: legacy }
  - { name: admin, match: { path: /admin, headers: { x-admin-token: s3cret } }, legacy: legacy }
  - { name: orders, match: { path: /orders, methods: [GET] }, legacy: legacy }
  - { name: limited, match: { path: /limited }, legacy: legacy, limit: { rps: 0.001, burst: 1 } }
`,
    );

    const smuggled = [
      'GET /admin HTTP/1.1\r\nHost: gateway.test\r\n\r\n',
      'POST /orders HTTP/1.1\r\nHost: gateway.test\r\nContent-Length: 0\r\n\r\n',
      ...Array.from({ length: 20 }, () => 'GET /limited HTTP/1.1\r\nHost: gateway.test\r\n\r\n'),
      'GET /ws HTTP/1.1\r\nHost: gateway.test\r\nX-Forwarded-For: 6.6.6.6\r\n\r\n',
    ];
    client.send(upgradeRequest('/ws') + smuggled.join(''));

    // Either the gateway closes the connection after the refusal, or (the
    // bug) the smuggled requests show up at the backend.
    await eventually(
      'the connection closed, or a second request at the backend',
      () => client.isClosed || upstream.requests.length > 1,
    );
    const onlyTheUpgrade = () =>
      assert.deepEqual(
        upstream.requests.map((r) => `${r.method} ${r.url}`),
        ['GET /ws'],
        'only the upgrade itself reached the backend',
      );
    onlyTheUpgrade();
    // The gateway closed its backend connection too: nothing can follow.
    await eventually('the backend connection closed', () => upstream.open === 0);
    onlyTheUpgrade();
    const seen = upstream.requests[0];
    assert.equal(seen.headers.upgrade, 'websocket');
    assert.equal(seen.headers['x-forwarded-for'], '127.0.0.1');
    assert.equal(client.responses.length, 1, 'the client got the refusal and nothing else');
    const refusal = client.responses[0];
    assert.equal(refusal.status, 400);
    assert.equal(refusal.body, 'upgrade not allowed');
    assert.equal(refusal.headers.connection, 'close');
    assert.ok(refusal.headers['x-request-id'], 'answered like any proxied request');

    const line = gw.accessLogs().find((l) => l.path === '/ws');
    assert.ok(line, 'the upgrade attempt has its access line');
    assert.equal(line.status, 400);
    assert.equal(line.route, 'ws');
    assert.equal(line.side, 'legacy');

    // The same requests sent on their own meet the guards.
    const admin = await request(`${gw.url}/admin`);
    await admin.body.dump();
    assert.equal(admin.statusCode, 404);
    const post = await request(`${gw.url}/orders`, { method: 'POST', body: '' });
    await post.body.dump();
    assert.equal(post.statusCode, 404);
  });

  test('bytes sent before the 101 are dropped; the tunnel carries only what follows it', async (t) => {
    const { upstream, client } = await throughGateway(
      t,
      'switch',
      '  - { name: ws, match: { path: /ws }, legacy: legacy }\n',
    );

    client.send(`${upgradeRequest('/ws')}GET /admin HTTP/1.1\r\nHost: gateway.test\r\n\r\n`);
    const switched = await client.response(0);
    assert.equal(switched?.status, 101);
    assert.equal(switched.headers.upgrade, 'websocket');
    // The backend's bytes after its 101 head come through.
    await client.until(() => client.tunnel.length >= 5);
    assert.equal(client.tunnel, 'HELLO');

    client.send('AFTER');
    await eventually('tunnel bytes at the backend', () => upstream.tunnel().includes('AFTER'));
    assert.equal(upstream.tunnel(), 'AFTER', 'nothing the client sent before the 101');
    assert.equal(upstream.requests.length, 1);
    assert.ok(switched.headers['x-request-id'], 'the 101 carries the request id');
  });

  test('an h2c upgrade is not tunnelled: it is served as a plain request and the connection stays HTTP', async (t) => {
    const { upstream, client } = await throughGateway(
      t,
      'switch',
      `  - { name: api, match: { path: /api }, legacy: legacy }
  - { name: admin, match: { path: /admin, headers: { x-admin-token: s3cret } }, legacy: legacy }
`,
    );

    client.send(
      'GET /api HTTP/1.1\r\nHost: gateway.test\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAAP__\r\n\r\n',
    );
    const first = await client.response(0);
    assert.equal(first?.status, 200, 'served as HTTP/1.1, not switched');
    assert.equal(first.body, 'ok GET /api');
    const seen = upstream.requests[0];
    assert.equal(seen.headers.upgrade, undefined, 'Upgrade is hop-by-hop: not forwarded');
    assert.equal(seen.headers['http2-settings'], undefined);

    // The gateway still parses the connection: the next request meets its route's guard.
    client.send('GET /admin HTTP/1.1\r\nHost: gateway.test\r\n\r\n');
    const second = await client.response(1);
    assert.equal(second?.status, 404);
    assert.equal(codeOf(second), 'CUTOVER_ERR_NO_ROUTE');
    assert.equal(upstream.requests.length, 1);
  });

  test('an upgrade pipelined behind a pending request is served as a plain request, in order', async (t) => {
    const { upstream, client } = await throughGateway(
      t,
      'switch',
      `  - { name: api, match: { path: /api }, legacy: legacy }
  - { name: ws, match: { path: /ws }, legacy: legacy }
`,
    );

    client.send(`GET /api HTTP/1.1\r\nHost: gateway.test\r\n\r\n${upgradeRequest('/ws')}`);
    const first = await client.response(0);
    const second = await client.response(1);
    assert.equal(first?.body, 'ok GET /api');
    assert.equal(second?.status, 200, 'not switched in the middle of a pipeline');
    assert.equal(second.body, 'ok GET /ws');
    assert.equal(upstream.requests[1].headers.upgrade, undefined);
    assert.equal(upstream.tunnel(), '');
  });

  for (const [what, switchTo] of [
    ['another protocol than asked', 'h2c'],
    ['no protocol', null],
  ] as const) {
    test(`a 101 that switches to ${what} is not tunnelled: 502`, async (t) => {
      const { upstream, client } = await throughGateway(
        t,
        'switch',
        '  - { name: ws, match: { path: /ws }, legacy: legacy }\n',
        switchTo,
      );

      client.send(upgradeRequest('/ws'));
      const answer = await client.response(0);
      assert.equal(answer?.status, 502);
      assert.equal(codeOf(answer), 'CUTOVER_ERR_UPGRADE_MISMATCH');
      await client.closed;
      assert.equal(client.tunnel, '', 'none of the backend bytes after its 101');
      await eventually('the backend connection closed', () => upstream.open === 0);
    });
  }

  test('a protocol the route does not list is served as plain HTTP (upgrades: [])', async (t) => {
    const { upstream, client } = await throughGateway(
      t,
      'switch',
      '  - { name: api, match: { path: /api }, legacy: legacy, upgrades: [] }\n',
    );

    client.send(upgradeRequest('/api'));
    const answer = await client.response(0);
    assert.equal(answer?.status, 200);
    assert.equal(upstream.requests[0].headers.upgrade, undefined);
  });
});

describe('security: an Upgrade goes through admission like any request', () => {
  test('a breaker forced open answers 503 to an upgrade as to a plain GET', async (t) => {
    const echo = await startWebSocketEcho('legacy');
    t.after(() => echo.close());
    const gw = await startGateway(
      yaml(echo.url, '  - { name: ws, match: { path: /ws }, legacy: legacy }\n'),
    );
    t.after(() => gw.close());
    await forceBreaker(gw, 'legacy', 'open');

    const plain = await request(`${gw.url}/ws`);
    await plain.body.dump();
    assert.equal(plain.statusCode, 503);

    const client = await RawClient.open(gw.url);
    t.after(() => client.close());
    client.send(upgradeRequest('/ws'));
    const answer = await client.response(0);
    assert.equal(answer?.status, 503);
    assert.equal(codeOf(answer), 'CUTOVER_ERR_BREAKER_OPEN');
    assert.equal(answer.headers['retry-after'], '1');
    assert.equal(echo.upgrades.length, 0, 'nothing reached the backend');
    await client.closed;
    const lines = gw.accessLogs().filter((l) => l.path === '/ws');
    assert.deepEqual(
      lines.map((l) => l.status),
      [503, 503],
      'the plain GET and the upgrade both logged',
    );
  });

  test('the route rate limit applies to upgrades', async (t) => {
    const echo = await startWebSocketEcho('legacy');
    t.after(() => echo.close());
    const gw = await startGateway(
      yaml(
        echo.url,
        '  - { name: ws, match: { path: /ws }, legacy: legacy, limit: { rps: 0.001, burst: 1 } }\n',
      ),
    );
    t.after(() => gw.close());

    const first = await RawClient.open(gw.url);
    t.after(() => first.close());
    first.send(upgradeRequest('/ws'));
    assert.equal((await first.response(0))?.status, 101);

    const second = await RawClient.open(gw.url);
    t.after(() => second.close());
    second.send(upgradeRequest('/ws'));
    const answer = await second.response(0);
    assert.equal(answer?.status, 429);
    assert.equal(codeOf(answer), 'CUTOVER_ERR_RATE_LIMITED');
    assert.equal(echo.upgrades.length, 1);
    await second.closed;
  });

  test('the route concurrency cap counts handshakes in flight', async (t) => {
    const upstream = await startRawUpstream('hang');
    t.after(() => upstream.close());
    const gw = await startGateway(
      yaml(
        upstream.url,
        '  - { name: ws, match: { path: /ws }, legacy: legacy, concurrency: { max: 1 } }\n',
      ),
    );
    t.after(() => gw.close());

    const first = await RawClient.open(gw.url);
    t.after(() => first.close());
    first.send(upgradeRequest('/ws'));
    await eventually('the first handshake at the backend', () => upstream.requests.length === 1);

    const second = await RawClient.open(gw.url);
    t.after(() => second.close());
    second.send(upgradeRequest('/ws'));
    // Either the gateway refuses, or (the bug) the second handshake reaches the backend.
    await eventually(
      'an answer, or a second handshake at the backend',
      () => second.responses.length > 0 || second.isClosed || upstream.requests.length > 1,
    );
    const answer = second.responses[0];
    assert.equal(answer?.status, 503);
    assert.equal(codeOf(answer), 'CUTOVER_ERR_OVERLOADED');
    assert.equal(upstream.requests.length, 1);

    // The first client gives up: its slot is freed, and its line says 499.
    first.close();
    await eventually('the abandoned handshake logged', () =>
      gw.accessLogs().some((l) => l.path === '/ws' && l.status === 499),
    );
    await eventually('the backend connection closed', () => upstream.open === 0);
  });

  test('a backend that never answers the handshake cannot wedge the client: 504 after the route timeout', async (t) => {
    const { upstream, gw, client } = await throughGateway(
      t,
      'hang',
      '  - { name: ws, match: { path: /ws }, legacy: legacy, timeout: 200ms }\n',
    );

    client.send(upgradeRequest('/ws'));
    await eventually('an answer', () => client.responses.length > 0 || client.isClosed);
    const answer = client.responses[0];
    assert.equal(answer?.status, 504);
    assert.equal(codeOf(answer), 'CUTOVER_ERR_UPSTREAM_TIMEOUT');
    await client.closed;
    await eventually('the backend connection closed', () => upstream.open === 0);
    const line = gw.accessLogs().find((l) => l.path === '/ws');
    assert.equal(line?.status, 504);
  });

  test('a refusal whose body breaks off: the client connection is cut, the line says why', async (t) => {
    const { gw, client } = await throughGateway(
      t,
      'cut',
      '  - { name: ws, match: { path: /ws }, legacy: legacy }\n',
    );

    client.send(upgradeRequest('/ws'));
    await client.closed;
    assert.equal(client.responses.length, 0, 'no complete answer');
    await eventually('the access line', () => gw.accessLogs().some((l) => l.path === '/ws'));
    const line = gw.accessLogs().find((l) => l.path === '/ws');
    assert.equal(line?.status, 400);
    assert.ok(line.err, 'the line names the broken body');
  });

  test('a candidate whose breaker is open: the upgrade goes to legacy, marked as a fallback', async (t) => {
    const legacy = await startWebSocketEcho('legacy');
    t.after(() => legacy.close());
    const rewrite = await startWebSocketEcho('rewrite');
    t.after(() => rewrite.close());
    const gw = await startGateway(
      yaml(
        legacy.url,
        '  - { name: ws, match: { path: /ws }, legacy: legacy, candidate: rewrite, weight: 100 }\n',
        rewrite.url,
      ),
    );
    t.after(() => gw.close());
    await forceBreaker(gw, 'rewrite', 'open');

    const client = await RawClient.open(gw.url);
    t.after(() => client.close());
    client.send(upgradeRequest('/ws'));
    const answer = await client.response(0);
    assert.equal(answer?.status, 101);
    assert.equal(answer.headers['x-cutover-backend'], 'legacy');
    assert.equal(answer.headers['x-cutover-fallback'], 'breaker-open');
    assert.equal(rewrite.upgrades.length, 0);
    assert.equal(legacy.upgrades.length, 1);
  });

  test('a candidate answering the handshake with 5xx: fallback to legacy, failures on its breaker', async (t) => {
    const legacy = await startWebSocketEcho('legacy');
    t.after(() => legacy.close());
    const rewrite = await startUpstream({ name: 'rewrite', behavior: 'status:503' });
    t.after(() => rewrite.close());
    const gw = await startGateway(`listen: 127.0.0.1:0
admin: { listen: 127.0.0.1:0 }
state: memory
backends:
  legacy: { url: ${legacy.url} }
  rewrite: { url: ${rewrite.url}, breaker: { minRequests: 2 } }
routes:
  - { name: ws, match: { path: /ws }, legacy: legacy, candidate: rewrite, weight: 100 }
`);
    t.after(() => gw.close());

    for (let i = 0; i < 2; i++) {
      const client = await RawClient.open(gw.url);
      t.after(() => client.close());
      client.send(upgradeRequest('/ws'));
      const answer = await client.response(0);
      assert.equal(answer?.status, 101);
      assert.equal(answer.headers['x-cutover-fallback'], '5xx');
    }
    assert.equal(rewrite.requests.length, 2);
    assert.equal(rewrite.requests[0].headers.upgrade, 'websocket');
    const res = await request(`${gw.adminUrl}/api/backends/rewrite/breaker`);
    const breakers = (await res.body.json()) as { routes: { ws: { state: string } } };
    assert.equal(breakers.routes.ws.state, 'open', 'two failed handshakes of two trip it');
  });

  test('a real WebSocket still echoes, with the gateway hop and an access line of status 101', async (t) => {
    const echo = await startWebSocketEcho('legacy');
    t.after(() => echo.close());
    const gw = await startGateway(
      yaml(echo.url, '  - { name: ws, match: { path: /ws }, legacy: legacy }\n'),
    );
    t.after(() => gw.close());

    const ws = new WebSocket(`${gw.url.replace(/^http:/, 'ws:')}/ws?room=1`, {
      headers: { 'x-forwarded-for': '10.0.0.9', 'x-request-id': 'ws-req-1' },
    });
    t.after(() => ws.terminate());
    const upgraded = new Promise<IncomingMessage>((resolve, reject) => {
      ws.once('upgrade', resolve);
      ws.once('error', reject);
    });
    await once(ws, 'open');
    ws.send('hello');
    const [data] = (await once(ws, 'message')) as [Buffer];
    assert.equal(data.toString(), 'legacy:hello');

    const line = gw.accessLogs().find((l) => l.reqId === 'ws-req-1');
    assert.ok(line, `an access line for the upgrade: ${JSON.stringify(gw.accessLogs())}`);
    assert.equal(line.status, 101);
    assert.equal(line.path, '/ws?room=1');
    assert.equal(line.route, 'ws');
    assert.equal((await upgraded).headers['x-request-id'], 'ws-req-1');
    const seen = echo.upgrades[0];
    // The client is not a trusted proxy: its X-Forwarded-For is replaced by its address.
    assert.equal(seen.headers['x-forwarded-for'], '127.0.0.1');
    assert.equal(seen.headers['x-request-id'], 'ws-req-1');
  });
});
