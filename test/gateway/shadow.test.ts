import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { request } from 'undici';
import { startDemoBackends } from '../../src/cli/demo-backends.ts';
import { startGateway, type TestGateway, tempDir } from '../helpers/gateway.ts';
import { startUpstream, type Upstream } from '../helpers/upstream.ts';
import { waitFor } from '../helpers/wait.ts';

function yaml(legacy: string, candidate: string, shadow: string, extra = ''): string {
  return `listen: 127.0.0.1:0
admin: { listen: 127.0.0.1:0 }
state: memory
backends:
  legacy: { url: ${legacy} }
  rewrite: { url: ${candidate} }
routes:
  - name: main
    match: { path: /* }
    legacy: legacy
    candidate: rewrite
    weight: 0
    shadow: ${shadow}
${extra}`;
}

interface Diffs {
  summary: {
    compared: number;
    matched: number;
    mismatched: number;
    skipped: Record<string, number>;
    mismatchRatio: number;
  };
  fields: { pattern: string; raw: number; noise: number }[];
  samples: { url: string; diff: string }[];
  latency: { pairs: number; legacy: { p50: number }; candidate: { p50: number } };
}

/** `waitFor` with the effect first, as these tests read best. */
const until = <T>(probe: () => Promise<T>, done: (v: T) => boolean, what: string) =>
  waitFor(what, 5000, probe, done);

async function diffs(gw: TestGateway, route = 'main'): Promise<Diffs> {
  const res = await request(`${gw.adminUrl}/api/routes/${route}/diffs`);
  assert.equal(res.statusCode, 200);
  return (await res.body.json()) as Diffs;
}
describe('shadow traffic', () => {
  test('the client gets legacy’s answer while a hanging candidate has not answered', async () => {
    const legacy = await startUpstream({ name: 'legacy' });
    const rewrite = await startUpstream({ name: 'rewrite', behavior: 'hang' });
    const gw = await startGateway(
      yaml(legacy.url, rewrite.url, '{ percent: 100 }', '    timeout: 10s'),
    );
    try {
      const res = await request(`${gw.url}/thing`);
      assert.equal(res.statusCode, 200);
      assert.equal(res.headers['x-cutover-backend'], 'legacy');
      assert.equal(((await res.body.json()) as { upstream: string }).upstream, 'legacy');
      const copy = rewrite.requests.at(-1);
      assert.ok(copy, 'the candidate received a copy');
      assert.equal(copy.headers['x-cutover-shadow'], '1');
      let candidateDone = false;
      void copy.closed.then(() => {
        candidateDone = true;
      });
      await new Promise((r) => setImmediate(r));
      assert.equal(candidateDone, false, 'the client was answered before the candidate');
      assert.equal((await diffs(gw)).summary.compared, 0);
    } finally {
      await gw.close();
      await legacy.close();
      await rewrite.close();
    }
  });

  test('a dead candidate causes no client errors; the copies are counted as candidate_error', async () => {
    const legacy = await startUpstream({ name: 'legacy' });
    const dead = await startUpstream();
    const deadUrl = dead.url;
    await dead.close();
    const gw = await startGateway(yaml(legacy.url, deadUrl, '{ percent: 100 }'));
    try {
      for (let i = 0; i < 10; i++) {
        const res = await request(`${gw.url}/x${i}`);
        assert.equal(res.statusCode, 200);
        await res.body.dump();
      }
      const d = await until(
        () => diffs(gw),
        (v) => (v.summary.skipped.candidate_error ?? 0) === 10,
        'skips',
      );
      assert.equal(d.summary.compared, 0);
    } finally {
      await gw.close();
      await legacy.close();
    }
  });

  test('writes are not shadowed unless shadow.writes is on; then the same body is sent', async () => {
    const legacy = await startUpstream({ name: 'legacy' });
    const rewrite = await startUpstream({ name: 'rewrite', behavior: 'echo' });
    const off = await startGateway(yaml(legacy.url, rewrite.url, '{ percent: 100 }'));
    try {
      const res = await request(`${off.url}/orders`, { method: 'POST', body: '{"a":1}' });
      await res.body.dump();
      assert.equal(rewrite.requests.length, 0);
      assert.equal((await diffs(off)).summary.skipped.method, 1);
    } finally {
      await off.close();
    }
    const on = await startGateway(yaml(legacy.url, rewrite.url, '{ percent: 100, writes: true }'));
    try {
      const res = await request(`${on.url}/orders`, { method: 'POST', body: '{"a":1}' });
      await res.body.dump();
      const copy = await rewrite.nextRequest();
      assert.equal(copy.method, 'POST');
      await copy.closed;
      assert.equal(copy.bodyBytes, 7);
    } finally {
      await on.close();
      await legacy.close();
      await rewrite.close();
    }
  });

  test('the demo’s subtly different endpoint shows up as a mismatch on the right field', async () => {
    const demo = await startDemoBackends({ legacyPort: 0, rewritePort: 0 });
    const gw = await startGateway(
      yaml(demo.legacy.url, demo.rewrite.url, '{ percent: 100, compare: { ignore: ["$.meta"] } }'),
    );
    try {
      for (const user of [1, 2, 3]) {
        const res = await request(`${gw.url}/api/v1/orders?user=${user}`);
        assert.equal(res.statusCode, 200);
        await res.body.dump();
      }
      for (const id of [1, 2]) await (await request(`${gw.url}/api/v1/user/${id}`)).body.dump();
      const d = await until(
        () => diffs(gw),
        (v) => v.summary.compared === 5,
        'five compared pairs',
      );
      assert.equal(d.summary.mismatched, 3);
      assert.equal(d.summary.matched, 2);
      assert.deepEqual(
        d.fields.filter((f) => f.raw > 0).map((f) => f.pattern),
        ['$.orders[*].total'],
      );
      assert.ok(d.samples.length > 0 && d.samples[0].url.startsWith('/api/v1/orders'));
      assert.equal(d.latency.pairs, 5);
      assert.ok(d.latency.legacy.p50 > 0 && d.latency.candidate.p50 > 0);
      const metrics = await (await request(`${gw.adminUrl}/metrics`)).body.text();
      assert.match(metrics, /cutover_shadow_total\{route="main",result="mismatched"\} 3/);
      assert.match(metrics, /cutover_shadow_mismatch_ratio\{route="main"\} 0\.6/);
    } finally {
      await gw.close();
      await demo.close();
    }
  });

  test('noise learning: fields that differ between two legacy answers stop failing the match; real differences still do', async () => {
    const demo = await startDemoBackends({ legacyPort: 0, rewritePort: 0 });
    // No ignore rules: meta.requestId and meta.servedAt change on every answer.
    const gw = await startGateway(
      yaml(demo.legacy.url, demo.rewrite.url, '{ percent: 100, learnNoise: { sample: 1 } }'),
    );
    try {
      for (let i = 0; i < 8; i++) {
        await (await request(`${gw.url}/api/v1/user/7`)).body.dump();
        await until(
          () => diffs(gw),
          (v) => v.summary.compared === i + 1,
          'the pair compared',
        );
      }
      type Noise = {
        pairs: number;
        fields: { pattern: string; noisy: boolean }[];
        pin: { compare: { ignore: string[] } };
      };
      // The second legacy answer of the last request may arrive after its comparison.
      const before = (await until(
        () => diffs(gw),
        (v) => (v as Diffs & { noise: Noise }).noise.pairs >= 8,
        'eight noise pairs',
      )) as Diffs & { noise: Noise };
      assert.deepEqual(before.noise.pin.compare.ignore, ['$.meta.requestId', '$.meta.servedAt']);
      await (await request(`${gw.url}/api/v1/user/7`)).body.dump();
      const after = await until(
        () => diffs(gw),
        (v) => v.summary.compared === 9,
        'the ninth pair',
      );
      assert.equal(after.summary.mismatched + after.summary.matched, 9);
      assert.ok(after.summary.matched >= 1, 'once learned, noise alone no longer fails the match');
      await (await request(`${gw.url}/api/v1/orders?user=7`)).body.dump();
      const withBug = await until(
        () => diffs(gw),
        (v) => v.summary.compared === 10,
        'the orders pair',
      );
      const total = withBug.fields.find((f) => f.pattern === '$.orders[*].total');
      assert.ok(total && total.raw > 0, 'the real difference still fails the match');
    } finally {
      await gw.close();
      await demo.close();
    }
  });

  test('copies beyond maxInFlight are dropped and counted, never queued', async () => {
    const legacy = await startUpstream({ name: 'legacy' });
    const rewrite = await startUpstream({ name: 'rewrite', behavior: 'slow:300' });
    const gw = await startGateway(
      yaml(legacy.url, rewrite.url, '{ percent: 100, maxInFlight: 1 }'),
    );
    try {
      await Promise.all(
        Array.from({ length: 5 }, async (_, i) => {
          const res = await request(`${gw.url}/p${i}`);
          assert.equal(res.statusCode, 200);
          await res.body.dump();
        }),
      );
      const d = await until(
        () => diffs(gw),
        (v) => v.summary.compared === 1,
        'one compared pair',
      );
      assert.equal(d.summary.skipped.dropped, 4);
      assert.equal(rewrite.requests.length, 1);
    } finally {
      await gw.close();
      await legacy.close();
      await rewrite.close();
    }
  });

  test('answers over shadow.maxBodyBytes are not compared (skipped: too_large)', async () => {
    const legacy: Upstream = await startUpstream({ name: 'legacy', behavior: 'big:200000' });
    const rewrite = await startUpstream({ name: 'rewrite', behavior: 'big:200000' });
    const gw = await startGateway(
      yaml(legacy.url, rewrite.url, '{ percent: 100, maxBodyBytes: 64KiB }'),
    );
    try {
      const res = await request(`${gw.url}/big`);
      let n = 0;
      for await (const c of res.body) n += (c as Buffer).length;
      assert.equal(n, 200000, 'the client still gets all of legacy’s answer');
      const d = await until(
        () => diffs(gw),
        (v) => (v.summary.skipped.too_large ?? 0) === 1,
        'a too_large skip',
      );
      assert.equal(d.summary.compared, 0);
    } finally {
      await gw.close();
      await legacy.close();
      await rewrite.close();
    }
  });

  test('a large JSON pair is compared in the worker pool and its differing field found', async () => {
    const { createServer } = await import('node:http');
    const items = (price: number | string) =>
      JSON.stringify({
        items: Array.from({ length: 3000 }, (_, i) => ({
          id: i,
          name: `item ${i}`,
          price: i === 2999 ? price : i,
        })),
      });
    const start = (body: string) =>
      new Promise<{ url: string; close: () => void }>((resolve) => {
        const srv = createServer((_req, res) => {
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end(body);
        });
        srv.listen(0, '127.0.0.1', () =>
          resolve({
            url: `http://127.0.0.1:${(srv.address() as { port: number }).port}`,
            close: () => srv.close(),
          }),
        );
      });
    const legacy = await start(items(10));
    const rewrite = await start(items('10'));
    const gw = await startGateway(yaml(legacy.url, rewrite.url, '{ percent: 100 }'));
    try {
      const res = await request(`${gw.url}/catalog`);
      const text = await res.body.text();
      assert.ok(
        text.length > 64 * 1024,
        `body of ${text.length} bytes is over the in-process limit`,
      );
      const d = await until(
        () => diffs(gw),
        (v) => v.summary.compared === 1,
        'the large pair compared',
      );
      assert.equal(d.summary.mismatched, 1);
      assert.deepEqual(
        d.fields.filter((f) => f.raw > 0).map((f) => f.pattern),
        ['$.items[*].price'],
      );
    } finally {
      await gw.close();
      legacy.close();
      rewrite.close();
    }
  });

  test('mismatch samples are redacted, kept in the state store and shown again after a restart', async () => {
    const demo = await startDemoBackends({ legacyPort: 0, rewritePort: 0 });
    const dir = tempDir();
    const config = `listen: 127.0.0.1:0
admin: { listen: 127.0.0.1:0 }
state: sqlite:${dir}/state.db
backends:
  legacy: { url: ${demo.legacy.url} }
  rewrite: { url: ${demo.rewrite.url} }
routes:
  - name: orders
    match: { path: /api/v1/orders }
    legacy: legacy
    candidate: rewrite
    shadow: { percent: 100, samples: 2, compare: { ignore: ["$.meta"] }, redact: { paths: ["$.orders[*].total"], headers: [x-api-key] } }
`;
    type Sample = {
      url: string;
      requestHeaders: Record<string, string>;
      differences: { legacy: unknown; candidate: unknown }[];
    };
    const gw = await startGateway(config, { dir });
    try {
      for (const user of [1, 2, 3]) {
        const res = await request(`${gw.url}/api/v1/orders?user=${user}`, {
          headers: { authorization: 'Bearer top-secret', cookie: 'sid=abc', 'x-api-key': 'k-123' },
        });
        await res.body.dump();
      }
      const d = await until(
        () => diffs(gw, 'orders'),
        (v) => v.summary.compared === 3,
        'three pairs',
      );
      const samples = d.samples as unknown as Sample[];
      assert.equal(samples.length, 2, 'bounded to shadow.samples');
      assert.deepEqual(
        samples.map((s) => s.url),
        ['/api/v1/orders?user=3', '/api/v1/orders?user=2'],
      );
      const text = JSON.stringify(samples);
      for (const secret of ['top-secret', 'sid=abc', 'k-123'])
        assert.ok(!text.includes(secret), `${secret} redacted`);
      assert.equal(samples[0].differences[0].legacy, '[redacted]');
    } finally {
      await gw.close();
    }
    const again = await startGateway(config, { dir });
    try {
      const d = await diffs(again, 'orders');
      assert.equal(d.summary.compared, 0, 'counts start over');
      assert.deepEqual(
        (d.samples as unknown as Sample[]).map((s) => s.url),
        ['/api/v1/orders?user=3', '/api/v1/orders?user=2'],
        'samples come back from the state store',
      );
    } finally {
      await again.close();
      await demo.close();
    }
  });

  test('a route without shadow has no diffs (404)', async () => {
    const legacy = await startUpstream();
    const gw = await startGateway(yaml(legacy.url, legacy.url, 'false'));
    try {
      const res = await request(`${gw.adminUrl}/api/routes/main/diffs`);
      assert.equal(res.statusCode, 404);
      await res.body.dump();
    } finally {
      await gw.close();
      await legacy.close();
    }
  });
});
