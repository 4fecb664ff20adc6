// The upstream HTTP/2 clients bench/h2-client-micro.ts compares, each behind
// the same small interface:
// - `undici`: undici's h2 client exactly as the gateway builds it
//   (UpstreamPool + UpstreamClient, a dispatch handler shaped like
//   ProxyExchange): a stream body goes to undici as a ReplayableBody;
// - `undici-stream`: the same Pool options with the stream body handed to
//   undici as is (what the gateway did before issue 12's pool work);
// - `node-http2`: the least a hand-written node:http2 client must do per
//   request (headers from the flat list, :authority, a stream, status, body
//   chunks, trailers, errors) — no pooling, timeouts or replays.
import {
  type ClientHttp2Session,
  type ClientHttp2Stream,
  connect,
  type IncomingHttpHeaders,
  type OutgoingHttpHeaders,
} from 'node:http2';
import { PassThrough } from 'node:stream';
import { type Dispatcher, Pool } from 'undici';
import { upstreamClientFactory } from '../../src/gateway/upstream-client.ts';
import { UpstreamPool } from '../../src/gateway/upstream-pool.ts';
import type { RequestShape } from './h2-upstream.ts';

export const clientCases = ['undici', 'undici-stream', 'node-http2'] as const;
export type ClientCase = (typeof clientCases)[number];

type Done = (err?: Error) => void;

export interface BenchClient {
  request(shape: RequestShape, done: Done): void;
  close(): Promise<void>;
}

/**
 * The gateway hands undici the client's request stream, not a buffer
 * (BODY=buffer sends a Buffer instead, to see what the stream costs).
 */
const BODY_AS_BUFFER = process.env.BODY === 'buffer';
function bodyStream(body: Buffer): PassThrough | Buffer {
  if (BODY_AS_BUFFER) return body;
  const stream = new PassThrough();
  stream.end(body);
  return stream;
}

/** What ProxyExchange does with an answer, minus writing it to a client. */
class Handler implements Dispatcher.DispatchHandler {
  readonly #done: Done;
  status: number;
  bytes: number;
  trailers: Record<string, string | string[] | undefined> | undefined;

  constructor(done: Done) {
    this.#done = done;
    this.status = 0;
    this.bytes = 0;
    this.trailers = undefined;
  }

  onRequestStart(): void {}

  onResponseStart(_c: Dispatcher.DispatchController, statusCode: number): void {
    this.status = statusCode;
  }

  onResponseData(_c: Dispatcher.DispatchController, chunk: Buffer): void {
    this.bytes += chunk.length;
  }

  onResponseEnd(
    _c: Dispatcher.DispatchController,
    trailers: Record<string, string | string[] | undefined>,
  ): void {
    this.trailers = trailers;
    this.#done(this.status === 200 ? undefined : new Error(`status ${this.status}`));
  }

  onResponseError(_c: Dispatcher.DispatchController, error: Error): void {
    this.#done(error);
  }
}

/** STREAMS_PER_SESSION=N retires undici's session after N streams (maxStreamsPerSession). */
const STREAMS_PER_SESSION = Number(process.env.STREAMS_PER_SESSION ?? 0);

function undiciClient(origin: string, streams: number, wrapBodies: boolean): BenchClient {
  // src/gateway/backends.ts poolOptions for `protocol: h2c`, `connections: 1`.
  const options: Pool.Options = {
    connections: 1,
    headersTimeout: 0,
    bodyTimeout: 0,
    ...(STREAMS_PER_SESSION > 0 && { clientTtl: Number.MAX_SAFE_INTEGER }),
    factory: upstreamClientFactory({
      concurrentStreams: streams,
      streamsPerSession: STREAMS_PER_SESSION,
    }),
    connect: { useH2c: true } as Pool.Options['connect'],
    allowH2: true,
    h2Options: { useH2c: true, maxConcurrentStreams: streams },
    pipelining: 1,
  };
  const pool = wrapBodies
    ? new UpstreamPool(origin, options, 64 * 1024)
    : new Pool(origin, options);
  return {
    request(shape, done) {
      pool.dispatch(
        {
          path: shape.path,
          method: shape.method as 'GET',
          headers: [...shape.headers],
          body: shape.body === null ? null : bodyStream(shape.body),
          idempotent: false,
          blocking: false,
        },
        new Handler(done),
      );
    },
    close: () => pool.close(),
  };
}

/** An HTTP/2 header object from the flat list: host becomes :authority, repeats joined. */
function h2Headers(shape: RequestShape, authority: string): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {
    ':method': shape.method,
    ':path': shape.path,
    ':scheme': 'http',
    ':authority': authority,
  };
  const list = shape.headers;
  for (let i = 0; i < list.length; i += 2) {
    const name = list[i];
    if (name === 'host') continue;
    const prev = out[name];
    out[name] = prev === undefined ? list[i + 1] : `${prev}, ${list[i + 1]}`;
  }
  return out;
}

/** Per-request state of the node:http2 client, one listener set per stream. */
class StreamExchange {
  readonly #done: Done;
  status: number;
  bytes: number;
  trailers: IncomingHttpHeaders | undefined;

  constructor(stream: ClientHttp2Stream, done: Done) {
    this.#done = done;
    this.status = 0;
    this.bytes = 0;
    this.trailers = undefined;
    stream.on('response', (headers) => {
      this.status = Number(headers[':status']);
    });
    stream.on('data', (chunk: Buffer) => {
      this.bytes += chunk.length;
    });
    stream.on('trailers', (trailers) => {
      this.trailers = trailers;
    });
    stream.on('end', () => this.#done(this.status === 200 ? undefined : new Error('status')));
    stream.on('error', (err) => this.#done(err));
  }
}

function nodeHttp2Client(origin: string, streams: number): BenchClient {
  const authority = new URL(origin).host;
  let session: ClientHttp2Session | undefined;
  const sessionNow = (): ClientHttp2Session => {
    if (session === undefined || session.closed || session.destroyed) {
      session = connect(origin, { peerMaxConcurrentStreams: streams });
      session.on('error', () => {});
    }
    return session;
  };
  return {
    request(shape, done) {
      const stream = sessionNow().request(h2Headers(shape, authority), {
        endStream: shape.body === null,
      });
      new StreamExchange(stream, done);
      if (shape.body === null) return;
      const body = bodyStream(shape.body);
      if (Buffer.isBuffer(body)) stream.end(body);
      else body.pipe(stream);
    },
    close: () =>
      new Promise<void>((resolve) => {
        if (session === undefined) resolve();
        else session.close(() => resolve());
      }),
  };
}

export async function startClient(which: ClientCase, port: number): Promise<BenchClient> {
  const origin = `http://127.0.0.1:${port}`;
  if (which === 'node-http2') return nodeHttp2Client(origin, 100);
  return undiciClient(origin, 100, which === 'undici');
}
