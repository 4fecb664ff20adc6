// HTTP/2 through Cutover: h2c and HTTP/1.1 on one plaintext listener, either
// protocol to either kind of backend, trailers both ways, and gRPC calls of
// every shape to real @grpc/grpc-js servers.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createServer, type Http2Server, connect as h2connect } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { startGateway, type TestGateway } from '../helpers/gateway.ts';
import { type GrpcSetup, getOrder, grpc, startGrpcSetup } from '../helpers/grpc.ts';
import { startUpstream, type Upstream } from '../helpers/upstream.ts';

const run = promisify(execFile);

/** An h2c upstream: echoes what it got as JSON, with a trailer. */
async function startH2Upstream(): Promise<{ server: Http2Server; url: string }> {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write(
        JSON.stringify({
          upstream: 'h2',
          path: req.url,
          authority: req.headers[':authority'],
          te: req.headers.te ?? null,
          body: Buffer.concat(chunks).toString(),
        }),
      );
      res.addTrailers({ 'x-checksum': 'abc123' });
      res.end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

/** One HTTP/2 request with prior knowledge: status, headers, body, trailers. */
function h2request(
  base: string,
  path: string,
  options: { method?: string; body?: string; headers?: Record<string, string> } = {},
): Promise<{
  status: number;
  headers: Record<string, unknown>;
  body: string;
  trailers: Record<string, unknown>;
}> {
  return new Promise((resolve, reject) => {
    const session = h2connect(base);
    session.on('error', reject);
    const stream = session.request({
      ':path': path,
      ':method': options.method ?? 'GET',
      ...options.headers,
    });
    let status = 0;
    let headers: Record<string, unknown> = {};
    let trailers: Record<string, unknown> = {};
    let body = '';
    stream.on('response', (h) => {
      status = Number(h[':status']);
      headers = h;
    });
    stream.on('trailers', (t) => {
      trailers = t;
    });
    stream.setEncoding('utf8');
    stream.on('data', (c: string) => {
      body += c;
    });
    stream.on('end', () => {
      session.close();
      resolve({ status, headers, body, trailers });
    });
    stream.on('error', reject);
    stream.end(options.body);
  });
}

describe('HTTP/2 through the gateway', () => {
  let h1: Upstream;
  let h2: { server: Http2Server; url: string };
  let gateway: TestGateway;

  before(async () => {
    h1 = await startUpstream({ name: 'h1' });
    h2 = await startH2Upstream();
    gateway = await startGateway(`listen:
  - address: 127.0.0.1:0
admin: { listen: 127.0.0.1:0 }
state: memory
backends:
  old: { url: ${h1.url} }
  new: { url: ${h2.url}, protocol: h2c }
routes:
  - name: to-h1
    match: { path: /h1/* }
    legacy: old
  - name: to-h2
    match: { path: /h2/* }
    legacy: new
`);
  });

  after(async () => {
    await gateway.close();
    await h1.close();
    await new Promise<void>((r) => h2.server.close(() => r()));
  });

  it('one plaintext listener serves h2c (prior knowledge) and HTTP/1.1', async () => {
    const viaH2 = await h2request(gateway.url, '/h1/a');
    assert.equal(viaH2.status, 200);
    assert.equal(JSON.parse(viaH2.body).upstream, 'h1');
    const viaH1 = await fetch(`${gateway.url}/h1/b`);
    assert.equal(viaH1.status, 200);
    assert.equal(((await viaH1.json()) as { upstream: string }).upstream, 'h1');
    const curl = await run('curl', [
      '-s',
      '--http2-prior-knowledge',
      '-o',
      '/dev/null',
      '-w',
      '%{http_version} %{http_code}',
      `${gateway.url}/h1/c`,
    ]);
    assert.equal(curl.stdout, '2 200');
  });

  it('an HTTP/2 request reaches an HTTP/1.1 backend with its Host from :authority and its body', async () => {
    const r = await h2request(gateway.url, '/h1/post', { method: 'POST', body: 'hello' });
    assert.equal(r.status, 200);
    const seen = JSON.parse(r.body) as {
      method: string;
      headers: Record<string, string>;
      bodyBytes: number;
    };
    assert.equal(seen.method, 'POST');
    assert.equal(seen.bodyBytes, 5);
    assert.equal(seen.headers['x-forwarded-host'], new URL(gateway.url).host);
    assert.equal(r.headers['x-request-id'] !== undefined, true);
  });

  it('an HTTP/1.1 request reaches an h2c backend; its trailers pass to an HTTP/2 client', async () => {
    const viaH1 = await fetch(`${gateway.url}/h2/x`, { method: 'POST', body: 'abc' });
    assert.equal(viaH1.status, 200);
    const seen = (await viaH1.json()) as { upstream: string; body: string; path: string };
    assert.deepEqual([seen.upstream, seen.body, seen.path], ['h2', 'abc', '/h2/x']);
    const viaH2 = await h2request(gateway.url, '/h2/y', { headers: { te: 'trailers' } });
    assert.equal(viaH2.status, 200);
    assert.equal(JSON.parse(viaH2.body).te, 'trailers');
    assert.equal(viaH2.trailers['x-checksum'], 'abc123');
  });
});

describe('gRPC calls through the gateway (h2c in, h2c out)', () => {
  let client: grpc.Client;
  let setup: GrpcSetup;

  before(async () => {
    setup = await startGrpcSetup(
      (legacy, rewrite) => `listen:
  - address: 127.0.0.1:0
    protocols: [h2]
admin: { listen: 127.0.0.1:0 }
state: memory
backends:
  legacy: { url: ${legacy.url}, protocol: h2c }
  rewrite: { url: ${rewrite.url}, protocol: h2c }
routes:
  - name: orders
    match: { path: /shop.v1.Orders/* }
    legacy: legacy
    candidate: rewrite
    weight: 50
    split: { stickyKey: header:x-user-id, override: header:x-release-stage }
`,
    );
    ({ client } = setup);
  });

  after(() => setup.close());

  it('unary: the answer and the status come back', async () => {
    const order = await getOrder(client, 'o-1', { 'x-release-stage': 'canary' });
    assert.equal(order.id, 'o-1');
    assert.equal(order.servedBy, 'rewrite');
    await assert.rejects(
      getOrder(client, 'o-2', { 'x-release-stage': 'stable', 'x-test-status': '5' }),
      (e: grpc.ServiceError) => {
        assert.equal(e.code, grpc.status.NOT_FOUND);
        assert.equal(e.details, 'legacy says 5');
        return true;
      },
    );
  });

  it('sticky by metadata: one user stays on one side', async () => {
    const sides = new Map<string, Set<string>>();
    for (let u = 0; u < 20; u++) {
      for (let k = 0; k < 3; k++) {
        const o = await getOrder(client, 'x', { 'x-user-id': `user-${u}` });
        const set = sides.get(`user-${u}`) ?? new Set<string>();
        set.add(o.servedBy);
        sides.set(`user-${u}`, set);
      }
    }
    for (const set of sides.values()) assert.equal(set.size, 1);
    const served = new Set([...sides.values()].map((s) => [...s][0]));
    assert.deepEqual([...served].sort(), ['legacy', 'rewrite']);
  });

  it('server streaming: every message, then the status from real trailers', async () => {
    const md = new grpc.Metadata();
    md.set('x-release-stage', 'stable');
    md.set('x-test-messages', '4');
    const got: string[] = [];
    const call = (
      client as unknown as {
        List(r: object, m: grpc.Metadata): grpc.ClientReadableStream<{ id: string }>;
      }
    ).List({ id: 'l' }, md);
    call.on('data', (o: { id: string }) => got.push(o.id));
    const status = await new Promise<grpc.StatusObject>((r) => call.on('status', r));
    assert.equal(status.code, grpc.status.OK);
    assert.deepEqual(got, ['l-0', 'l-1', 'l-2', 'l-3']);
  });

  it('client streaming and bidi streaming', async () => {
    const md = new grpc.Metadata();
    md.set('x-release-stage', 'canary');
    const summary = await new Promise<{ count: number; joined: string; servedBy: string }>(
      (resolve, reject) => {
        const call = (
          client as unknown as {
            Collect(
              m: grpc.Metadata,
              cb: (e: Error | null, r: { count: number; joined: string; servedBy: string }) => void,
            ): grpc.ClientWritableStream<{ text: string }>;
          }
        ).Collect(md, (e, r) => (e ? reject(e) : resolve(r)));
        for (const t of ['x', 'y', 'z']) call.write({ text: t });
        call.end();
      },
    );
    assert.deepEqual(summary, { count: 3, joined: 'x,y,z', servedBy: 'rewrite' });
    // Bidi: each answer comes before the next message is sent (a held body would deadlock).
    const chat = (
      client as unknown as {
        Chat(m: grpc.Metadata): grpc.ClientDuplexStream<{ text: string }, { text: string }>;
      }
    ).Chat(md);
    const replies: string[] = [];
    for (const t of ['one', 'two', 'three']) {
      chat.write({ text: t });
      replies.push(
        await new Promise<string>((r) => chat.once('data', (m: { text: string }) => r(m.text))),
      );
    }
    chat.end();
    await new Promise((r) => chat.on('status', r));
    assert.deepEqual(replies, ['rewrite:one', 'rewrite:two', 'rewrite:three']);
  });
});
