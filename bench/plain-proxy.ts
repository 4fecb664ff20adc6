// The floor of Node's own proxying overhead: node:http in, an undici Pool out, bodies
// streamed both ways, hop-by-hop headers dropped (RFC 9110 §7.6.1), nothing else.
// UPSTREAM=http://host:port; prints {"port":N} on stdout once listening.
import { createServer, type IncomingHttpHeaders } from 'node:http';
import { Pool } from 'undici';

const HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'te',
  'trailer',
  'upgrade',
  'host',
]);
const pool = new Pool(process.env.UPSTREAM ?? 'http://127.0.0.1:3000', { connections: 128 });

function endToEnd(headers: IncomingHttpHeaders): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const name in headers) {
    const value = headers[name];
    if (value !== undefined && !HOP.has(name)) out[name] = value;
  }
  return out;
}

const server = createServer((req, res) => {
  const method = req.method ?? 'GET';
  const body = method === 'GET' || method === 'HEAD' ? null : req;
  pool.stream(
    { path: req.url ?? '/', method, headers: endToEnd(req.headers), body },
    ({ statusCode, headers }) => {
      res.writeHead(statusCode, endToEnd(headers));
      return res;
    },
    (err) => {
      if (err && !res.headersSent) res.writeHead(502).end();
      else if (err) res.destroy(err);
    },
  );
});
server.keepAliveTimeout = 120_000;
server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
  const address = server.address();
  if (address && typeof address === 'object')
    process.stdout.write(`${JSON.stringify({ port: address.port })}\n`);
});
process.on('SIGTERM', () => process.exit(0));
