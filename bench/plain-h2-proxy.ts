// The floor of Node's own HTTP/2 proxying cost: node:http2 h2c in, every stream
// forwarded over ONE node:http2 session to UPSTREAM, bodies piped both ways, trailers
// passed through (gRPC needs them), pseudo and connection-specific headers dropped
// (RFC 9113 §8.2.2: `te` only as `trailers`), nothing else. Prints {"port":N} once listening.
import {
  type ClientHttp2Session,
  connect,
  constants,
  createServer,
  type IncomingHttpHeaders,
  type OutgoingHttpHeaders,
} from 'node:http2';

const UPSTREAM = process.env.UPSTREAM ?? 'http://127.0.0.1:3000';
const HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'upgrade',
]);
let session: ClientHttp2Session | undefined;

function upstream(): ClientHttp2Session {
  if (session && !session.closed && !session.destroyed) return session;
  const s = connect(UPSTREAM);
  s.on('error', () => {});
  s.on('close', () => {
    if (session === s) session = undefined;
  });
  session = s;
  return s;
}

/** End-to-end fields only; `keep` names the pseudo-header that stays (`:status`). */
function endToEnd(headers: IncomingHttpHeaders, keep?: string): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  for (const name in headers) {
    if ((name[0] === ':' && name !== keep) || HOP.has(name)) continue;
    if (name === 'te' && headers[name] !== 'trailers') continue;
    out[name] = headers[name];
  }
  return out;
}

const server = createServer();
server.on('stream', (stream, headers) => {
  const out = endToEnd(headers);
  out[':method'] = headers[':method'];
  out[':path'] = headers[':path'];
  const up = upstream().request(out, { endStream: stream.endAfterHeaders });
  if (!stream.endAfterHeaders) stream.pipe(up);
  let trailers: IncomingHttpHeaders | undefined;
  up.on('response', (h) => {
    if (stream.destroyed) return;
    stream.respond(endToEnd(h, ':status'), { waitForTrailers: true });
    up.pipe(stream);
  });
  up.on('trailers', (t) => {
    trailers = t;
  });
  // No trailers upstream: Node ends the stream with an empty DATA frame instead.
  stream.on('wantTrailers', () => stream.sendTrailers(trailers ? endToEnd(trailers) : {}));
  up.on('error', () => {
    if (!stream.headersSent && !stream.destroyed)
      stream.respond({ ':status': 502 }, { endStream: true });
    else stream.close(constants.NGHTTP2_INTERNAL_ERROR);
  });
  stream.on('error', () => {});
  // A stream the client reset before the answer ended cancels its upstream stream.
  stream.on('close', () => {
    if (!up.readableEnded) up.close(constants.NGHTTP2_CANCEL);
  });
});
server.setTimeout(0);
server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
  const address = server.address();
  if (address && typeof address === 'object')
    process.stdout.write(`${JSON.stringify({ port: address.port })}\n`);
});
process.on('SIGTERM', () => process.exit(0));
