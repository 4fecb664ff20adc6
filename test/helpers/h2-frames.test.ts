// The raw HTTP/2 frame writer against a plain node:http2 server: what it
// writes must be what a server reads (requests, split header blocks, bodies,
// resets, pings, GOAWAY), and what a server sends back must be read whole.
import assert from 'node:assert/strict';
import {
  createSecureServer,
  createServer,
  type Http2SecureServer,
  type Http2Server,
  type ServerHttp2Session,
} from 'node:http2';
import { after, before, describe, test } from 'node:test';
import type { TLSSocket } from 'node:tls';
import { createCa, type TestCa } from './certs.ts';
import {
  continuationFrame,
  dataFrame,
  encodeFrame,
  encodeHeaderBlock,
  FLAG,
  FRAME,
  goawayFrame,
  H2_ERROR,
  headersFrame,
  pingFrame,
  RawH2Connection,
  requestFields,
  rstStreamFrame,
  SETTING,
} from './h2-frames.ts';

function listen(server: Http2Server | Http2SecureServer): Promise<number> {
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port)),
  );
}

describe('raw HTTP/2 frames', () => {
  let server: Http2Server;
  let port: number;
  const sessions: ServerHttp2Session[] = [];
  before(async () => {
    server = createServer((req, res) => {
      if (req.url === '/echo') {
        const chunks: Buffer[] = [];
        req.on('data', (c: Buffer) => chunks.push(c));
        req.on('end', () => res.end(`${req.method} ${Buffer.concat(chunks).toString()}`));
        return;
      }
      if (req.url === '/hold') return; // answered never: the client resets it
      res.setHeader('content-type', 'text/plain');
      res.end(`${req.method} ${req.url} x-long=${String(req.headers['x-long']).length}`);
    });
    server.on('session', (s: ServerHttp2Session) => sessions.push(s));
    port = await listen(server);
  });
  after(() => {
    for (const s of sessions) s.destroy();
    server.close();
  });

  test('a request in one HEADERS frame is answered with HEADERS and DATA on its stream', async () => {
    const c = await RawH2Connection.connect(port);
    await c.request(1, '/hello?x=1', { extra: [['x-long', 'abc']] });
    const end = await c.nextFrame((f) => f.streamId === 1 && (f.flags & FLAG.END_STREAM) !== 0);
    assert.equal(end.type, FRAME.DATA);
    assert.ok(c.frames.some((f) => f.type === FRAME.HEADERS && f.streamId === 1));
    assert.equal(c.body(1).toString(), 'GET /hello?x=1 x-long=3');
    await c.close();
  });

  test('a header block cut into HEADERS and CONTINUATION frames is put together by the server', async () => {
    const c = await RawH2Connection.connect(port);
    const block = encodeHeaderBlock(
      requestFields('/split', { extra: [['x-long', 'v'.repeat(3000)]] }),
    );
    await c.write(
      headersFrame(3, block.subarray(0, 1000), { endHeaders: false }),
      continuationFrame(3, block.subarray(1000, 2000)),
      continuationFrame(3, block.subarray(2000), true),
    );
    await c.nextFrame((f) => f.streamId === 3 && (f.flags & FLAG.END_STREAM) !== 0);
    assert.equal(c.body(3).toString(), 'GET /split x-long=3000');
    await c.close();
  });

  test('a body in DATA frames reaches the server', async () => {
    const c = await RawH2Connection.connect(port);
    await c.request(1, '/echo', { endStream: false, extra: [] });
    await c.write(dataFrame(1, Buffer.from('one ')), dataFrame(1, Buffer.from('two'), true));
    await c.nextFrame((f) => f.streamId === 1 && (f.flags & FLAG.END_STREAM) !== 0);
    assert.equal(c.body(1).toString(), 'GET one two');
    await c.close();
  });

  test('RST_STREAM cancels the server stream with the code sent', async () => {
    const c = await RawH2Connection.connect(port);
    const reset = new Promise<number>((resolve) =>
      server.once('stream', (stream) => stream.once('close', () => resolve(stream.rstCode))),
    );
    await c.request(1, '/hold');
    await c.write(rstStreamFrame(1, H2_ERROR.CANCEL));
    assert.equal(await reset, H2_ERROR.CANCEL);
    await c.close();
  });

  test('PING is acknowledged with its data; our settings reach the server, its are acknowledged', async () => {
    const acked = new Promise<void>((resolve) =>
      server.once('session', (s: ServerHttp2Session) => s.once('localSettings', () => resolve())),
    );
    const remote = new Promise<number | undefined>((resolve) =>
      server.once('session', (s: ServerHttp2Session) =>
        s.once('remoteSettings', (settings) => resolve(settings.maxConcurrentStreams)),
      ),
    );
    const c = await RawH2Connection.connect(port, {
      settings: [[SETTING.MAX_CONCURRENT_STREAMS, 7]],
    });
    await acked;
    assert.equal(await remote, 7);
    await c.write(pingFrame(Buffer.from('12345678')));
    const ack = await c.nextFrame((f) => f.type === FRAME.PING && (f.flags & FLAG.ACK) !== 0);
    assert.equal(ack.payload.toString(), '12345678');
    await c.close();
  });

  test('a GOAWAY sent reaches the server with its code', async () => {
    const goaway = new Promise<number>((resolve) =>
      server.once('session', (s: ServerHttp2Session) => s.once('goaway', (code) => resolve(code))),
    );
    const c = await RawH2Connection.connect(port);
    await c.write(goawayFrame(0, H2_ERROR.ENHANCE_YOUR_CALM));
    assert.equal(await goaway, H2_ERROR.ENHANCE_YOUR_CALM);
    await c.close();
  });

  test('a protocol error is answered with GOAWAY PROTOCOL_ERROR, then the server closes', async () => {
    const c = await RawH2Connection.connect(port);
    // DATA on stream 0 is a connection error (RFC 9113 §6.1).
    await c.write(encodeFrame(FRAME.DATA, 0, 0, Buffer.from('x')));
    const goaway = await c.goaway();
    assert.equal(goaway?.errorCode, H2_ERROR.PROTOCOL_ERROR);
    await c.closed;
    assert.equal(c.isClosed, true);
  });

  describe('over TLS', () => {
    let ca: TestCa;
    let secure: Http2SecureServer;
    let securePort: number;
    before(async () => {
      ca = await createCa();
      const leaf = await ca.issue('h2', ['h2.test']);
      secure = createSecureServer({ cert: leaf.certPem, key: leaf.keyPem }, (req, res) =>
        res.end(`tls ${req.url}`),
      );
      securePort = await listen(secure);
    });
    after(() => secure.close());

    test('ALPN h2 with SNI, and the same frames', async () => {
      const c = await RawH2Connection.connect(securePort, {
        tls: { servername: 'h2.test', ca: ca.certPem },
      });
      assert.equal((c.socket as TLSSocket).alpnProtocol, 'h2');
      await c.request(1, '/x', { extra: [] });
      await c.nextFrame((f) => f.streamId === 1 && (f.flags & FLAG.END_STREAM) !== 0);
      assert.equal(c.body(1).toString(), 'tls /x');
      await c.close();
    });
  });
});
