import assert from 'node:assert/strict';
import { once } from 'node:events';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { after, before, test } from 'node:test';
import { WebSocket } from 'ws';
import {
  BIG_CHUNK_BYTES,
  CLOSE_EARLY_BYTES,
  parseBehavior,
  startUpstream,
  startWebSocketEcho,
  type Upstream,
} from './upstream.ts';

let up: Upstream;
before(async () => {
  up = await startUpstream({ name: 'legacy' });
});
after(() => up.close());

/** A raw node:http request, so tests can see resets and cut bodies as they happen. */
function rawRequest(
  url: string,
  options: { method?: string; headers?: Record<string, string> } = {},
): { req: ReturnType<typeof httpRequest>; response: Promise<IncomingMessage> } {
  const req = httpRequest(url, {
    method: options.method ?? 'GET',
    headers: options.headers,
    agent: false,
  });
  const response = new Promise<IncomingMessage>((resolve, reject) => {
    req.once('response', resolve);
    req.once('error', reject);
  });
  return { req, response };
}

async function readAll(res: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of res) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

test('ok answers with the name, method, path and received headers', async () => {
  const res = await fetch(`${up.url}/a/b?c=1`, { headers: { 'x-probe': 'yes' } });
  assert.equal(res.status, 200);
  const body = (await res.json()) as Record<string, unknown>;
  assert.equal(body.upstream, 'legacy');
  assert.equal(body.method, 'GET');
  assert.equal(body.path, '/a/b?c=1');
  assert.equal((body.headers as Record<string, string>)['x-probe'], 'yes');
  const rec = up.requests.at(-1)!;
  assert.equal(rec.url, '/a/b?c=1');
  assert.equal(rec.headers['x-probe'], 'yes');
});

test('records the request body size', async () => {
  const res = await fetch(`${up.url}/upload`, { method: 'POST', body: 'x'.repeat(1000) });
  const body = (await res.json()) as { bodyBytes: number };
  assert.equal(body.bodyBytes, 1000);
  const rec = up.requests.at(-1)!;
  assert.equal(rec.method, 'POST');
  assert.equal(rec.bodyBytes, 1000);
});

test('status:N answers that status with a JSON body', async () => {
  const res = await fetch(up.url, { headers: { 'x-test-behavior': 'status:503' } });
  assert.equal(res.status, 503);
  assert.deepEqual(await res.json(), { upstream: 'legacy', status: 503 });
  const empty = await fetch(up.url, { headers: { 'x-test-behavior': 'status:204' } });
  assert.equal(empty.status, 204);
  assert.equal(await empty.text(), '');
});

test('an unknown behaviour header is refused with 400', async () => {
  const res = await fetch(up.url, { headers: { 'x-test-behavior': 'explode' } });
  assert.equal(res.status, 400);
  assert.match(((await res.json()) as { error: string }).error, /explode/);
  assert.throws(() => up.setBehavior('nope' as 'ok'), TypeError);
  assert.equal(parseBehavior('status:42'), undefined);
  assert.equal(parseBehavior('big:10'), 'big:10');
});

test('setBehavior switches the whole server; the header still wins', async () => {
  up.setBehavior('status:418');
  try {
    assert.equal((await fetch(up.url)).status, 418);
    const ok = await fetch(up.url, { headers: { 'x-test-behavior': 'ok' } });
    assert.equal(ok.status, 200);
    await ok.body?.cancel();
  } finally {
    up.setBehavior('ok');
  }
  const back = await fetch(up.url);
  assert.equal(back.status, 200);
  await back.body?.cancel();
});

test('slow:MS answers like ok, later', async () => {
  const res = await fetch(up.url, { headers: { 'x-test-behavior': 'slow:30' } });
  assert.equal(res.status, 200);
  assert.equal(((await res.json()) as { upstream: string }).upstream, 'legacy');
});

test('slowBody:MS sends headers and a first chunk before the rest', async () => {
  const { req, response } = rawRequest(up.url, {
    headers: { 'x-test-behavior': 'slowBody:60000' },
  });
  req.end();
  const res = await response;
  assert.equal(res.statusCode, 200);
  const [first] = (await once(res, 'data')) as [Buffer];
  assert.equal(first.toString(), 'legacy:first\n');
  assert.equal(res.complete, false, 'the rest is held back');
  const rec = up.requests.at(-1)!;
  res.destroy();
  await rec.closed;
  assert.equal(rec.aborted, true);
});

test('slowBody:MS sends the rest after the pause', async () => {
  const res = await fetch(up.url, { headers: { 'x-test-behavior': 'slowBody:20' } });
  assert.equal(await res.text(), 'legacy:first\nlegacy:rest\n');
});

test('hang never answers, and the client giving up counts as aborted', async () => {
  const before = up.aborted;
  const controller = new AbortController();
  const answer = fetch(up.url, {
    headers: { 'x-test-behavior': 'hang' },
    signal: controller.signal,
  });
  // Drain requests recorded by earlier tests, then wait for ours.
  let rec = await up.nextRequest();
  while (rec.behavior !== 'hang') rec = await up.nextRequest();
  assert.equal(rec.aborted, false);
  controller.abort();
  await assert.rejects(answer, { name: 'AbortError' });
  await rec.closed;
  assert.equal(rec.aborted, true);
  assert.equal(up.aborted, before + 1);
});

test('a completed request is not counted as aborted', async () => {
  const res = await fetch(up.url);
  await res.text();
  const rec = up.requests.at(-1)!;
  await rec.closed;
  assert.equal(rec.aborted, false);
});

test('reset destroys the connection without an answer', async () => {
  const before = up.aborted;
  await assert.rejects(fetch(up.url, { headers: { 'x-test-behavior': 'reset' } }), TypeError);
  const { req, response } = rawRequest(up.url, { headers: { 'x-test-behavior': 'reset' } });
  req.end();
  await assert.rejects(response, /socket hang up|ECONNRESET/);
  assert.equal(up.aborted, before, 'our own reset is not a client abort');
});

test('close-early sends headers and part of the body, then cuts the connection', async () => {
  const { req, response } = rawRequest(up.url, { headers: { 'x-test-behavior': 'close-early' } });
  req.end();
  const res = await response;
  assert.equal(res.statusCode, 200);
  assert.equal(res.headers['content-length'], String(CLOSE_EARLY_BYTES));
  let received = 0;
  res.on('data', (chunk: Buffer) => {
    received += chunk.length;
  });
  await assert.rejects(once(res, 'end'), /aborted|ECONNRESET/);
  assert.ok(received > 0 && received < CLOSE_EARLY_BYTES, `received ${received} bytes`);
});

test('echo streams the request body back while it is still being sent', async () => {
  const { req, response } = rawRequest(`${up.url}/echo`, {
    method: 'POST',
    headers: { 'x-test-behavior': 'echo', 'content-type': 'text/plain' },
  });
  req.write('first;');
  const res = await response;
  assert.equal(res.headers['content-type'], 'text/plain');
  // The first piece comes back before the request body is finished.
  const [first] = (await once(res, 'data')) as [Buffer];
  assert.equal(first.toString(), 'first;');
  req.end('second');
  assert.equal((await readAll(res)).toString(), 'second');
  const rec = up.requests.at(-1)!;
  await rec.closed;
  assert.equal(rec.bodyBytes, 'first;second'.length);
});

test('echo returns a large body byte for byte', async () => {
  const body = Buffer.alloc(3 * 1024 * 1024, 7);
  const res = await fetch(up.url, {
    method: 'PUT',
    headers: { 'x-test-behavior': 'echo' },
    body,
  });
  assert.equal(res.headers.get('content-length'), String(body.length));
  const back = Buffer.from(await res.arrayBuffer());
  assert.equal(back.length, body.length);
  assert.ok(back.equals(body));
});

test('big:BYTES streams exactly that many bytes in the documented pattern', async () => {
  const total = 5 * BIG_CHUNK_BYTES + 123;
  const res = await fetch(up.url, { headers: { 'x-test-behavior': `big:${total}` } });
  assert.equal(res.headers.get('content-length'), String(total));
  const body = Buffer.from(await res.arrayBuffer());
  assert.equal(body.length, total);
  assert.equal(body[0], 0);
  assert.equal(body[BIG_CHUNK_BYTES + 300], 300 & 0xff);
  assert.equal(body[total - 1], (total - 1) & 0xff);
});

test('big:BYTES waits for a slow reader instead of buffering', async () => {
  const total = 256 * BIG_CHUNK_BYTES; // 16 MiB, more than loopback socket buffers hold
  const { req, response } = rawRequest(up.url, { headers: { 'x-test-behavior': `big:${total}` } });
  req.end();
  const res = await response;
  res.pause();
  const rec = up.requests.at(-1)!;
  await new Promise((resolve) => setImmediate(resolve));
  const body = await readAll(res);
  assert.equal(body.length, total);
  await rec.closed;
  assert.equal(rec.aborted, false);
  // Ignoring backpressure would leave most of the 16 MiB waiting in the server's buffer.
  assert.ok(rec.peakBuffered <= 2 * BIG_CHUNK_BYTES, `peak buffered ${rec.peakBuffered} bytes`);
});

test('nextRequest hands out each request once, in order', async () => {
  const fresh = await startUpstream({ name: 'fresh' });
  try {
    const waiting = fresh.nextRequest();
    await (await fetch(`${fresh.url}/one`)).text();
    await (await fetch(`${fresh.url}/two`)).text();
    assert.equal((await waiting).url, '/one');
    assert.equal((await fresh.nextRequest()).url, '/two');
    assert.equal(fresh.requests.length, 2);
  } finally {
    await fresh.close();
  }
});

test('close() ends hanging requests and frees the port', async () => {
  const server = await startUpstream({ behavior: 'hang' });
  const answer = fetch(server.url);
  const rec = await server.nextRequest();
  await server.close();
  await assert.rejects(answer, TypeError);
  await rec.closed;
  assert.equal(rec.aborted, false, 'close() is not a client abort');
  await assert.rejects(fetch(server.url), TypeError);
});

test('counts TCP connections', async () => {
  const server = await startUpstream();
  try {
    for (let i = 0; i < 3; i++) {
      const { req, response } = rawRequest(server.url);
      req.end();
      await readAll(await response);
    }
    assert.equal(server.connections, 3);
  } finally {
    await server.close();
  }
});

test('startWebSocketEcho answers each message prefixed by its name', async () => {
  const echo = await startWebSocketEcho('rewrite');
  try {
    assert.match(echo.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    const ws = new WebSocket(`${echo.url.replace('http', 'ws')}/socket`, {
      headers: { 'x-probe': 'ws' },
    });
    await once(ws, 'open');
    ws.send('hello');
    const [text, textIsBinary] = (await once(ws, 'message')) as [Buffer, boolean];
    assert.equal(text.toString(), 'rewrite:hello');
    assert.equal(textIsBinary, false);
    ws.send(Buffer.from([1, 2, 3]));
    const [bin, binIsBinary] = (await once(ws, 'message')) as [Buffer, boolean];
    assert.equal(binIsBinary, true);
    assert.deepEqual([...bin], [...Buffer.from('rewrite:'), 1, 2, 3]);
    assert.equal(echo.upgrades[0].url, '/socket');
    assert.equal(echo.upgrades[0].headers['x-probe'], 'ws');
    const plain = await fetch(echo.url);
    assert.equal(plain.status, 426);
    await plain.text();
    const closed = once(ws, 'close');
    await echo.close();
    await closed;
  } finally {
    await echo.close();
  }
});
