// Passive outlier ejection and active health checks through a real gateway:
// which instance gets the traffic, for how long, and what the metrics, logs
// and readiness probe say about it.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { request } from 'undici';
import { startGateway, type TestGateway } from '../helpers/gateway.ts';
import { metricOf, metricSeries } from '../helpers/metrics.ts';
import { startUpstream, type Upstream } from '../helpers/upstream.ts';
import { waitFor } from '../helpers/wait.ts';

const EJECT_FOR_MS = 1_000;
async function get(url: string, headers: Record<string, string> = {}): Promise<number> {
  const res = await request(url, { headers });
  await res.body.dump();
  return res.statusCode;
}

/** How the gateway names an instance in metrics and logs: its normalized URL. */
function instanceOf(up: Upstream): string {
  return new URL(up.url).href;
}

/** Requests that are traffic, not the gateway's health checks. */
function traffic(up: Upstream): number {
  return up.requests.filter((r) => r.headers['user-agent'] !== 'cutover-health').length;
}

describe('outlier ejection', () => {
  let a: Upstream;
  let b: Upstream;
  let solo: Upstream;
  let c: Upstream;
  let d: Upstream;
  let gw: TestGateway;
  const outlier = `outlier: { consecutiveErrors: 3, ejectFor: ${EJECT_FOR_MS}ms }`;

  before(async () => {
    a = await startUpstream({ name: 'a' });
    b = await startUpstream({ name: 'b' });
    solo = await startUpstream({ name: 'solo', behavior: 'status:500' });
    c = await startUpstream({ name: 'c', behavior: 'status:500' });
    d = await startUpstream({ name: 'd', behavior: 'status:500' });
    // duo ejects for a minute, so no instance returns during its test however slow.
    // breaker: false — a route whose backend errors half the time would
    // otherwise have its breaker open and answer 503 itself, hiding which
    // instance the balancer picks.
    gw = await startGateway(`listen: 127.0.0.1:0
admin: { listen: 127.0.0.1:0 }
state: memory
backends:
  pair: { urls: [${a.url}, ${b.url}], ${outlier}, breaker: false }
  solo: { url: ${solo.url}, ${outlier}, breaker: false }
  duo: { urls: [${c.url}, ${d.url}], outlier: { consecutiveErrors: 3, ejectFor: 1m }, breaker: false }
routes:
  - name: pair
    match: { path: /pair/* }
    legacy: pair
  - name: solo
    match: { path: /solo/* }
    legacy: solo
  - name: duo
    match: { path: /duo/* }
    legacy: duo
`);
  });
  after(async () => {
    await gw.close();
    for (const u of [a, b, solo, c, d]) await u.close();
  });

  const ejections = (instance: Upstream) =>
    metricOf(gw, 'cutover_outlier_ejections_total', {
      backend: 'pair',
      instance: instanceOf(instance),
    });

  /**
   * Sends requests one at a time until `a` has had `errors` more requests;
   * returns the clock just before the request that made the last error.
   */
  async function failA(errors: number): Promise<number> {
    const target = a.requests.length + errors;
    let lastSend = 0;
    for (let i = 0; i < 4 * errors && a.requests.length < target; i++) {
      const sent = Date.now();
      const status = await get(`${gw.url}/pair/x`);
      if (a.requests.length === target) lastSend = sent;
      assert.ok(status === 500 || status === 200, `status ${status}`);
    }
    assert.equal(a.requests.length, target, 'round robin reached a');
    return lastSend;
  }

  /** Requests every 20 ms until `a` gets one; returns the clock when it was seen. */
  async function untilABack(ms: number): Promise<number> {
    const seen = a.requests.length;
    const deadline = Date.now() + ms;
    while (a.requests.length === seen) {
      assert.ok(Date.now() < deadline, `a got no request again within ${ms} ms`);
      assert.equal(await get(`${gw.url}/pair/x`), 200);
      if (a.requests.length !== seen) break;
      await sleep(20);
    }
    return Date.now();
  }

  let firstEjectedAt = 0;

  test('3 errors in a row eject an instance: the other gets all traffic; metric and log say so', async () => {
    a.setBehavior('status:500');
    firstEjectedAt = await failA(3);
    // a is out until at least firstEjectedAt + ejectFor: every request answered
    // before then went to b. (Later ones may find a back; they prove nothing.)
    let inWindow = 0;
    for (let i = 0; i < 20; i++) {
      const aBefore = a.requests.length;
      assert.equal(await get(`${gw.url}/pair/x`), 200);
      if (Date.now() >= firstEjectedAt + EJECT_FOR_MS) break;
      assert.equal(a.requests.length, aBefore, `request ${i + 1} went to the ejected instance`);
      inWindow++;
    }
    assert.ok(inWindow >= 5, `only ${inWindow} requests were answered while a was ejected`);
    assert.equal(await ejections(a), 1);
    assert.equal(await ejections(b), undefined);
    const lines = gw.logs().filter((l) => l.msg === 'backend instance ejected');
    assert.equal(lines.length, 1);
    assert.equal(lines[0].backend, 'pair');
    assert.equal(lines[0].instance, instanceOf(a));
    assert.equal(lines[0].consecutive, 3);
    assert.equal(lines[0].level, 'warn');
  });

  test('the ejected instance comes back by itself after ejectFor', async () => {
    assert.ok(firstEjectedAt > 0, 'runs after the ejection test');
    a.setBehavior('ok');
    const back = await untilABack(5 * EJECT_FOR_MS);
    assert.ok(
      back - firstEjectedAt >= EJECT_FOR_MS,
      `back after ${back - firstEjectedAt} ms, ejected for ${EJECT_FOR_MS}`,
    );
    // Back in the round robin: it gets its share again. (Few requests: the
    // next test must eject it again within ejectFor of its return.)
    const aBefore = a.requests.length;
    for (let i = 0; i < 4; i++) assert.equal(await get(`${gw.url}/pair/x`), 200);
    assert.equal(a.requests.length - aBefore, 2);
    assert.ok(
      gw.logs().some((l) => l.msg === 'ejected instance back' && l.instance === instanceOf(a)),
    );
  });

  test('ejected again soon after, it stays out twice as long', async () => {
    // Within ejectFor of its return, so its first ejection is not yet forgiven.
    a.setBehavior('status:500');
    const ejectedAt = await failA(3);
    a.setBehavior('ok');
    assert.equal(await ejections(a), 2);
    const lines = gw.logs().filter((l) => l.msg === 'backend instance ejected');
    assert.equal(lines.length, 2);
    assert.ok(
      (lines[1].ejectedForMs as number) > EJECT_FOR_MS,
      `second ejection for ${String(lines[1].ejectedForMs)} ms`,
    );
    const back = await untilABack(5 * EJECT_FOR_MS);
    // The gateway ejected it after `ejectedAt`, for 2 × ejectFor.
    assert.ok(
      back - ejectedAt >= 2 * EJECT_FOR_MS,
      `a got traffic again ${back - ejectedAt} ms after its second ejection`,
    );
  });

  test('a single-instance backend answering 500 is never ejected', async () => {
    for (let i = 0; i < 20; i++) assert.equal(await get(`${gw.url}/solo/x`), 500);
    assert.equal(solo.requests.length, 20, 'every request reached the only instance');
    assert.deepEqual(
      await metricSeries(gw, 'cutover_outlier_ejections_total', { backend: 'solo' }),
      [],
    );
  });

  test('with every instance failing, one always stays in', async () => {
    for (let i = 0; i < 30; i++) assert.equal(await get(`${gw.url}/duo/x`), 500);
    assert.equal(
      c.requests.length + d.requests.length,
      30,
      'no request was refused by the gateway',
    );
    const samples = await metricSeries(gw, 'cutover_outlier_ejections_total', { backend: 'duo' });
    assert.equal(samples.length, 1, `one of two instances ejected: ${JSON.stringify(samples)}`);
    assert.equal(samples[0].value, 1);
    // The one ejected got its 3 errors; the other all the rest.
    const counts = [c.requests.length, d.requests.length].sort((x, y) => x - y);
    assert.deepEqual(counts, [3, 27]);
  });

  test('the admin API lists the backend instances, the ejected one with when it comes back', async () => {
    // After the test above: one of duo's instances is out for a minute.
    const res = await request(`${gw.adminUrl}/api/backends/duo/breaker`);
    const body = (await res.body.json()) as {
      instances: {
        url: string;
        healthy: boolean;
        ejected: boolean;
        ejectedUntil: string | null;
        consecutiveErrors: number;
      }[];
    };
    assert.equal(res.statusCode, 200);
    assert.deepEqual(
      body.instances.map((i) => i.url),
      [instanceOf(c), instanceOf(d)],
    );
    const out = body.instances.filter((i) => i.ejected);
    assert.equal(out.length, 1, JSON.stringify(body.instances));
    const comesBack = Date.parse(out[0].ejectedUntil ?? '');
    assert.ok(
      comesBack > Date.now() && comesBack <= Date.now() + 60_000,
      out[0].ejectedUntil ?? '',
    );
    const stayed = body.instances.find((i) => !i.ejected);
    assert.equal(stayed?.ejectedUntil, null);
    assert.ok(body.instances.every((i) => i.healthy));
  });
});

describe('active health checks', () => {
  let h1: Upstream;
  let h2: Upstream;
  let gw: TestGateway;

  before(async () => {
    h1 = await startUpstream({ name: 'h1' });
    h2 = await startUpstream({ name: 'h2' });
    // outlier: false — only the health checks decide here.
    gw = await startGateway(`listen: 127.0.0.1:0
admin: { listen: 127.0.0.1:0 }
state: memory
backends:
  hb:
    urls: [${h1.url}, ${h2.url}]
    health: { path: /healthz, interval: 100ms, unhealthy: 2, healthy: 1 }
    outlier: false
routes:
  - name: main
    match: { path: /* }
    legacy: hb
`);
  });
  after(async () => {
    await gw.close();
    await h1.close();
    await h2.close();
  });

  const up = (u: Upstream) =>
    metricOf(gw, 'cutover_backend_up', { backend: 'hb', instance: instanceOf(u) });
  const ready = async (): Promise<{ status: number; text: string }> => {
    const res = await request(`${gw.adminUrl}/readyz`);
    const body = JSON.parse(await res.body.text()) as { status: string; reason?: string };
    return { status: res.statusCode, text: body.reason ?? body.status };
  };
  /** Traffic asks the upstream for `ok` itself, so only health checks see a failing instance fail. */
  const send = () => get(`${gw.url}/work`, { 'x-test-behavior': 'ok' });

  test('an instance failing its health checks gets no traffic and reports down', async () => {
    await waitFor(
      'health checks of both',
      5_000,
      async () => [h1, h2].map((u) => u.requests.length),
      (n) => n.every((x) => x >= 1),
    );
    assert.equal(h1.requests[0].url, '/healthz');
    assert.equal(await up(h1), 1);
    assert.equal(await up(h2), 1);
    h1.setBehavior('status:503');
    await waitFor(
      'h1 down',
      5_000,
      () => up(h1),
      (v) => v === 0,
    );
    assert.equal(await up(h2), 1);
    const line = gw.logs().find((l) => l.msg === 'backend instance unhealthy');
    assert.equal(line?.instance, instanceOf(h1));
    const t1 = traffic(h1);
    const t2 = traffic(h2);
    for (let i = 0; i < 20; i++) assert.equal(await send(), 200);
    assert.equal(traffic(h1), t1, 'no traffic to the unhealthy instance');
    assert.equal(traffic(h2) - t2, 20);
  });

  test('/readyz is 200 while one instance is healthy, 503 when none is', async () => {
    assert.deepEqual(await ready(), { status: 200, text: 'ok' });
    h2.setBehavior('status:503');
    await waitFor(
      'h2 down',
      5_000,
      () => up(h2),
      (v) => v === 0,
    );
    const r = await ready();
    assert.equal(r.status, 503);
    assert.match(r.text, /hb/);
    // With none healthy the gateway still tries them rather than fail every request.
    const before = traffic(h1) + traffic(h2);
    for (let i = 0; i < 4; i++) assert.equal(await send(), 200);
    assert.equal(traffic(h1) + traffic(h2) - before, 4);
  });

  test('an instance passing its health check again gets traffic back', async () => {
    h1.setBehavior('ok');
    await waitFor(
      'h1 up',
      5_000,
      () => up(h1),
      (v) => v === 1,
    );
    assert.deepEqual(await ready(), { status: 200, text: 'ok' });
    const t1 = traffic(h1);
    const t2 = traffic(h2);
    for (let i = 0; i < 6; i++) assert.equal(await send(), 200);
    // h2 is still down: all of it to h1.
    assert.equal(traffic(h1) - t1, 6);
    assert.equal(traffic(h2), t2);
  });
});
