// Concurrency limits through a real gateway: a static cap sheds the excess
// with 503 and frees its slots whatever way a request ends; the adaptive cap
// falls when the backend slows down and grows back when it recovers.
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Agent, request } from 'undici';
import { startGateway, type TestGateway } from '../helpers/gateway.ts';
import { metricOf } from '../helpers/metrics.ts';
import { type Behavior, startUpstream, type Upstream } from '../helpers/upstream.ts';
import { waitFor } from '../helpers/wait.ts';

type Json = Record<string, unknown>;

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

interface ConcurrencyFigures {
  adaptive: boolean;
  limit: number;
  inFlight: number;
  rejected: number;
  baselineMs?: number;
  recentMs?: number;
}

async function concurrencyOf(gw: TestGateway, route: string): Promise<ConcurrencyFigures> {
  const res = await request(`${gw.adminUrl}/api/routes/${route}`);
  assert.equal(res.statusCode, 200);
  const detail = (await res.body.json()) as Json;
  assert.ok(detail.concurrency, 'the route detail reports concurrency figures');
  return detail.concurrency as ConcurrencyFigures;
}

function assertOverloaded(a: Answer): void {
  assert.equal(a.status, 503, a.text);
  assert.equal(a.headers['content-type'], 'application/problem+json');
  const body = JSON.parse(a.text) as Json;
  assert.equal(body.status, 503);
  assert.equal(body.code, 'CUTOVER_ERR_OVERLOADED');
  assert.match(String(a.headers['retry-after']), /^[1-9]\d*$/);
}

describe('static concurrency limit', () => {
  const MAX = 5;
  const BURST = 20;
  let up: Upstream;
  let gw: TestGateway;
  // Each request of a burst on its own connection, so they are in flight at once.
  let agent: Agent;

  before(async () => {
    up = await startUpstream({ name: 'up', behavior: 'slow:500' });
    // breaker: false — the upstream errors below must not open the breaker,
    // which would answer 503 for another reason.
    gw = await startGateway(`listen: 127.0.0.1:0
admin: { listen: 127.0.0.1:0 }
state: memory
backends:
  up: { url: ${up.url}, breaker: false }
routes:
  - name: capped
    match: { path: /work }
    legacy: up
    concurrency: { max: ${MAX} }
  # A body kept in memory for a retry, and a body streamed upstream as it comes.
  - name: upload-kept
    match: { path: /upload-kept }
    legacy: up
    retry: { attempts: 2 }
    concurrency: { max: 1 }
  - name: upload-streamed
    match: { path: /upload-streamed }
    legacy: up
    concurrency: { max: 1 }
`);
    agent = new Agent({ connections: 64 });
  });
  after(async () => {
    await agent.close();
    await gw.close();
    await up.close();
  });

  async function send(behavior?: Behavior, signal?: AbortSignal): Promise<Answer> {
    const headers: Record<string, string> = {};
    if (behavior) headers['x-test-behavior'] = behavior;
    const res = await request(`${gw.url}/work`, { headers, dispatcher: agent, signal });
    return { status: res.statusCode, headers: res.headers, text: await res.body.text() };
  }

  /** BURST requests at once against the slow upstream: how many were admitted, and the refusals checked. */
  async function burst(): Promise<{ ok: number; shed: number }> {
    const answers = await Promise.all(Array.from({ length: BURST }, () => send('slow:500')));
    let ok = 0;
    let shed = 0;
    for (const a of answers) {
      if (a.status === 200) ok++;
      else {
        assertOverloaded(a);
        shed++;
      }
    }
    return { ok, shed };
  }

  async function idle(): Promise<void> {
    await waitFor(
      'no request in flight',
      5_000,
      () => concurrencyOf(gw, 'capped'),
      (c) => c.inFlight === 0,
    );
  }

  test('20 at once: exactly 5 pass, 15 are shed with 503 CUTOVER_ERR_OVERLOADED', async () => {
    const before = up.requests.length;
    assert.deepEqual(await burst(), { ok: MAX, shed: BURST - MAX });
    assert.equal(up.requests.length - before, MAX, 'shed requests never reach the upstream');
    assert.equal(await metricOf(gw, 'cutover_shed_total', { route: 'capped' }), BURST - MAX);
    const c = await concurrencyOf(gw, 'capped');
    assert.equal(c.adaptive, false);
    assert.equal(c.limit, MAX);
    assert.equal(c.rejected, BURST - MAX);
  });

  test('slots are given back once requests finish', async () => {
    await idle();
    assert.deepEqual(await burst(), { ok: MAX, shed: BURST - MAX });
    assert.equal(await metricOf(gw, 'cutover_shed_total', { route: 'capped' }), 2 * (BURST - MAX));
  });

  test('slots are given back when clients abort their requests', async () => {
    await idle();
    const before = up.requests.length;
    const controller = new AbortController();
    const hanging = Array.from({ length: MAX }, () =>
      send('hang', controller.signal).then(
        () => assert.fail('a hanging request got an answer'),
        (e: Error) => e,
      ),
    );
    // All five slots taken, the upstream holding them: a sixth is shed.
    await waitFor(
      '5 requests at the upstream',
      5_000,
      async () => up.requests.length - before,
      (n) => n === MAX,
    );
    assertOverloaded(await send('ok'));
    controller.abort();
    for (const e of await Promise.all(hanging)) assert.equal(e.name, 'AbortError');
    await Promise.all(up.requests.slice(before).map((r) => r.closed));
    await idle();
    assert.deepEqual(await burst(), { ok: MAX, shed: BURST - MAX });
  });

  test('slots are given back when clients go away in the middle of their request body', async () => {
    const { port } = new URL(gw.url);
    for (const route of ['upload-kept', 'upload-streamed']) {
      const socket = connect(Number(port), '127.0.0.1');
      await new Promise((resolve) => socket.once('connect', resolve));
      socket.on('error', () => {});
      // 10 of the 100 announced bytes; PUT with an Idempotency-Key may be retried, so it is kept.
      socket.write(
        `PUT /${route} HTTP/1.1\r\nHost: gw\r\nIdempotency-Key: k1\r\nContent-Length: 100\r\n\r\n0123456789`,
      );
      await waitFor(
        `${route}: the upload holds the slot`,
        5_000,
        () => concurrencyOf(gw, route),
        (c) => c.inFlight === 1,
      );
      const refused = await request(`${gw.url}/${route}`, { dispatcher: agent });
      assertOverloaded({
        status: refused.statusCode,
        headers: refused.headers,
        text: await refused.body.text(),
      });
      socket.destroy();
      await waitFor(
        `${route}: slot given back`,
        5_000,
        () => concurrencyOf(gw, route),
        (c) => c.inFlight === 0,
      );
      const next = await request(`${gw.url}/${route}`, {
        dispatcher: agent,
        headers: { 'x-test-behavior': 'ok' },
      });
      await next.body.dump();
      assert.equal(next.statusCode, 200, route);
    }
  });

  test('slots are given back when the upstream fails (reset, 5xx, body cut short)', async () => {
    await idle();
    /** The status the client saw, or 'cut' when the answer broke off mid-body. */
    const attempt = async (behavior: Behavior): Promise<number | 'cut'> => {
      const res = await request(`${gw.url}/work`, {
        headers: { 'x-test-behavior': behavior },
        dispatcher: agent,
      });
      const text = await res.body.text().catch(() => undefined);
      if (text === undefined) return 'cut';
      if (res.statusCode === 503)
        assert.notEqual((JSON.parse(text) as Json).code, 'CUTOVER_ERR_OVERLOADED');
      return res.statusCode;
    };
    const expected: [Behavior, number | 'cut'][] = [
      ['reset', 502],
      ['status:500', 500],
      ['status:503', 503],
      ['close-early', 'cut'],
    ];
    for (const [behavior, outcome] of expected) {
      const seen = await Promise.all(Array.from({ length: MAX }, () => attempt(behavior)));
      assert.deepEqual(seen, Array(MAX).fill(outcome), behavior);
    }
    await idle();
    assert.deepEqual(await burst(), { ok: MAX, shed: BURST - MAX });
  });
});

describe('adaptive concurrency limit', () => {
  const MAX = 100;
  /** Client loops: more than the limit falls to, so a fallen limit sheds. */
  const LOOPS = 12;
  /** A fast backend: its latency is the 5 ms timer, not the shared event loop. */
  const FAST: Behavior = 'slow:5';
  const SLOW: Behavior = 'slow:200';
  let up: Upstream;
  let gw: TestGateway;
  let agent: Agent;

  before(async () => {
    up = await startUpstream({ name: 'up', behavior: FAST });
    gw = await startGateway(`listen: 127.0.0.1:0
admin: { listen: 127.0.0.1:0 }
state: memory
backends:
  up: { url: ${up.url} }
routes:
  - name: adaptive
    match: { path: /* }
    legacy: up
    concurrency: { max: ${MAX}, adaptive: true, minLimit: 2 }
`);
    agent = new Agent({ connections: LOOPS + 4 });
  });
  after(async () => {
    await agent.close();
    await gw.close();
    await up.close();
  });

  test('the limit falls when the backend slows, sheds the excess, and grows back when it is fast again', async (t) => {
    const counts = { ok: 0, shed: 0, other: 0 };
    let stop = false;
    let failure: unknown;
    const loop = async (): Promise<void> => {
      while (!stop) {
        const res = await request(`${gw.url}/load`, { dispatcher: agent });
        const text = await res.body.text();
        if (res.statusCode === 200) counts.ok++;
        else if (res.statusCode === 503) {
          assertOverloaded({ status: res.statusCode, headers: res.headers, text });
          counts.shed++;
          // A shed answer comes back at once; do not spin on it.
          await sleep(10);
        } else counts.other++;
      }
    };
    const load = Promise.all(Array.from({ length: LOOPS }, loop)).catch((e: unknown) => {
      failure = e;
      stop = true;
    });
    /** The route's figures; a failed load loop ends the wait at once. */
    const figures = async (): Promise<ConcurrencyFigures> => {
      if (failure !== undefined) throw failure;
      return concurrencyOf(gw, 'adaptive');
    };
    try {
      // Warm-up: enough fast answers for a baseline; nothing shed meanwhile.
      const warm = await waitFor(
        'a latency baseline',
        15_000,
        figures,
        (c) => c.baselineMs !== undefined && counts.ok >= 500,
      );
      assert.equal(warm.adaptive, true);
      assert.equal(counts.shed, 0, 'nothing shed while the backend is fast');
      assert.ok(warm.limit > LOOPS, `limit ${warm.limit} while fast`);
      t.diagnostic(`baseline ${warm.baselineMs?.toFixed(1)} ms after ${counts.ok} requests`);

      up.setBehavior(SLOW);
      const fallen = await waitFor(
        'the limit falling and shedding',
        20_000,
        figures,
        (c) => c.limit <= 10 && counts.shed > 0,
      );
      t.diagnostic(
        `slow: limit ${fallen.limit}, recent ${fallen.recentMs?.toFixed(1)} ms, shed ${counts.shed}`,
      );
      assert.ok(fallen.limit >= 2, 'never below minLimit');
      assert.ok(fallen.rejected > 0);
      const shedMetric = await metricOf(gw, 'cutover_shed_total', { route: 'adaptive' });
      assert.ok(shedMetric !== undefined && shedMetric >= counts.shed, `shed metric ${shedMetric}`);

      up.setBehavior(FAST);
      const low = fallen.limit;
      const recovered = await waitFor(
        'the limit growing back',
        20_000,
        figures,
        (c) => c.limit === MAX,
      );
      t.diagnostic(`fast again: limit ${low} → ${recovered.limit}`);
    } finally {
      stop = true;
      await load;
    }
    assert.equal(failure, undefined);
    assert.equal(counts.other, 0, 'only 200 and shed 503 answers');
  });
});

describe('backend concurrency cap', () => {
  test('a full candidate sends the excess to legacy (shed); a full legacy answers 503', async () => {
    const legacy = await startUpstream({ name: 'legacy', behavior: 'slow:300' });
    const rewrite = await startUpstream({ name: 'rewrite', behavior: 'slow:300' });
    const gw = await startGateway(`listen: 127.0.0.1:0
admin: { listen: 127.0.0.1:0 }
state: memory
backends:
  legacy: { url: ${legacy.url}, concurrency: { max: 3 } }
  rewrite: { url: ${rewrite.url}, concurrency: { max: 2 } }
routes:
  - { name: split, match: { path: /s }, legacy: legacy, candidate: rewrite, weight: 100 }
  - { name: old, match: { path: /o }, legacy: legacy }
`);
    try {
      const answers = await Promise.all(
        Array.from({ length: 5 }, async () => {
          const res = await request(`${gw.url}/s`);
          await res.body.dump();
          return `${res.statusCode} ${res.headers['x-cutover-backend']} ${res.headers['x-cutover-fallback'] ?? '-'}`;
        }),
      );
      answers.sort();
      assert.deepEqual(answers, [
        '200 candidate -',
        '200 candidate -',
        '200 legacy shed',
        '200 legacy shed',
        '200 legacy shed',
      ]);
      // legacy is free again; now 5 at once on the legacy-only route: 3 served, 2 refused.
      const old = await Promise.all(
        Array.from({ length: 5 }, async () => {
          const res = await request(`${gw.url}/o`);
          const body = (await res.body.json()) as { code?: string };
          return `${res.statusCode} ${body.code ?? '-'}`;
        }),
      );
      old.sort();
      assert.deepEqual(old, [
        '200 -',
        '200 -',
        '200 -',
        '503 CUTOVER_ERR_OVERLOADED',
        '503 CUTOVER_ERR_OVERLOADED',
      ]);
    } finally {
      await gw.close();
      await legacy.close();
      await rewrite.close();
    }
  });
});
