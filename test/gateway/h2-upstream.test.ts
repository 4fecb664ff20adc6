// HTTP/2 upstream sessions as Cutover keeps them, against real node:http2 and
// @grpc/grpc-js servers: a GOAWAY mid-load loses no call the upstream had not
// started and replays none it had; a client's cancel resets the upstream
// stream; sessions are replaced after maxStreamsPerSession streams; flow
// control reaches the upstream when the client reads slowly; an h2 backend
// over TLS is trusted through `tls.ca` (or `tls.servername`).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { request as h1request } from 'node:http';
import {
  createSecureServer,
  createServer,
  type Http2SecureServer,
  type Http2Server,
  constants as h2,
  connect as h2connect,
  type IncomingHttpHeaders,
  type ServerHttp2Session,
  type ServerHttp2Stream,
} from 'node:http2';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { startGateway, type TestGateway, tempDir } from '../helpers/gateway.ts';
import { type GrpcPeer, getOrder, grpc, ordersClient, startGrpcPeer } from '../helpers/grpc.ts';
import { eventually } from '../helpers/wait.ts';

const run = promisify(execFile);

/** An empty protobuf message in gRPC framing: decodes to a message of defaults. */
const EMPTY_MESSAGE = Buffer.alloc(5);

/** A gRPC OK answer: one message, then `grpc-status: 0` in real trailers. */
function answerOk(stream: ServerHttp2Stream): void {
  if (stream.destroyed) return;
  stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
  stream.once('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
  stream.end(EMPTY_MESSAGE);
}

type StreamHandler = (
  stream: ServerHttp2Stream,
  headers: IncomingHttpHeaders,
  session: number,
) => void;

interface H2Upstream {
  readonly url: string;
  readonly server: Http2Server | Http2SecureServer;
  /** Every session the server accepted, in order. */
  readonly sessions: ServerHttp2Session[];
  /** Sessions that have closed. */
  readonly closed: Set<ServerHttp2Session>;
  close(): Promise<void>;
}

/** A node:http2 server on 127.0.0.1:0 (TLS when `tls` is given); `onStream` says what each stream gets. */
async function startH2(
  onStream: StreamHandler,
  tls?: { cert: string; key: string },
): Promise<H2Upstream> {
  const server = tls ? createSecureServer(tls) : createServer();
  const sessions: ServerHttp2Session[] = [];
  const closed = new Set<ServerHttp2Session>();
  server.on('session', (s: ServerHttp2Session) => {
    sessions.push(s);
    s.on('close', () => closed.add(s));
    s.on('error', () => {});
  });
  server.on('stream', (stream: ServerHttp2Stream, headers: IncomingHttpHeaders) => {
    stream.on('error', () => {});
    onStream(stream, headers, sessions.indexOf(stream.session as ServerHttp2Session));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `${tls ? 'https' : 'http'}://127.0.0.1:${port}`,
    server,
    sessions,
    closed,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sessions) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** One gateway route `/*` to backend `up` with the given backend fields. */
function gatewayYaml(url: string, backend: string, top = ''): string {
  return `listen:
  - address: 127.0.0.1:0
admin: { listen: 127.0.0.1:0 }
state: memory
${top}
backends:
  up: { url: ${url}, ${backend} }
routes:
  - name: all
    match: { path: /* }
    legacy: up
`;
}

/** A unary call through `client` with `x-call-id`; its error code, or 0 for OK. */
function callStatus(client: grpc.Client, id: string): Promise<number> {
  return getOrder(client, id, { 'x-call-id': id }).then(
    () => grpc.status.OK,
    (e: grpc.ServiceError) => e.code,
  );
}

/** Plain HTTP/2 GET through the gateway: status and body length. */
function h2get(base: string, path: string): Promise<{ status: number; bytes: number }> {
  return new Promise((resolve, reject) => {
    const session = h2connect(base);
    session.on('error', reject);
    const stream = session.request({ ':path': path });
    let status = 0;
    let bytes = 0;
    stream.on('response', (h) => {
      status = Number(h[':status']);
    });
    stream.on('data', (c: Buffer) => {
      bytes += c.length;
    });
    stream.on('end', () => {
      session.close();
      resolve({ status, bytes });
    });
    stream.on('error', reject);
  });
}

describe('GOAWAY from an upstream mid-load', () => {
  it('calls above its last stream ID go again on a new session; calls at or below it are never replayed', async () => {
    const CALLS = 20;
    const STARTED = 3;
    const processed = new Map<string, number>();
    const held: { stream: ServerHttp2Stream; id: string }[] = [];
    const upstream = await startH2((stream, headers, session) => {
      const id = String(headers['x-call-id']);
      if (session > 0) {
        processed.set(id, (processed.get(id) ?? 0) + 1);
        stream.on('end', () => answerOk(stream));
        stream.resume();
        return;
      }
      // Session 1 holds every call until all are in, then takes only the
      // first STARTED (which fail: reset by the server after starting) and
      // says so with a GOAWAY; an honest server does nothing with the rest.
      held.push({ stream, id });
      if (held.length < CALLS) return;
      held.sort((a, b) => a.stream.id! - b.stream.id!);
      const started = held.slice(0, STARTED);
      for (const s of started) processed.set(s.id, (processed.get(s.id) ?? 0) + 1);
      stream.session!.goaway(h2.NGHTTP2_NO_ERROR, started[STARTED - 1].stream.id!);
      for (const s of started) s.stream.close(h2.NGHTTP2_INTERNAL_ERROR);
      stream.session!.close();
    });
    const gateway = await startGateway(gatewayYaml(upstream.url, 'protocol: h2c'));
    const client = ordersClient(new URL(gateway.url).host);
    try {
      const ids = Array.from({ length: CALLS }, (_, i) => `call-${i}`);
      const codes = await Promise.all(ids.map((id) => callStatus(client, id)));
      // Every call got a real answer: OK, or the honest failure of a started one.
      assert.equal(codes.filter((c) => c === grpc.status.OK).length, CALLS - STARTED);
      assert.equal(codes.filter((c) => c === grpc.status.UNAVAILABLE).length, STARTED);
      // Each call reached the upstream's handlers exactly once: none lost, none twice.
      assert.deepEqual([...processed.keys()].sort(), [...ids].sort());
      for (const [id, n] of processed) assert.equal(n, 1, `${id} processed ${n} times`);
      // The refused ones were on the wire to session 1 and went again on another session.
      assert.equal(held.length, CALLS);
      assert.ok(upstream.sessions.length >= 2);
    } finally {
      client.close();
      await gateway.close();
      await upstream.close();
    }
  });

  it('an upstream closing its session gracefully (GOAWAY at its last processed stream) loses no call', async () => {
    const CALLS = 40;
    const processed = new Map<string, number>();
    let received = 0;
    const upstream = await startH2((stream, headers) => {
      const id = String(headers['x-call-id']);
      processed.set(id, (processed.get(id) ?? 0) + 1);
      stream.resume();
      // Answer a moment later so that many calls are in flight at the close.
      stream.on('end', () => setTimeout(() => answerOk(stream), 20));
      if (++received === 10) stream.session!.close();
    });
    const gateway = await startGateway(gatewayYaml(upstream.url, 'protocol: h2c'));
    const client = ordersClient(new URL(gateway.url).host);
    try {
      const ids = Array.from({ length: CALLS }, (_, i) => `call-${i}`);
      const codes = await Promise.all(ids.map((id) => callStatus(client, id)));
      assert.deepEqual(new Set(codes), new Set([grpc.status.OK]));
      assert.equal(processed.size, CALLS);
      for (const [id, n] of processed) assert.equal(n, 1, `${id} processed ${n} times`);
      assert.ok(upstream.sessions.length >= 2);
    } finally {
      client.close();
      await gateway.close();
      await upstream.close();
    }
  });
});

describe('a stream reset by the client', () => {
  let peer: GrpcPeer;
  let gateway: TestGateway;
  let client: grpc.Client;

  before(async () => {
    peer = await startGrpcPeer('legacy');
    gateway = await startGateway(gatewayYaml(peer.url, 'protocol: h2c'));
    client = ordersClient(new URL(gateway.url).host);
  });

  after(async () => {
    client.close();
    await gateway.close();
    await peer.close();
  });

  it('a cancelled unary call is cancelled on the upstream (grpc-js sees "cancelled")', async () => {
    const md = new grpc.Metadata();
    md.set('x-test-delay', '10000');
    const call = (
      client as unknown as {
        Get(r: object, m: grpc.Metadata, cb: (e: grpc.ServiceError | null) => void): grpc.Call;
      }
    ).Get({ id: 'slow' }, md, () => {});
    await eventually('the upstream has the call', () => peer.calls.get('Get') === 1);
    call.cancel();
    await eventually('the upstream call is cancelled', () => peer.cancelled.includes('Get'));
  });

  it('a cancelled bidi call is cancelled on the upstream mid-conversation', async () => {
    const chat = (
      client as unknown as {
        Chat(m: grpc.Metadata): grpc.ClientDuplexStream<{ text: string }, { text: string }>;
      }
    ).Chat(new grpc.Metadata());
    chat.on('error', () => {});
    chat.write({ text: 'hello' });
    const reply = await new Promise<string>((r) =>
      chat.once('data', (m: { text: string }) => r(m.text)),
    );
    assert.equal(reply, 'legacy:hello');
    chat.cancel();
    await eventually('the upstream chat is cancelled', () => peer.cancelled.includes('Chat'));
  });

  it('an HTTP/1.1 client going away resets its HTTP/2 upstream stream', async () => {
    let aborted = false;
    let arrived: () => void = () => {};
    const inFlight = new Promise<void>((r) => {
      arrived = r;
    });
    const upstream = await startH2((stream) => {
      // Node: emitted when the peer resets a stream whose answer was not ended.
      stream.on('aborted', () => {
        aborted = true;
      });
      arrived();
    });
    const gw = await startGateway(gatewayYaml(upstream.url, 'protocol: h2c'));
    try {
      const req = h1request(`${gw.url}/slow`);
      req.on('error', () => {});
      req.end();
      await inFlight;
      req.destroy();
      await eventually('the upstream stream is reset', () => aborted);
    } finally {
      await gw.close();
      await upstream.close();
    }
  });
});

describe('session recycling', () => {
  it('a session is replaced after maxStreamsPerSession streams; its last streams still complete', async () => {
    const upstream = await startH2((stream) => {
      stream.resume();
      stream.on('end', () => answerOk(stream));
    });
    const gateway = await startGateway(
      gatewayYaml(upstream.url, 'protocol: h2c, maxStreamsPerSession: 5'),
    );
    const client = ordersClient(new URL(gateway.url).host);
    try {
      for (let i = 0; i < 12; i++) assert.equal(await callStatus(client, `c${i}`), 0);
      // 5 + 5 + 2 streams.
      assert.equal(upstream.sessions.length, 3);
      await eventually('the retired sessions close', () => upstream.closed.size === 2);
      // Many at once on a session that retires meanwhile: every one completes.
      const codes = await Promise.all(
        Array.from({ length: 20 }, (_, i) => callStatus(client, `p${i}`)),
      );
      assert.deepEqual(new Set(codes), new Set([0]));
    } finally {
      client.close();
      await gateway.close();
      await upstream.close();
    }
  });

  it('maxStreamsPerSession: 0 keeps one session, and a burst at start shares it', async () => {
    const upstream = await startH2((stream) => {
      stream.resume();
      stream.on('end', () => answerOk(stream));
    });
    const gateway = await startGateway(
      gatewayYaml(upstream.url, 'protocol: h2c, maxStreamsPerSession: 0'),
    );
    const client = ordersClient(new URL(gateway.url).host);
    try {
      // 50 calls before the session has even connected: they wait for its SETTINGS, not for new sessions.
      const codes = await Promise.all(
        Array.from({ length: 50 }, (_, i) => callStatus(client, `b${i}`)),
      );
      assert.deepEqual(new Set(codes), new Set([0]));
      for (let i = 0; i < 12; i++) assert.equal(await callStatus(client, `c${i}`), 0);
      assert.equal(upstream.sessions.length, 1);
    } finally {
      client.close();
      await gateway.close();
      await upstream.close();
    }
  });
});

describe('flow control', () => {
  it('a client that reads slowly holds back an HTTP/2 upstream: what is in between stays bounded', async () => {
    const TOTAL = 32 * 1024 * 1024;
    const CHUNK = Buffer.alloc(64 * 1024, 0x61);
    // The gateway's response buffer (1 MiB by default) plus the HTTP/2 windows on both sides.
    const BOUND = 4 * 1024 * 1024;
    let written = 0;
    const upstream = await startH2((stream) => {
      stream.respond({ ':status': 200, 'content-type': 'application/octet-stream' });
      const pump = (): void => {
        while (written < TOTAL) {
          written += CHUNK.length;
          if (!stream.write(CHUNK)) {
            stream.once('drain', pump);
            return;
          }
        }
        stream.end();
      };
      pump();
    });
    const gateway = await startGateway(gatewayYaml(upstream.url, 'protocol: h2c'));
    const session = h2connect(gateway.url);
    try {
      const stream = session.request({ ':path': '/big' });
      stream.pause();
      // The gateway holds up to its response buffer, then pauses the upstream.
      await eventually(
        'the upstream has sent past the response buffer',
        () => written > 1024 * 1024,
      );
      let received = 0;
      let most = 0;
      stream.on('data', (c: Buffer) => {
        received += c.length;
        most = Math.max(most, written - received);
      });
      stream.resume();
      await new Promise<void>((r) => stream.on('end', r));
      assert.equal(received, TOTAL);
      assert.ok(most < BOUND, `${most} bytes were between the upstream and a slow client`);
    } finally {
      session.close();
      await gateway.close();
      await upstream.close();
    }
  });
});

/** A CA and a leaf certificate for DNS `names` (plus IP 127.0.0.1 when `ip`), made by the openssl CLI. */
async function makeCerts(
  names: readonly string[],
  ip: boolean,
): Promise<{ ca: string; cert: string; key: string }> {
  const dir = tempDir();
  const at = (f: string) => join(dir, f);
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
  await run('openssl', [
    'req',
    '-x509',
    ...ec,
    ...['-keyout', at('ca.key'), '-out', at('ca.crt'), '-days', '2'],
    ...['-subj', '/CN=h2-upstream test CA'],
    ...['-addext', 'basicConstraints=critical,CA:TRUE'],
    ...['-addext', 'keyUsage=critical,keyCertSign'],
  ]);
  await run('openssl', [
    'req',
    ...ec,
    ...['-keyout', at('leaf.key'), '-out', at('leaf.csr'), '-subj', `/CN=${names[0]}`],
  ]);
  const san = [...names.map((n) => `DNS:${n}`), ...(ip ? ['IP:127.0.0.1'] : [])].join(',');
  writeFileSync(at('leaf.ext'), `subjectAltName=${san}\nextendedKeyUsage=serverAuth\n`);
  await run('openssl', [
    'x509',
    '-req',
    ...['-in', at('leaf.csr'), '-CA', at('ca.crt'), '-CAkey', at('ca.key'), '-CAcreateserial'],
    ...['-days', '2', '-extfile', at('leaf.ext'), '-out', at('leaf.crt')],
  ]);
  return {
    ca: at('ca.crt'),
    cert: readFileSync(at('leaf.crt'), 'utf8'),
    key: readFileSync(at('leaf.key'), 'utf8'),
  };
}

/** An h2-only TLS upstream (no HTTP/1.1 fallback: a stream proves ALPN chose h2). */
function startTlsUpstream(certs: { cert: string; key: string }): Promise<H2Upstream> {
  return startH2((stream) => {
    stream.respond({ ':status': 200, 'content-type': 'text/plain' });
    stream.end('over h2');
  }, certs);
}

describe('an h2 backend over TLS', () => {
  it('is trusted through tls.ca and spoken to in HTTP/2 (ALPN)', async () => {
    const certs = await makeCerts(['localhost'], true);
    const upstream = await startTlsUpstream(certs);
    const gateway = await startGateway(
      gatewayYaml(upstream.url, `protocol: h2, tls: { ca: ${certs.ca} }`),
    );
    try {
      assert.deepEqual(await h2get(gateway.url, '/x'), { status: 200, bytes: 'over h2'.length });
      const viaH1 = await fetch(`${gateway.url}/y`);
      assert.equal(await viaH1.text(), 'over h2');
    } finally {
      await gateway.close();
      await upstream.close();
    }
  });

  it('an HTTP/1.1 https backend is trusted through the same tls.ca', async () => {
    const certs = await makeCerts(['localhost'], true);
    const server = createHttpsServer({ cert: certs.cert, key: certs.key }, (_req, res) => {
      res.end('over https/1.1');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const gateway = await startGateway(gatewayYaml(url, `tls: { ca: ${certs.ca} }`));
    try {
      assert.equal(await (await fetch(`${gateway.url}/a`)).text(), 'over https/1.1');
    } finally {
      await gateway.close();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    }
  });

  it('checks the name in tls.servername when the certificate does not name the URL host', async () => {
    const certs = await makeCerts(['backend.internal'], false);
    const upstream = await startTlsUpstream(certs);
    const byHost = await startGateway(
      gatewayYaml(upstream.url, `protocol: h2, tls: { ca: ${certs.ca} }`),
    );
    const byName = await startGateway(
      gatewayYaml(
        upstream.url,
        `protocol: h2, tls: { ca: ${certs.ca}, servername: backend.internal }`,
      ),
    );
    try {
      assert.equal((await fetch(`${byHost.url}/n`)).status, 502);
      assert.equal((await fetch(`${byName.url}/n`)).status, 200);
    } finally {
      await byHost.close();
      await byName.close();
      await upstream.close();
    }
  });

  it('without the CA the certificate is refused (502), unless insecureSkipVerify', async () => {
    const certs = await makeCerts(['localhost'], true);
    const upstream = await startTlsUpstream(certs);
    const strict = await startGateway(gatewayYaml(upstream.url, 'protocol: h2'));
    const lax = await startGateway(
      gatewayYaml(upstream.url, 'protocol: h2, tls: { insecureSkipVerify: true }'),
    );
    try {
      assert.equal((await fetch(`${strict.url}/z`)).status, 502);
      assert.equal((await fetch(`${lax.url}/z`)).status, 200);
      assert.ok(
        lax.logs().some((l) => String(l.msg).includes('tls.insecureSkipVerify')),
        'a warning says certificates are not checked',
      );
    } finally {
      await strict.close();
      await lax.close();
      await upstream.close();
    }
  });
});
