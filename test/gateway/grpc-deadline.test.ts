// A gRPC call's deadline through the gateway: the upstream hears what
// remains of it, the gateway answers DEADLINE_EXCEEDED itself when it runs
// out first, and a call with a deadline is not cut by idleTimeout between
// its messages. The client here is a raw node:http2 one, so it enforces no
// deadline of its own and what it sees is the gateway's doing.
import assert from 'node:assert/strict';
import {
  createServer,
  type Http2Server,
  type Http2Session,
  connect as h2connect,
  type IncomingHttpHeaders,
  type ServerHttp2Stream,
} from 'node:http2';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { parseGrpcTimeout } from '../../src/gateway/grpc-timeout.ts';
import { startGateway, type TestGateway } from '../helpers/gateway.ts';
import { eventually } from '../helpers/wait.ts';

/** One length-prefixed gRPC message (uncompressed). */
function frame(payload: string): Buffer {
  const body = Buffer.from(payload);
  const out = Buffer.alloc(5 + body.length);
  out.writeUInt32BE(body.length, 1);
  body.copy(out, 5);
  return out;
}

interface RawUpstream {
  readonly url: string;
  /** The heads of the calls it got, in order. */
  readonly heads: IncomingHttpHeaders[];
  /** Calls whose stream closed before the upstream answered them. */
  readonly cancelled: string[];
  close(): Promise<void>;
}

/**
 * An h2c peer answering by its path: /t.S/Echo answers at once (status 0 in
 * the head), /t.S/Hang never answers, /t.S/Gaps sends two messages 300 ms
 * apart, then status 0 in trailers.
 */
async function startRawUpstream(): Promise<RawUpstream> {
  const heads: IncomingHttpHeaders[] = [];
  const cancelled: string[] = [];
  const sessions = new Set<Http2Session>();
  const server: Http2Server = createServer();
  server.on('session', (s) => {
    sessions.add(s);
    s.on('close', () => sessions.delete(s));
  });
  server.on('stream', (stream: ServerHttp2Stream, head) => {
    heads.push(head);
    const path = String(head[':path']);
    stream.resume();
    stream.on('close', () => {
      if (!stream.headersSent) cancelled.push(path);
    });
    if (path === '/t.S/Hang') return;
    if (path === '/t.S/Gaps') {
      stream.respond(
        { ':status': 200, 'content-type': 'application/grpc' },
        { waitForTrailers: true },
      );
      stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
      stream.write(frame('one'));
      setTimeout(() => {
        if (!stream.destroyed) stream.end(frame('two'));
      }, 300);
      return;
    }
    stream.respond(
      { ':status': 200, 'content-type': 'application/grpc', 'grpc-status': '0' },
      { endStream: true },
    );
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    heads,
    cancelled,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sessions) s.destroy();
        server.close(() => r());
      }),
  };
}

interface CallResult {
  head: IncomingHttpHeaders;
  trailers: IncomingHttpHeaders;
  messages: number;
  /** The stream was reset instead of ending (the error's code). */
  reset: string | undefined;
}

/** One gRPC call with raw frames and the given metadata. */
function call(base: string, path: string, metadata: Record<string, string>): Promise<CallResult> {
  return new Promise((resolve) => {
    const session = h2connect(base);
    session.on('error', () => {});
    const stream = session.request({
      ':method': 'POST',
      ':path': path,
      'content-type': 'application/grpc',
      te: 'trailers',
      ...metadata,
    });
    const result: CallResult = { head: {}, trailers: {}, messages: 0, reset: undefined };
    stream.on('response', (h) => {
      result.head = h;
    });
    stream.on('trailers', (t) => {
      result.trailers = t;
    });
    // Each test message fits one DATA frame.
    stream.on('data', () => {
      result.messages++;
    });
    stream.on('error', (e: NodeJS.ErrnoException) => {
      result.reset = e.code;
    });
    stream.on('close', () => {
      session.close();
      resolve(result);
    });
    stream.end(frame('q'));
  });
}

describe('grpc-timeout through the gateway', () => {
  let upstream: RawUpstream;
  let gateway: TestGateway;

  before(async () => {
    upstream = await startRawUpstream();
    gateway = await startGateway(`listen:
  - address: 127.0.0.1:0
admin: { listen: 127.0.0.1:0 }
state: memory
backends:
  raw: { url: ${upstream.url}, protocol: h2c }
routes:
  - name: raw
    match: { grpc: { service: t.S } }
    legacy: raw
    timeout: 10s
    idleTimeout: 100ms
`);
  });

  after(async () => {
    await gateway.close();
    await upstream.close();
  });

  it('the upstream hears what remains of the deadline, in milliseconds', async () => {
    const r = await call(gateway.url, '/t.S/Echo', { 'grpc-timeout': '5S' });
    assert.equal(r.head['grpc-status'], '0');
    const heard = String(upstream.heads.at(-1)!['grpc-timeout']);
    assert.match(heard, /^\d+m$/);
    const ms = parseGrpcTimeout(heard)!;
    assert.ok(ms > 0 && ms <= 5_000, `upstream heard ${heard}`);
  });

  it('a call without grpc-timeout reaches the upstream without one', async () => {
    await call(gateway.url, '/t.S/Echo', {});
    assert.equal(upstream.heads.at(-1)!['grpc-timeout'], undefined);
  });

  it('the deadline runs out before the answer: DEADLINE_EXCEEDED from the gateway, upstream call cancelled', async () => {
    const r = await call(gateway.url, '/t.S/Hang', { 'grpc-timeout': '200m' });
    assert.equal(r.head[':status'], 200);
    assert.equal(r.head['grpc-status'], '4');
    assert.equal(r.head['x-cutover-error'], 'CUTOVER_ERR_UPSTREAM_TIMEOUT');
    await eventually('the upstream call to be cancelled', () => upstream.cancelled.length > 0);
    assert.deepEqual(upstream.cancelled, ['/t.S/Hang']);
  });

  it('with a deadline, silences between messages longer than idleTimeout do not cut the call', async () => {
    const r = await call(gateway.url, '/t.S/Gaps', { 'grpc-timeout': '5S' });
    assert.equal(r.reset, undefined);
    assert.equal(r.messages, 2);
    assert.equal(r.trailers['grpc-status'], '0');
  });

  it('without a deadline, idleTimeout still bounds the silence: the call is cut', async () => {
    const r = await call(gateway.url, '/t.S/Gaps', {});
    assert.equal(r.messages, 1);
    assert.notEqual(r.reset, undefined, 'the stream was reset');
  });
});
