// The h2c upstream of bench/h2-client-micro.ts and the request shapes sent to
// it. The server uses node:http2's stream API (cheaper than the compat API),
// so most of the client process's work is the client's.
import { createServer, type ServerHttp2Stream } from 'node:http2';
import type { AddressInfo } from 'node:net';

export interface RequestShape {
  readonly method: string;
  readonly path: string;
  /** Flat [name, value, …] in the form the gateway hands undici (forward-request.ts). */
  readonly headers: readonly string[];
  /** Sent as a stream body (the gateway streams gRPC bodies, intake.ts streamOnly); null: none. */
  readonly body: Buffer | null;
}

/** A gRPC length-prefixed message: 1 byte compressed flag, 4 bytes length, the bytes. */
function grpcFrame(payload: Buffer): Buffer {
  const head = Buffer.alloc(5);
  head.writeUInt32BE(payload.length, 1);
  return Buffer.concat([head, payload]);
}

const proxyHeaders = [
  'host',
  '127.0.0.1',
  'user-agent',
  'bench/1',
  'x-request-id',
  '0b9d3c1e-5a7f-4e2b-9c1d-2f3e4a5b6c7d',
  'x-forwarded-for',
  '127.0.0.1',
  'x-forwarded-proto',
  'http',
  'x-user-id',
  'u42',
];

export const SHAPES = {
  get: { method: 'GET', path: '/api/items/42', headers: proxyHeaders, body: null },
  grpc: {
    method: 'POST',
    path: '/shop.v1.Orders/Get',
    headers: [...proxyHeaders, 'content-type', 'application/grpc', 'te', 'trailers'],
    body: grpcFrame(Buffer.alloc(20, 0x61)),
  },
} satisfies Record<string, RequestShape>;
export type Shape = keyof typeof SHAPES;

const JSON_BODY = Buffer.from(
  JSON.stringify({
    id: 42,
    name: 'bench item',
    tags: ['a', 'b', 'c'],
    price: 1999,
    ok: true,
  }).padEnd(110, ' '),
);
const GRPC_BODY = grpcFrame(Buffer.alloc(30, 0x62));

function answer(stream: ServerHttp2Stream, grpc: boolean): void {
  if (grpc) {
    stream.respond(
      { ':status': 200, 'content-type': 'application/grpc' },
      { waitForTrailers: true },
    );
    stream.once('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
    stream.end(GRPC_BODY);
  } else {
    stream.respond({
      ':status': 200,
      'content-type': 'application/json',
      'content-length': JSON_BODY.length,
    });
    stream.end(JSON_BODY);
  }
}

/** Listens on 127.0.0.1:0; answers when the request body has ended. */
export async function startH2Upstream(): Promise<number> {
  const server = createServer({ settings: { maxConcurrentStreams: 1000 } });
  server.on('stream', (stream, headers) => {
    const grpc = headers['content-type'] === 'application/grpc';
    stream.on('error', () => {});
    if (stream.readableEnded || headers[':method'] === 'GET') {
      stream.resume();
      answer(stream, grpc);
      return;
    }
    stream.on('data', () => {});
    stream.on('end', () => answer(stream, grpc));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return (server.address() as AddressInfo).port;
}
