// Bytes that do not parse inside a request's own body (bytes after complete
// requests are in test/security/pipelining.test.ts): that request can never
// be whole, so it is cut at once, upstream too, instead of waiting for an
// answer to a body that will never finish.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect } from 'node:net';
import { test } from 'node:test';
import { startGateway, twoBackendYaml } from '../helpers/gateway.ts';
import { parseResponses } from '../helpers/raw-exchange.ts';
import { startUpstream } from '../helpers/upstream.ts';

test('a buffered chunked body that stops parsing: 400, connection closed, nothing sent upstream', {
  timeout: 30_000,
}, async (t) => {
  const legacy = await startUpstream({ name: 'legacy', behavior: 'hang' });
  const gw = await startGateway(twoBackendYaml(legacy.url, legacy.url));
  t.after(async () => {
    await gw.close();
    await legacy.close();
  });
  const { hostname, port } = new URL(gw.url);
  const socket = connect(Number(port), hostname);
  t.after(() => socket.destroy());
  const chunks: Buffer[] = [];
  socket.on('data', (chunk: Buffer) => chunks.push(chunk));
  const ended = once(socket, 'end');
  // A small body is read whole before the backend is contacted (server.requestBuffer).
  socket.write(
    'POST /upload HTTP/1.1\r\nHost: a.example\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n',
  );
  socket.write('zz\r\n');
  await ended;
  assert.deepEqual(
    parseResponses(Buffer.concat(chunks)).map((r) => r.status),
    [400],
  );
  assert.equal(legacy.requests.length, 0);
});

test('a streamed chunked body that stops parsing: 400, connection closed, the upstream request cancelled', {
  timeout: 30_000,
}, async (t) => {
  const legacy = await startUpstream({ name: 'legacy', behavior: 'hang' });
  // requestBuffer 0: the body streams to the backend as it arrives.
  const gw = await startGateway(
    twoBackendYaml(legacy.url, legacy.url, { top: 'server: { requestBuffer: 0 }' }),
  );
  t.after(async () => {
    await gw.close();
    await legacy.close();
  });
  const { hostname, port } = new URL(gw.url);
  const socket = connect(Number(port), hostname);
  t.after(() => socket.destroy());
  const chunks: Buffer[] = [];
  socket.on('data', (chunk: Buffer) => chunks.push(chunk));
  const ended = once(socket, 'end');
  socket.write(
    'POST /upload HTTP/1.1\r\nHost: a.example\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n',
  );
  const upstream = await legacy.nextRequest();
  // The body is on its way upstream; the next chunk size does not parse.
  socket.write('zz\r\n');
  await ended;
  await upstream.closed;
  assert.equal(upstream.aborted, true);
  assert.deepEqual(
    parseResponses(Buffer.concat(chunks)).map((r) => r.status),
    [400],
  );
});
