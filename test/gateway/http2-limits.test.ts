// `server.http2` applied to a node:http2 server: what a client is told
// (SETTINGS), what a client past a limit gets (RST_STREAM, GOAWAY, a closed
// connection), that floods end the attacker's session and nobody else's, and
// that only idle sessions are closed.
import assert from 'node:assert/strict';
import {
  connect,
  createServer,
  type Http2Server,
  type ServerHttp2Session,
  type Settings,
} from 'node:http2';
import { after, before, describe, test } from 'node:test';
import type { Http2Limits } from '../../src/config/index.ts';
import { closeWhenIdle, http2ServerOptions } from '../../src/gateway/http2-limits.ts';
import {
  continuationFlood,
  decodeRstStream,
  encodeHeaderBlock,
  FRAME,
  H2_ERROR,
  headersFrame,
  RawH2Connection,
  rapidReset,
  requestFields,
} from '../helpers/h2-frames.ts';

const LIMITS: Http2Limits = {
  maxConcurrentStreams: 10,
  maxHeaderListBytes: 4096,
  maxSessionMemoryMB: 10,
  idleTimeout: 0,
  streamResetBurst: 50,
  streamResetRate: 1,
};

interface TestServer {
  readonly port: number;
  readonly server: Http2Server;
  /** Requests the handler was given. */
  readonly requests: () => number;
  close(): void;
}

async function startServer(limits: Http2Limits): Promise<TestServer> {
  let requests = 0;
  const sessions = new Set<ServerHttp2Session>();
  const server = createServer(http2ServerOptions(limits), (req, res) => {
    requests++;
    if (req.url === '/hold') return; // never answered: keeps its stream open
    res.end('ok');
  });
  server.on('session', (s: ServerHttp2Session) => {
    sessions.add(s);
    s.once('close', () => sessions.delete(s));
    closeWhenIdle(s, limits.idleTimeout);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as { port: number }).port,
    server,
    requests: () => requests,
    close: () => {
      for (const s of sessions) s.destroy();
      server.close();
    },
  };
}

/** One GET with node's own client on a new session: the server still serves. */
async function get(port: number, path = '/'): Promise<string> {
  const session = connect(`http://127.0.0.1:${port}`);
  try {
    return await new Promise<string>((resolve, reject) => {
      const req = session.request({ ':path': path });
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (d: string) => {
        body += d;
      });
      req.on('end', () => resolve(body));
      req.on('error', reject);
    });
  } finally {
    session.close();
  }
}

/** A raw connection whose SETTINGS exchange is done, so our limits are in force for it. */
async function settled(port: number): Promise<RawH2Connection> {
  const c = await RawH2Connection.connect(port);
  await c.settled();
  return c;
}

describe('HTTP/2 server limits', () => {
  let s: TestServer;
  before(async () => {
    s = await startServer(LIMITS);
  });
  after(() => s.close());

  test('the client is told the stream and header limits in SETTINGS', async () => {
    const session = connect(`http://127.0.0.1:${s.port}`);
    const settings = await new Promise<Settings>((resolve) =>
      session.once('remoteSettings', resolve),
    );
    session.close();
    assert.equal(settings.maxConcurrentStreams, 10);
    assert.equal(settings.maxHeaderListSize, 4096);
  });

  test('a header list over maxHeaderListBytes resets the stream (ENHANCE_YOUR_CALM), not the session', async () => {
    const c = await settled(s.port);
    const before = s.requests();
    await c.request(1, '/', { extra: [['x-big', 'a'.repeat(5000)]] });
    const reset = await c.nextFrame((f) => f.type === FRAME.RST_STREAM && f.streamId === 1);
    assert.equal(decodeRstStream(reset), H2_ERROR.ENHANCE_YOUR_CALM);
    await c.request(3, '/');
    await c.nextFrame((f) => f.streamId === 3 && f.type === FRAME.DATA);
    assert.equal(c.body(3).toString(), 'ok');
    assert.equal(s.requests(), before + 1, 'the refused request never reached the handler');
    await c.close();
  });

  test('more streams than maxConcurrentStreams end the session with PROTOCOL_ERROR', async () => {
    const c = await settled(s.port);
    const block = encodeHeaderBlock(requestFields('/hold'));
    const frames: Buffer[] = [];
    for (let id = 1; id <= 2 * 11 - 1; id += 2) frames.push(headersFrame(id, block));
    await c.write(...frames);
    const goaway = await c.goaway();
    assert.equal(goaway?.errorCode, H2_ERROR.PROTOCOL_ERROR);
    await c.closed;
    assert.equal(await get(s.port), 'ok');
  });

  test('rapid reset (CVE-2023-44487): the session ends once the reset burst is spent; others are served', async () => {
    const c = await RawH2Connection.connect(s.port);
    const sent = await rapidReset(c, 5000);
    const ending = await c.ending();
    assert.ok(sent < 5000, `the session took all ${sent} resets`);
    // 50 resets in the burst, and a few more from the 1/s refill, far below the 5000 offered.
    if (ending !== 'reset') {
      assert.notEqual(ending.errorCode, H2_ERROR.NO_ERROR);
      assert.ok(ending.lastStreamId <= 2 * 60 + 1, `last stream ${ending.lastStreamId}`);
    }
    assert.equal(await get(s.port), 'ok');
  });

  test('CONTINUATION flood (CVE-2024-27316 class): the session ends without END_HEADERS ever coming', async () => {
    const c = await RawH2Connection.connect(s.port);
    const before = s.requests();
    await continuationFlood(c);
    const ending = await c.ending();
    if (ending !== 'reset') assert.notEqual(ending.errorCode, H2_ERROR.NO_ERROR);
    assert.equal(s.requests(), before, 'the never-ending request never reached the handler');
    assert.equal(await get(s.port), 'ok');
  });
});

describe('HTTP/2 idle sessions', () => {
  let s: TestServer;
  before(async () => {
    s = await startServer({ ...LIMITS, idleTimeout: 200 });
  });
  after(() => s.close());

  test('a session without streams is closed with GOAWAY NO_ERROR after idleTimeout', async () => {
    const session = connect(`http://127.0.0.1:${s.port}`);
    const goaway = new Promise<number>((resolve) => session.once('goaway', resolve));
    await new Promise<void>((resolve, reject) => {
      const req = session.request({ ':path': '/' });
      req.resume();
      req.on('end', resolve);
      req.on('error', reject);
    });
    assert.equal(await goaway, H2_ERROR.NO_ERROR);
    await new Promise<void>((resolve) => session.once('close', resolve));
  });

  test('a session with a stream open past idleTimeout is not closed', async () => {
    const timedOut = new Promise<void>((resolve) =>
      s.server.once('session', (session: ServerHttp2Session) => session.once('timeout', resolve)),
    );
    const session = connect(`http://127.0.0.1:${s.port}`);
    let goaway = false;
    session.on('goaway', () => {
      goaway = true;
    });
    const held = session.request({ ':path': '/hold' });
    held.on('error', () => {});
    await timedOut;
    // The timer fired with the stream open: the session must still take new streams.
    const body = await new Promise<string>((resolve, reject) => {
      const req = session.request({ ':path': '/' });
      let text = '';
      req.setEncoding('utf8');
      req.on('data', (d: string) => {
        text += d;
      });
      req.on('end', () => resolve(text));
      req.on('error', reject);
    });
    assert.equal(body, 'ok');
    assert.equal(goaway, false);
    held.close();
    session.destroy();
  });
});
