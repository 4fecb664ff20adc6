// The benchmark's upstream: a fixed ~100-byte JSON body on every path, keep-alive.
// Run as its own process (pinned beside the load generator) so that its CPU time
// can be read apart from the proxy's. Prints {"port":N} on stdout once listening.
import { createServer } from 'node:http';

const BODY = Buffer.from(
  JSON.stringify({
    ok: true,
    service: 'bench-upstream',
    items: [1, 2, 3, 4, 5],
    message: 'a small fixed body for proxy benchmarks',
  }),
);
const HEADERS = {
  'content-type': 'application/json',
  'content-length': String(BODY.length),
};

const server = createServer((req, res) => {
  // Drain any request body so the connection can be reused.
  req.resume();
  res.writeHead(200, HEADERS);
  res.end(BODY);
});
// Proxies sit idle between rounds of other cases; keep their pooled connections.
server.keepAliveTimeout = 120_000;
server.headersTimeout = 125_000;

const port = Number(process.env.PORT ?? 0);
server.listen(port, '127.0.0.1', () => {
  const address = server.address();
  if (address && typeof address === 'object') {
    process.stdout.write(`${JSON.stringify({ port: address.port })}\n`);
  }
});

process.on('SIGTERM', () => server.close(() => process.exit(0)));
