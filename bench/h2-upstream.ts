// The HTTP/2 benchmark's upstream (bench/h2.ts): node:http2 over cleartext with prior
// knowledge (h2c), the same ~100-byte JSON body as bench/upstream.ts on every path.
// Run as its own process beside the load generator so its CPU time reads apart from
// the proxy's. Prints {"port":N} on stdout once listening.
import { createServer } from 'node:http2';

const BODY = Buffer.from(
  JSON.stringify({
    ok: true,
    service: 'bench-upstream',
    items: [1, 2, 3, 4, 5],
    message: 'a small fixed body for proxy benchmarks',
  }),
);
const HEADERS = {
  ':status': 200,
  'content-type': 'application/json',
  'content-length': String(BODY.length),
};

const server = createServer();
server.on('stream', (stream) => {
  // Drain any request body so flow control keeps the session's window open.
  stream.resume();
  stream.respond(HEADERS);
  stream.end(BODY);
});
// The proxies keep one session open across the rounds of other cases.
server.setTimeout(0);

server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
  const address = server.address();
  if (address && typeof address === 'object')
    process.stdout.write(`${JSON.stringify({ port: address.port })}\n`);
});
process.on('SIGTERM', () => process.exit(0));
