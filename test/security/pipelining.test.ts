// Issue 9: bytes that do not parse, after complete requests on one connection.
// The requests before them are answered whole and in order, the 400 comes
// after the last answer (never inside one), then the connection closes.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type ServerResponse } from 'node:http';
import { type AddressInfo, connect } from 'node:net';
import { describe, test } from 'node:test';
import { startGateway, twoBackendYaml } from '../helpers/gateway.ts';
import { metricValue, scrapeMetrics } from '../helpers/metrics.ts';
import { parseResponses, rawExchange } from '../helpers/raw-exchange.ts';
import { startUpstream } from '../helpers/upstream.ts';
import { eventually } from '../helpers/wait.ts';

const GARBAGE = '\x01\x02 NOT HTTP\r\n\r\n';

/** An upstream whose chunked answer is held open after its first chunk until `finish()`. */
async function heldUpstream() {
  const held: ServerResponse[] = [];
  const server = createServer((req, res) => {
    req.resume();
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.write('first chunk;');
    held.push(res);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    held,
    finish(): void {
      for (const res of held) res.end('second chunk;last chunk');
    },
    close(): Promise<void> {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

describe('security: pipelined garbage', () => {
  test('after two requests: both answered whole and in order, then the 400, then close', async (t) => {
    const legacy = await startUpstream({ name: 'legacy' });
    const gw = await startGateway(twoBackendYaml(legacy.url, legacy.url));
    t.after(async () => {
      await gw.close();
      await legacy.close();
    });
    const request = (path: string) => `GET ${path} HTTP/1.1\r\nHost: a.example\r\n\r\n`;
    const raw = await rawExchange(gw.url, request('/one') + request('/two') + GARBAGE);
    const answers = parseResponses(raw);
    assert.deepEqual(
      answers.map((a) => a.status),
      [200, 200, 400],
    );
    assert.equal(JSON.parse(answers[0].body.toString()).path, '/one');
    assert.equal(JSON.parse(answers[1].body.toString()).path, '/two');
    assert.equal(JSON.parse(answers[2].body.toString()).code, 'CUTOVER_ERR_BAD_REQUEST');
    assert.deepEqual(
      legacy.requests.map((r) => r.url),
      ['/one', '/two'],
    );
  });

  test('garbage arriving while a chunked answer streams: the answer completes uncorrupted, then the 400', async (t) => {
    const up = await heldUpstream();
    const gw = await startGateway(twoBackendYaml(up.url, up.url));
    t.after(async () => {
      await gw.close();
      await up.close();
    });
    const { hostname, port } = new URL(gw.url);
    const socket = connect(Number(port), hostname);
    t.after(() => socket.destroy());
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    const ended = once(socket, 'end');
    socket.write('GET /stream HTTP/1.1\r\nHost: a.example\r\n\r\n');
    // The answer is on its way to the client: its head and first chunk have arrived.
    await eventually('the first chunk reaches the client', () =>
      Buffer.concat(chunks).includes('first chunk;'),
    );
    socket.write(GARBAGE);
    // The garbage was read (the gateway counts the 400) before the answer is let go.
    await eventually(
      'the gateway saw the garbage',
      async () =>
        metricValue(await scrapeMetrics(gw), 'cutover_unrouted_requests_total', {
          status: '400',
        }) === 1,
    );
    up.finish();
    await ended;
    const answers = parseResponses(Buffer.concat(chunks));
    assert.deepEqual(
      answers.map((a) => a.status),
      [200, 400],
    );
    assert.equal(answers[0].body.toString(), 'first chunk;second chunk;last chunk');
    assert.equal(answers[0].headers['transfer-encoding'], 'chunked');
  });

  test('garbage right behind a request still waiting upstream: the request is answered, not dropped', async (t) => {
    const up = await heldUpstream();
    const gw = await startGateway(twoBackendYaml(up.url, up.url));
    t.after(async () => {
      await gw.close();
      await up.close();
    });
    const exchange = rawExchange(gw.url, `GET /slow HTTP/1.1\r\nHost: a.example\r\n\r\n${GARBAGE}`);
    await eventually('the request reaches the upstream', () => up.held.length === 1);
    up.finish();
    const answers = parseResponses(await exchange);
    assert.deepEqual(
      answers.map((a) => a.status),
      [200, 400],
    );
    assert.equal(answers[0].body.toString(), 'first chunk;second chunk;last chunk');
  });
});
