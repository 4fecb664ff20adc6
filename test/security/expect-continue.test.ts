// Issue 9, finding 2: `Expect: 100-continue` (curl sends it for every upload
// over 1 MiB) was forwarded to undici, which refuses the header before
// sending anything; the refusal answered 502, counted against the backend
// and left one connection slot of its pool busy for ever. Cutover now answers
// the expectation itself, once the request is admitted, and strips Expect.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { request } from 'undici';
import { expectContinue } from '../helpers/expect-client.ts';
import { startGateway, type TestGateway, twoBackendYaml } from '../helpers/gateway.ts';
import { metricOf } from '../helpers/metrics.ts';
import { startUpstream, type Upstream } from '../helpers/upstream.ts';

const UPLOAD = Buffer.alloc(2 * 1024 * 1024, 0x61);
const POOL = 2;

function uploadHead(path: string, length: number, extra = ''): string {
  return (
    `POST ${path} HTTP/1.1\r\nHost: shop.example\r\nContent-Type: application/octet-stream\r\n` +
    `Content-Length: ${length}\r\nExpect: 100-continue\r\n${extra}Connection: close\r\n\r\n`
  );
}

describe('Expect: 100-continue', () => {
  let legacy: Upstream;
  let rewrite: Upstream;
  let gw: TestGateway;

  before(async () => {
    legacy = await startUpstream({ name: 'legacy' });
    rewrite = await startUpstream({ name: 'rewrite' });
    const yaml = twoBackendYaml(legacy.url, rewrite.url, {
      route: `    maxBodyBytes: 4MiB
  - name: limited
    match: { path: /limited/* }
    legacy: legacy
    limit: { rps: 0.001, burst: 1 }`,
    }).replace(
      `legacy: { url: ${legacy.url} }`,
      `legacy: { url: ${legacy.url}, connections: ${POOL} }`,
    );
    gw = await startGateway(yaml);
  });
  after(async () => {
    await gw.close();
    await legacy.close();
    await rewrite.close();
  });

  test('an upload answers 100, reaches the backend whole and without Expect, many times the pool size over', async () => {
    for (let i = 0; i < POOL * 3; i++) {
      const answer = await expectContinue(
        gw.url,
        uploadHead(`/upload/${i}`, UPLOAD.length),
        UPLOAD,
      );
      assert.equal(
        answer.continued,
        true,
        `upload ${i}: no 100 Continue:\n${answer.raw.slice(0, 400)}`,
      );
      assert.equal(answer.status, 200, `upload ${i}:\n${answer.raw.slice(0, 600)}`);
      const seen = JSON.parse(answer.body) as {
        bodyBytes: number;
        headers: Record<string, string>;
      };
      assert.equal(seen.bodyBytes, UPLOAD.length);
      assert.equal(
        seen.headers.expect,
        undefined,
        'Expect is answered by the gateway, not forwarded',
      );
    }
    const last = legacy.requests.at(-1)!;
    assert.equal(last.url, `/upload/${POOL * 3 - 1}`);
    // The pool has all its slots: a plain request still goes through.
    const res = await request(`${gw.url}/after`, { signal: AbortSignal.timeout(5000) });
    assert.equal(res.statusCode, 200);
    await res.body.dump();
    // Nothing was a backend failure.
    assert.equal(
      await metricOf(gw, 'cutover_requests_total', { route: 'main', side: 'legacy', class: '5xx' }),
      undefined,
    );
  });

  test('uploads sent to the candidate reach it and count as its successes (no false rollback)', async () => {
    for (let i = 0; i < POOL * 3; i++) {
      const answer = await expectContinue(
        gw.url,
        uploadHead(`/canary-upload/${i}`, 1024, 'X-Release-Stage: canary\r\n'),
        Buffer.alloc(1024),
      );
      assert.equal(answer.status, 200, answer.raw.slice(0, 600));
      assert.equal(answer.headers['x-cutover-backend'], 'candidate');
      assert.equal(JSON.parse(answer.body).upstream, 'rewrite');
    }
    assert.equal(
      rewrite.requests.filter((r) => r.url.startsWith('/canary-upload/')).length,
      POOL * 3,
    );
    assert.equal(
      await metricOf(gw, 'cutover_requests_total', {
        route: 'main',
        side: 'candidate',
        class: '2xx',
      }),
      POOL * 3,
    );
    assert.equal(
      await metricOf(gw, 'cutover_requests_total', {
        route: 'main',
        side: 'candidate',
        class: '5xx',
      }),
      undefined,
    );
  });

  test('an upload over maxBodyBytes is refused before its body is sent, and the connection closes', async () => {
    const before = legacy.requests.length;
    const big = 5 * 1024 * 1024;
    const answer = await expectContinue(gw.url, uploadHead('/too-big', big), Buffer.alloc(big));
    assert.equal(
      answer.continued,
      false,
      `a 100 came before the refusal:\n${answer.raw.slice(0, 300)}`,
    );
    assert.equal(answer.bodySent, false);
    assert.equal(answer.status, 413);
    assert.equal(answer.headers.connection, 'close');
    assert.equal(JSON.parse(answer.body).code, 'CUTOVER_ERR_BODY_TOO_LARGE');
    assert.equal(legacy.requests.length, before);
  });

  test('a rate-limited upload is refused before its body is sent, and the connection closes', async () => {
    const first = await expectContinue(gw.url, uploadHead('/limited/a', 10), Buffer.alloc(10));
    assert.equal(first.status, 200);
    assert.equal(first.continued, true);
    const answer = await expectContinue(gw.url, uploadHead('/limited/b', 10), Buffer.alloc(10));
    assert.equal(answer.status, 429);
    assert.equal(
      answer.continued,
      false,
      `a 100 came before the refusal:\n${answer.raw.slice(0, 300)}`,
    );
    assert.equal(answer.headers.connection, 'close');
  });

  test('an upload to a backend whose breaker is open is refused before its body is sent', async () => {
    await gw.running.gateway.forceBreaker('legacy', 'open');
    try {
      const answer = await expectContinue(gw.url, uploadHead('/breaker', UPLOAD.length), UPLOAD);
      assert.equal(answer.status, 503);
      assert.equal(JSON.parse(answer.body).code, 'CUTOVER_ERR_BREAKER_OPEN');
      assert.equal(
        answer.continued,
        false,
        `a 100 came before the refusal:\n${answer.raw.slice(0, 300)}`,
      );
      assert.equal(answer.headers.connection, 'close');
    } finally {
      await gw.running.gateway.forceBreaker('legacy', undefined);
    }
  });

  test('a request without content gets no 100 and its answer', async () => {
    const answer = await expectContinue(
      gw.url,
      'GET /no-content HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n',
      Buffer.alloc(0),
    );
    assert.equal(answer.continued, false);
    assert.equal(answer.status, 200, answer.raw.slice(0, 600));
    assert.equal(JSON.parse(answer.body).path, '/no-content');
  });

  test('a small upload the gateway keeps (Idempotency-Key, for a fallback) gets its 100 too', async () => {
    const answer = await expectContinue(
      gw.url,
      uploadHead('/kept', 1000, 'Idempotency-Key: k-1\r\n'),
      Buffer.alloc(1000, 0x62),
    );
    assert.equal(answer.continued, true);
    assert.equal(answer.status, 200, answer.raw.slice(0, 600));
    assert.equal(JSON.parse(answer.body).bodyBytes, 1000);
  });
});
