// Issue 10's scenario end to end: legacy answers carry a random request id in
// every body, the candidate really differs in one answer of ten, and
// `learnNoise: true` with its default sample. The diffs API, the ratio gauge
// and the rollout's mismatchRate gate must show the true share (0.10) within
// the first ~100 pairs, not the share of pairs counted before the id was
// known as noise.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { request } from 'undici';
import { startGateway, type TestGateway, twoBackendYaml } from '../helpers/gateway.ts';
import { metricValue, scrapeMetrics } from '../helpers/metrics.ts';
import { waitFor } from '../helpers/wait.ts';

/** A JSON service answering /items/N with a fresh request id; `price` of item N as it says. */
async function itemService(price: (n: number) => number): Promise<{ url: string; server: Server }> {
  const server = createServer((req, res) => {
    const n = Number(/^\/items\/(\d+)$/.exec(req.url ?? '')?.[1] ?? 0);
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ requestId: randomUUID(), item: { id: n, price: price(n) } }));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

interface Diffs {
  summary: { compared: number; mismatched: number; mismatchRatio: number; settled: boolean };
  fields: { pattern: string; raw: number; noise: number }[];
  noise: { fastStart: boolean; pin: { compare: { ignore: string[] } } };
}

interface Gate {
  name: string;
  status: string;
  value: number | null;
}

/** Every 10th item is priced differently by the rewrite: the true mismatch share is 0.10. */
const REAL_SHARE = 0.1;
/** What a user reading the figures would accept as "about 10%". */
const near = (ratio: number) => ratio >= 0.05 && ratio <= 0.15;

describe('shadow figures on a route with a request id in every answer (issue 10)', () => {
  let legacy: { url: string; server: Server };
  let rewrite: { url: string; server: Server };
  let gw: TestGateway;
  before(async () => {
    legacy = await itemService(() => 10);
    rewrite = await itemService((n) => (n % 10 === 0 ? 11 : 10));
    gw = await startGateway(
      twoBackendYaml(legacy.url, rewrite.url, {
        route: `    shadow: { learnNoise: true }
    rollout: { shadowFor: 1h, minRequests: 50, gates: { mismatchRate: 15% } }`,
      }),
    );
    // The gate counts the pairs after the rollout's first check: let it happen first.
    await waitFor('the first rollout check', 10_000, mismatchGate, (g) => g !== undefined);
  });
  after(async () => {
    await gw?.close();
    legacy?.server.close();
    rewrite?.server.close();
  });

  const mismatchGate = async (): Promise<Gate | undefined> => {
    const res = await request(`${gw.adminUrl}/api/rollouts`);
    const body = (await res.body.json()) as { rollouts: { route: string; gates: Gate[] }[] };
    return body.rollouts
      .find((r) => r.route === 'main')
      ?.gates.find((g) => g.name === 'mismatchRate');
  };

  const diffs = async (): Promise<Diffs> => {
    const res = await request(`${gw.adminUrl}/api/routes/main/diffs`);
    assert.equal(res.statusCode, 200);
    return (await res.body.json()) as Diffs;
  };

  /** Items from..to, one after the other, then every pair compared. */
  async function send(from: number, to: number): Promise<Diffs> {
    for (let n = from; n <= to; n++) {
      const res = await request(`${gw.url}/items/${n}`);
      assert.equal(res.statusCode, 200);
      await res.body.dump();
    }
    return waitFor(`${to} compared pairs`, 10_000, diffs, (d) => d.summary.compared === to);
  }

  test('the diffs API shows the true share within the first 100 pairs; the id is noise', async () => {
    const d = await send(1, 100);
    assert.ok(
      near(d.summary.mismatchRatio),
      `mismatchRatio ${d.summary.mismatchRatio} after 100 pairs; expected about ${REAL_SHARE}`,
    );
    assert.deepEqual(d.noise.pin.compare.ignore, ['$.requestId']);
    const id = d.fields.find((f) => f.pattern === '$.requestId');
    assert.deepEqual({ raw: id?.raw, noise: id?.noise }, { raw: 0, noise: 100 });
    const price = d.fields.find((f) => f.pattern === '$.item.price');
    assert.deepEqual({ raw: price?.raw, noise: price?.noise }, { raw: 10, noise: 0 });
  });

  test('after 200 requests the API, the gauge and the gate all read about 0.10', async () => {
    const d = await send(101, 200);
    assert.equal(d.summary.mismatched, 20);
    assert.equal(d.summary.mismatchRatio, REAL_SHARE);
    assert.equal(d.noise.fastStart, false);
    const gauge = metricValue(await scrapeMetrics(gw), 'cutover_shadow_mismatch_ratio', {
      route: 'main',
    });
    assert.equal(gauge, d.summary.mismatchRatio);
    // The controller checks every second; its gate covers the pairs since shadow began.
    const gate = await waitFor(
      'the mismatchRate gate decided',
      10_000,
      mismatchGate,
      (g) => g !== undefined && g.status !== 'waiting',
    );
    assert.equal(gate?.status, 'passed');
    assert.ok(gate?.value !== null && near(gate?.value as number), `gate value ${gate?.value}`);
  });
});
