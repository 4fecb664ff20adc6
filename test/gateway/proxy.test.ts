import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { request } from 'undici';
import { startGateway, type TestGateway, twoBackendYaml } from '../helpers/gateway.ts';
import { startUpstream, type Upstream } from '../helpers/upstream.ts';

async function json(res: Awaited<ReturnType<typeof request>>): Promise<Record<string, unknown>> {
  return (await res.body.json()) as Record<string, unknown>;
}

/** Send raw bytes and collect everything the gateway answers until it closes. */
function rawExchange(url: string, bytes: string): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const s = connect(Number(port), hostname);
    let out = '';
    s.on('data', (d) => {
      out += d.toString('latin1');
    });
    s.on('end', () => resolve(out));
    s.on('error', reject);
    s.write(bytes);
    setTimeout(() => s.end(), 500);
  });
}

describe('proxy', () => {
  let legacy: Upstream;
  let rewrite: Upstream;
  let gw: TestGateway;

  before(async () => {
    legacy = await startUpstream({ name: 'legacy' });
    rewrite = await startUpstream({ name: 'rewrite' });
    gw = await startGateway(
      twoBackendYaml(legacy.url, rewrite.url, {
        weight: 0,
        route: '    timeout: 300ms\n    idleTimeout: 300ms\n    maxBodyBytes: 1KiB',
      }),
    );
  });
  after(async () => {
    await gw.close();
    await legacy.close();
    await rewrite.close();
  });

  test('forwards to legacy at weight 0 and marks the response', async () => {
    const res = await request(`${gw.url}/api/thing?x=1`);
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers['x-cutover-backend'], 'legacy');
    const body = await json(res);
    assert.equal(body.upstream, 'legacy');
    assert.equal(body.path, '/api/thing?x=1');
    assert.equal(legacy.requests.at(-1)?.url, '/api/thing?x=1');
  });

  test('removes hop-by-hop headers and those named in Connection, both ways', async () => {
    const out = await rawExchange(
      gw.url,
      'GET /hop HTTP/1.1\r\nHost: a\r\nConnection: keep-alive, x-secret-hop\r\n' +
        'X-Secret-Hop: drop me\r\nKeep-Alive: timeout=5\r\nProxy-Authorization: Basic abc\r\n' +
        'TE: gzip\r\nX-Kept: yes\r\n\r\n',
    );
    assert.match(out, /^HTTP\/1\.1 200 /);
    const seen = legacy.requests.at(-1)!.headers;
    assert.equal(seen['x-secret-hop'], undefined);
    assert.equal(seen['proxy-authorization'], undefined);
    assert.equal(seen.te, undefined);
    assert.equal(seen['keep-alive'], undefined);
    assert.equal(seen['x-kept'], 'yes');
  });

  test('TE: trailers is kept (gRPC needs it end to end); a TE that Connection names is not', async () => {
    await rawExchange(gw.url, 'GET /te HTTP/1.1\r\nHost: a\r\nTE: Trailers\r\n\r\n');
    assert.equal(legacy.requests.at(-1)!.headers.te, 'trailers');
    await rawExchange(
      gw.url,
      'GET /te2 HTTP/1.1\r\nHost: a\r\nConnection: TE\r\nTE: trailers\r\n\r\n',
    );
    assert.equal(legacy.requests.at(-1)!.headers.te, undefined);
  });

  test('removes hop-by-hop headers from the response', async () => {
    const up = await startUpstream();
    const { createServer } = await import('node:http');
    const hop = createServer((_req, res) => {
      res.writeHead(200, {
        connection: 'x-upstream-hop',
        'x-upstream-hop': 'secret',
        'proxy-authenticate': 'Basic',
        'x-visible': 'yes',
      });
      res.end('ok');
    });
    await new Promise<void>((r) => hop.listen(0, '127.0.0.1', () => r()));
    const port = (hop.address() as { port: number }).port;
    const gw2 = await startGateway(twoBackendYaml(`http://127.0.0.1:${port}`, up.url));
    try {
      const res = await request(`${gw2.url}/hop`);
      assert.equal(await res.body.text(), 'ok');
      assert.equal(res.headers['x-upstream-hop'], undefined);
      assert.equal(res.headers['proxy-authenticate'], undefined);
      assert.equal(res.headers['x-visible'], 'yes');
    } finally {
      await gw2.close();
      hop.close();
      await up.close();
    }
  });

  test('sets X-Forwarded-For (replaced: the peer is not a trusted proxy), -Proto and -Host, and rewrites Host', async () => {
    const res = await request(`${gw.url}/xf`, {
      headers: { 'x-forwarded-for': '203.0.113.7', host: 'shop.example' },
    });
    await res.body.dump();
    const seen = legacy.requests.at(-1)!.headers;
    assert.equal(seen['x-forwarded-for'], '127.0.0.1');
    assert.equal(seen['x-forwarded-proto'], 'http');
    assert.equal(seen['x-forwarded-host'], 'shop.example');
    assert.equal(seen.host, new URL(legacy.url).host);
  });

  test('generates x-request-id when absent, keeps a client one, and returns it', async () => {
    const a = await request(`${gw.url}/id`);
    await a.body.dump();
    const generated = a.headers['x-request-id'];
    assert.match(String(generated), /^[0-9a-f-]{36}$/);
    assert.equal(legacy.requests.at(-1)!.headers['x-request-id'], generated);
    const b = await request(`${gw.url}/id`, { headers: { 'x-request-id': 'abc-123' } });
    await b.body.dump();
    assert.equal(b.headers['x-request-id'], 'abc-123');
    assert.equal(legacy.requests.at(-1)!.headers['x-request-id'], 'abc-123');
  });

  test('passes W3C traceparent through', async () => {
    const tp = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    const res = await request(`${gw.url}/trace`, { headers: { traceparent: tp } });
    await res.body.dump();
    assert.equal(legacy.requests.at(-1)!.headers.traceparent, tp);
  });

  test('no route: 404 problem+json', async () => {
    const gw2 = await startGateway(`listen: 127.0.0.1:0
admin: { listen: 127.0.0.1:0 }
state: memory
backends: { legacy: { url: ${legacy.url} } }
routes:
  - { name: only, match: { path: /only }, legacy: legacy }
`);
    try {
      const res = await request(`${gw2.url}/elsewhere`);
      assert.equal(res.statusCode, 404);
      assert.equal(res.headers['content-type'], 'application/problem+json');
      const body = await json(res);
      assert.equal(body.code, 'CUTOVER_ERR_NO_ROUTE');
      assert.equal(body.status, 404);
      assert.match(String(body.detail), /GET \/elsewhere/);
    } finally {
      await gw2.close();
    }
  });

  test('upstream that never answers: 504 after the route timeout, naming route and backend', async () => {
    const res = await request(`${gw.url}/slow`, { headers: { 'x-test-behavior': 'hang' } });
    assert.equal(res.statusCode, 504);
    const body = await json(res);
    assert.equal(body.code, 'CUTOVER_ERR_UPSTREAM_TIMEOUT');
    assert.equal(body.route, 'main');
    assert.equal(body.backend, 'legacy');
    assert.doesNotMatch(JSON.stringify(body), /at .*\.ts:\d+/, 'no stack trace');
  });

  test('upstream body that stalls past idleTimeout: the client connection is cut', async () => {
    const res = await request(`${gw.url}/stall`, {
      headers: { 'x-test-behavior': 'slowBody:2000' },
    });
    assert.equal(res.statusCode, 200);
    await assert.rejects(res.body.text());
  });

  test('upstream reset before answering: 502', async () => {
    const res = await request(`${gw.url}/reset`, { headers: { 'x-test-behavior': 'reset' } });
    assert.equal(res.statusCode, 502);
    const body = await json(res);
    assert.equal(body.code, 'CUTOVER_ERR_UPSTREAM_RESET');
  });

  test('upstream refusing connections: 502 with a problem body', async () => {
    const dead = await startUpstream();
    const deadUrl = dead.url;
    await dead.close();
    const gw2 = await startGateway(twoBackendYaml(deadUrl, rewrite.url));
    try {
      const res = await request(`${gw2.url}/x`);
      assert.equal(res.statusCode, 502);
      assert.equal(res.headers['content-type'], 'application/problem+json');
      const body = await json(res);
      assert.equal(body.code, 'CUTOVER_ERR_UPSTREAM_CONNECT');
      assert.equal(body.backend, 'legacy');
    } finally {
      await gw2.close();
    }
  });

  test('connect timeout: 504 naming the connect phase', async () => {
    // A TCP listener that accepts and stays silent: the TLS handshake, part of
    // connecting to an https backend, never completes.
    const { createServer } = await import('node:net');
    const sockets: import('node:net').Socket[] = [];
    const silent = createServer((s) => sockets.push(s));
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', () => r()));
    const port = (silent.address() as { port: number }).port;
    const gw2 = await startGateway(`listen: 127.0.0.1:0
admin: { listen: 127.0.0.1:0 }
state: memory
backends: { legacy: { url: https://127.0.0.1:${port}, connectTimeout: 200ms } }
routes:
  - { name: r, match: { path: /* }, legacy: legacy }
`);
    try {
      const res = await request(`${gw2.url}/x`);
      assert.equal(res.statusCode, 504);
      const body = await json(res);
      assert.equal(body.code, 'CUTOVER_ERR_UPSTREAM_TIMEOUT');
      assert.match(String(body.detail), /connect/);
    } finally {
      await gw2.close();
      for (const s of sockets) s.destroy();
      silent.close();
    }
  });

  test('request body over maxBodyBytes with Content-Length: 413, never reaches the backend', async () => {
    const before = legacy.requests.length;
    const res = await request(`${gw.url}/upload`, { method: 'POST', body: Buffer.alloc(4096, 1) });
    assert.equal(res.statusCode, 413);
    const body = await json(res);
    assert.equal(body.code, 'CUTOVER_ERR_BODY_TOO_LARGE');
    assert.equal(legacy.requests.length, before);
  });

  test('chunked request body over maxBodyBytes: 413', async () => {
    const chunks = Readable.from([Buffer.alloc(800, 1), Buffer.alloc(800, 2)]);
    const res = await request(`${gw.url}/upload`, {
      method: 'POST',
      body: chunks,
      headers: { 'x-test-behavior': 'slow:200' },
    });
    assert.equal(res.statusCode, 413);
    await res.body.dump();
  });

  test('malformed request: 400 problem and nothing reaches a backend', async () => {
    const before = legacy.requests.length;
    const out = await rawExchange(gw.url, 'GET /x HTTP/1.1\r\nHost: a\r\nbad header line\r\n\r\n');
    assert.match(out, /^HTTP\/1\.1 400 /);
    assert.match(out, /application\/problem\+json/);
    assert.equal(legacy.requests.length, before);
  });

  test('request target not starting with /: 400', async () => {
    const out = await rawExchange(
      gw.url,
      'GET http://other.example/x HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n',
    );
    assert.match(out, /^HTTP\/1\.1 400 /);
  });

  test('headers over the limit: 431', async () => {
    const out = await rawExchange(
      gw.url,
      `GET /x HTTP/1.1\r\nHost: a\r\nx-big: ${'a'.repeat(20_000)}\r\n\r\n`,
    );
    assert.match(out, /^HTTP\/1\.1 431 /);
  });

  test('client disconnect cancels the upstream request', async () => {
    const ac = new AbortController();
    const pending = request(`${gw.url}/long`, {
      headers: { 'x-test-behavior': 'slowBody:5000' },
      signal: ac.signal,
    });
    const res = await pending;
    const seen = legacy.requests.at(-1)!;
    ac.abort();
    await assert.rejects(res.body.text());
    await seen.closed;
    assert.equal(seen.aborted, true);
  });

  test('access log: one line per request with route, backend, status, duration and bytes', async () => {
    const res = await request(`${gw.url}/logged`, { headers: { 'x-request-id': 'log-me-1' } });
    await res.body.dump();
    await new Promise((r) => setTimeout(r, 20));
    const line = gw.accessLogs().find((l) => l.reqId === 'log-me-1');
    assert.ok(line, 'an access line for the request');
    assert.equal(line.route, 'main');
    assert.equal(line.backend, 'legacy');
    assert.equal(line.side, 'legacy');
    assert.equal(line.method, 'GET');
    assert.equal(line.path, '/logged');
    assert.equal(line.status, 200);
    assert.equal(typeof line.ms, 'number');
    assert.ok((line.bytes as number) > 0);
    assert.ok(line.time);
  });
});

describe('proxy: streaming', () => {
  test('a 50 MB body streams both ways without buffering', async () => {
    const up = await startUpstream({ name: 'echo', behavior: 'echo' });
    const gw = await startGateway(`listen: 127.0.0.1:0
admin: { listen: 127.0.0.1:0 }
state: memory
defaults: { maxBodyBytes: 100MiB }
backends: { legacy: { url: ${up.url} } }
routes:
  - { name: r, match: { path: /* }, legacy: legacy }
`);
    try {
      const size = 50 * 1024 * 1024;
      const chunk = Buffer.alloc(64 * 1024, 7);
      let received = 0;
      let sentWhenFirstEchoArrived = -1;
      // The sender stops after 4 MB until echoed bytes come back: a proxy that
      // buffered the request (or the response) would never let them through.
      async function* body() {
        let sent = 0;
        while (sent < size) {
          if (sent === 4 * 1024 * 1024) {
            const deadline = Date.now() + 10_000;
            while (received === 0) {
              if (Date.now() > deadline)
                throw new Error('no echoed byte after 4 MB sent: body is buffered');
              await new Promise((r) => setTimeout(r, 5));
            }
          }
          sent += chunk.length;
          yield chunk;
        }
      }
      const res = await request(`${gw.url}/stream`, {
        method: 'POST',
        body: Readable.from(body()),
        headers: { 'content-length': String(size) },
      });
      for await (const c of res.body) {
        if (received === 0) sentWhenFirstEchoArrived = up.requests.at(-1)!.bodyBytes;
        received += (c as Buffer).length;
      }
      assert.equal(res.statusCode, 200);
      assert.equal(received, size);
      assert.ok(sentWhenFirstEchoArrived < size, 'echo began before the whole body was sent');
    } finally {
      await gw.close();
      await up.close();
    }
  });

  test('a large response respects backpressure from a slow client', async () => {
    const up = await startUpstream({ name: 'big', behavior: 'big:8388608' });
    const gw = await startGateway(`listen: 127.0.0.1:0
admin: { listen: 127.0.0.1:0 }
state: memory
backends: { legacy: { url: ${up.url} } }
routes:
  - { name: r, match: { path: /* }, legacy: legacy }
`);
    try {
      const res = await request(`${gw.url}/big`, { highWaterMark: 16 * 1024 });
      let received = 0;
      for await (const c of res.body) {
        received += (c as Buffer).length;
        if (received < 2 * 1024 * 1024) await new Promise((r) => setTimeout(r, 1));
      }
      assert.equal(received, 8388608);
      const rec = up.requests.at(-1)!;
      // With backpressure honoured end to end the upstream never has much queued.
      assert.ok(rec.peakBuffered <= 4 * 64 * 1024, `peak buffered ${rec.peakBuffered}`);
    } finally {
      await gw.close();
      await up.close();
    }
  });
});

describe('proxy: backends', () => {
  test('several instances are used in turn (round robin)', async () => {
    const a = await startUpstream({ name: 'a' });
    const b = await startUpstream({ name: 'b' });
    const gw = await startGateway(`listen: 127.0.0.1:0
admin: { listen: 127.0.0.1:0 }
state: memory
backends: { legacy: { urls: [${a.url}, ${b.url}] } }
routes:
  - { name: r, match: { path: /* }, legacy: legacy }
`);
    try {
      for (let i = 0; i < 10; i++) await (await request(`${gw.url}/rr`)).body.dump();
      assert.equal(a.requests.length, 5);
      assert.equal(b.requests.length, 5);
    } finally {
      await gw.close();
      await a.close();
      await b.close();
    }
  });

  test('preserveHost keeps the client Host; a base path prefixes the request path', async () => {
    const up = await startUpstream();
    const gw = await startGateway(`listen: 127.0.0.1:0
admin: { listen: 127.0.0.1:0 }
state: memory
backends: { legacy: { url: ${up.url}/base/ } }
routes:
  - { name: r, match: { path: /* }, legacy: legacy, preserveHost: true }
`);
    try {
      await (await request(`${gw.url}/p?q=1`, { headers: { host: 'client.example' } })).body.dump();
      const seen = up.requests.at(-1)!;
      assert.equal(seen.headers.host, 'client.example');
      assert.equal(seen.url, '/base/p?q=1');
    } finally {
      await gw.close();
      await up.close();
    }
  });

  test('connections are kept alive and reused', async () => {
    const up = await startUpstream();
    const gw = await startGateway(`listen: 127.0.0.1:0
admin: { listen: 127.0.0.1:0 }
state: memory
backends: { legacy: { url: ${up.url} } }
routes:
  - { name: r, match: { path: /* }, legacy: legacy }
`);
    try {
      for (let i = 0; i < 20; i++) await (await request(`${gw.url}/k`)).body.dump();
      assert.equal(up.requests.length, 20);
      assert.equal(up.connections, 1);
    } finally {
      await gw.close();
      await up.close();
    }
  });
});
