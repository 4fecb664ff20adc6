// The reference Node gateway: fastify with @fastify/http-proxy (undici underneath),
// default options, logging off. UPSTREAM=http://host:port; prints {"port":N} on stdout.
import httpProxy from '@fastify/http-proxy';
import Fastify from 'fastify';

const app = Fastify({ logger: false, keepAliveTimeout: 120_000 });
await app.register(httpProxy, { upstream: process.env.UPSTREAM ?? 'http://127.0.0.1:3000' });
await app.listen({ host: '127.0.0.1', port: Number(process.env.PORT ?? 0) });
const address = app.server.address();
if (address && typeof address === 'object') {
  process.stdout.write(`${JSON.stringify({ port: address.port })}\n`);
}
process.on('SIGTERM', () => process.exit(0));
