// Issue 9: request headers a backend trusts because Cutover sets them. A
// client must not be able to send them itself: x-cutover-* (a shadow marker),
// forwarding headers from a peer not in server.trustedProxies, or a field
// hidden behind a second Connection header.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { startGateway, type TestGateway } from '../helpers/gateway.ts';
import { parseResponse, rawExchange } from '../helpers/raw-exchange.ts';
import { startUpstream, type Upstream } from '../helpers/upstream.ts';

function yaml(legacy: string, candidate: string, top = '', route = ''): string {
  return `listen: 127.0.0.1:0
admin: { listen: 127.0.0.1:0 }
state: memory
${top}
backends:
  legacy: { url: ${legacy} }
  rewrite: { url: ${candidate} }
routes:
  - name: main
    match: { path: /* }
    legacy: legacy
    candidate: rewrite
    weight: 0
${route}`;
}

interface Setup {
  legacy: Upstream;
  rewrite: Upstream;
  gw: TestGateway;
}

async function setup(
  t: { after(fn: () => Promise<void>): void },
  top = '',
  route = '',
): Promise<Setup> {
  const legacy = await startUpstream({ name: 'legacy' });
  const rewrite = await startUpstream({ name: 'rewrite' });
  const gw = await startGateway(yaml(legacy.url, rewrite.url, top, route));
  t.after(async () => {
    await gw.close();
    await legacy.close();
    await rewrite.close();
  });
  return { legacy, rewrite, gw };
}

/** One GET with the given header lines, sent as raw bytes; resolves with the answer. */
async function send(gw: TestGateway, headerLines: string[]): Promise<number> {
  const head = ['GET /thing HTTP/1.1', 'Host: shop.example', ...headerLines, 'Connection: close'];
  const res = parseResponse(await rawExchange(gw.url, `${head.join('\r\n')}\r\n\r\n`));
  return res.status;
}

const FORGED = [
  'X-Forwarded-For: 6.6.6.6',
  'X-Forwarded-Proto: https',
  'X-Forwarded-Host: admin.internal',
  'Forwarded: for=6.6.6.6;proto=https;host=admin.internal',
  'X-Real-IP: 6.6.6.6',
];

describe('security: forwarding headers', () => {
  test('a client-sent x-cutover-shadow (or any x-cutover-*) never reaches a backend; real copies carry one marker', async (t) => {
    const { legacy, rewrite, gw } = await setup(t, '', '    shadow: { percent: 100 }');
    assert.equal(await send(gw, ['X-Cutover-Shadow: 1', 'x-cutover-backend: candidate']), 200);
    const seen = legacy.requests.at(-1)!.headers;
    assert.equal(seen['x-cutover-shadow'], undefined, 'legacy cannot take the request for a copy');
    assert.equal(seen['x-cutover-backend'], undefined);
    const copy = await rewrite.nextRequest();
    assert.equal(copy.headers['x-cutover-shadow'], '1');
    assert.equal(copy.headers['x-cutover-backend'], undefined);
  });

  test('from a peer not in server.trustedProxies: forwarding headers are replaced by what Cutover saw', async (t) => {
    const { legacy, gw } = await setup(t);
    assert.equal(await send(gw, FORGED), 200);
    const seen = legacy.requests.at(-1)!.headers;
    assert.equal(seen['x-forwarded-for'], '127.0.0.1');
    assert.equal(seen['x-real-ip'], '127.0.0.1');
    assert.equal(seen.forwarded, undefined);
    assert.equal(seen['x-forwarded-proto'], 'http');
    assert.equal(seen['x-forwarded-host'], 'shop.example');
  });

  test('from a trusted proxy: kept, the peer appended, the client the rightmost untrusted hop', async (t) => {
    const { legacy, gw } = await setup(t, 'server: { trustedProxies: [127.0.0.1, 10.0.0.0/8] }');
    assert.equal(
      await send(gw, [
        'X-Forwarded-For: 6.6.6.6, 203.0.113.9',
        'X-Forwarded-For: 10.1.2.3',
        'X-Forwarded-Proto: https',
        'X-Forwarded-Host: shop.example',
        'Forwarded: for=203.0.113.9;proto=https',
        'X-Real-IP: 6.6.6.6',
      ]),
      200,
    );
    const seen = legacy.requests.at(-1)!.headers;
    assert.equal(seen['x-forwarded-for'], '6.6.6.6, 203.0.113.9, 10.1.2.3, 127.0.0.1');
    // nginx real_ip_recursive: 10.1.2.3 is trusted, 203.0.113.9 is the client; 6.6.6.6 is its claim.
    assert.equal(seen['x-real-ip'], '203.0.113.9');
    assert.equal(seen.forwarded, 'for=203.0.113.9;proto=https');
    assert.equal(seen['x-forwarded-proto'], 'https');
    assert.equal(seen['x-forwarded-host'], 'shop.example');
  });

  test('ip keys: the client a trusted proxy reports; from anyone else, the peer (X-Forwarded-For claims are ignored)', async (t) => {
    // One request per key per 1000 s: a second request on a key is a 429.
    const limit = '    limit: { rps: 0.001, burst: 1, key: ip }';
    const trusted = await setup(t, 'server: { trustedProxies: [127.0.0.1] }', limit);
    assert.equal(await send(trusted.gw, ['X-Forwarded-For: 203.0.113.1']), 200);
    assert.equal(await send(trusted.gw, ['X-Forwarded-For: 203.0.113.2']), 200);
    assert.equal(await send(trusted.gw, ['X-Forwarded-For: 203.0.113.1']), 429);
    const direct = await setup(t, '', limit);
    assert.equal(await send(direct.gw, ['X-Forwarded-For: 203.0.113.1']), 200);
    assert.equal(await send(direct.gw, ['X-Forwarded-For: 203.0.113.2']), 429);
  });

  test('a field named in a second Connection header is not forwarded (RFC 9110 §7.6.1)', async (t) => {
    const { legacy, gw } = await setup(t);
    assert.equal(
      await send(gw, [
        'Connection: x-hop-a',
        'Connection: x-hop-b',
        'X-Hop-A: 1',
        'X-Hop-B: 2',
        'X-End-To-End: 3',
      ]),
      200,
    );
    const seen = legacy.requests.at(-1)!.headers;
    assert.equal(seen['x-hop-a'], undefined);
    assert.equal(seen['x-hop-b'], undefined);
    assert.equal(seen['x-end-to-end'], '3');
  });
});
