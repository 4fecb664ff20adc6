// The rollback benchmark's candidate: the same small JSON body as bench/upstream.ts
// until told to fail, then 500 on every path (health probes included, as a broken
// rewrite would) until told to recover. Run as its own process beside the load
// generator; prints {"port":N} on stdout once listening.
//   POST /__fault/on   every request but these two answers 500
//   POST /__fault/off  back to 200
import { createServer } from 'node:http';

const OK_BODY = Buffer.from(
  JSON.stringify({ ok: true, service: 'bench-candidate', items: [1, 2, 3, 4, 5] }),
);
const FAIL_BODY = Buffer.from(JSON.stringify({ ok: false, error: 'injected fault' }));
const json = (body: Buffer) => ({
  'content-type': 'application/json',
  'content-length': String(body.length),
});
const OK_HEADERS = json(OK_BODY);
const FAIL_HEADERS = json(FAIL_BODY);

let failing = false;

const server = createServer((req, res) => {
  // Drain any request body so the connection can be reused.
  req.resume();
  if (req.url === '/__fault/on' || req.url === '/__fault/off') {
    if (req.method !== 'POST') {
      res.writeHead(405, { allow: 'POST' }).end();
      return;
    }
    failing = req.url === '/__fault/on';
    res.writeHead(204).end();
    return;
  }
  if (failing) res.writeHead(500, FAIL_HEADERS).end(FAIL_BODY);
  else res.writeHead(200, OK_HEADERS).end(OK_BODY);
});
// The gateway keeps its pooled connections across trials.
server.keepAliveTimeout = 120_000;
server.headersTimeout = 125_000;

server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
  const address = server.address();
  if (address && typeof address === 'object') {
    process.stdout.write(`${JSON.stringify({ port: address.port })}\n`);
  }
});

process.on('SIGTERM', () => server.close(() => process.exit(0)));
