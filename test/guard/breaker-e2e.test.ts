// Circuit breakers as users and operators meet them, through a real gateway:
// where they trip, how they recover (with traffic and without), what they
// refuse, what they report (admin API, metrics, log) and the kill switch.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { request } from 'undici';
import { startGateway, type TestGateway, tempDir } from '../helpers/gateway.ts';
import { metricValue } from '../helpers/metrics.ts';
import { startUpstream, type Upstream } from '../helpers/upstream.ts';
import { eventually } from '../helpers/wait.ts';

type Json = Record<string, unknown>;

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

interface Snapshot {
  state: string;
  forced: string | null;
  calls: number;
  failures: number;
  errorRatio: number;
  probeSuccesses: number;
}

/** Deadline for anything the test waits for; generous, as it only bounds a failure. */

async function call(
  url: string,
  options: { method?: 'GET' | 'POST'; body?: string; headers?: Record<string, string> } = {},
): Promise<Answer> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  const res = await request(url, { method: options.method ?? 'GET', headers, body: options.body });
  return { status: res.statusCode, headers: res.headers, text: await res.body.text() };
}

function bodyOf(a: Answer): Json {
  return JSON.parse(a.text) as Json;
}

async function metrics(gw: TestGateway): Promise<string> {
  const a = await call(`${gw.adminUrl}/metrics`);
  assert.equal(a.status, 200);
  return a.text;
}

interface Setup {
  gw: TestGateway;
  legacy: Upstream;
  rewrite: Upstream;
  old: Upstream;
  close(): Promise<void>;
}

/**
 * Legacy and a candidate (`rewrite`) with a small breaker at weight 100 on
 * route `main`, plus a legacy-only route `solo` on backend `old` with the same
 * breaker. `openFor` is per test: short where recovery is the subject, long
 * where the breaker must stay open while the test looks at it.
 */
async function setup(
  options: { openFor?: string; state?: string; dir?: string; upstreams?: Setup } = {},
): Promise<Setup> {
  const legacy = options.upstreams?.legacy ?? (await startUpstream({ name: 'legacy' }));
  const rewrite = options.upstreams?.rewrite ?? (await startUpstream({ name: 'rewrite' }));
  const old = await startUpstream({ name: 'old' });
  const breaker = `{ minRequests: 10, window: 10s, openFor: ${options.openFor ?? '500ms'}, probes: 2 }`;
  const gw = await startGateway(
    `listen: 127.0.0.1:0
admin: { listen: 127.0.0.1:0 }
state: ${options.state ?? 'memory'}
backends:
  legacy: { url: ${legacy.url} }
  rewrite: { url: ${rewrite.url}, breaker: ${breaker} }
  old: { url: ${old.url}, breaker: ${breaker} }
routes:
  - name: main
    match: { path: /* }
    legacy: legacy
    candidate: rewrite
    split: { stickyKey: header:x-user-id }
    weight: 100
  - name: solo
    match: { path: /solo/* }
    legacy: old
`,
    { dir: options.dir },
  );
  return {
    gw,
    legacy,
    rewrite,
    old,
    async close() {
      await gw.close();
      await old.close();
      if (!options.upstreams) {
        await legacy.close();
        await rewrite.close();
      }
    },
  };
}

async function breakerOf(gw: TestGateway, route = 'main', side = 'candidate'): Promise<Snapshot> {
  const a = await call(`${gw.adminUrl}/api/routes/${route}`);
  assert.equal(a.status, 200, a.text);
  const breakers = bodyOf(a).breakers as Record<string, Snapshot | null>;
  const snap = breakers[side];
  assert.ok(snap, `route ${route} has a ${side} breaker`);
  return snap;
}

let nextUser = 0;

/** One GET as a fresh user; every answer must be a 200 (legacy covers for the candidate). */
async function get(gw: TestGateway, path = '/item'): Promise<Answer> {
  const a = await call(`${gw.url}${path}`, { headers: { 'x-user-id': `user-${nextUser++}` } });
  assert.equal(a.status, 200, a.text);
  return a;
}

/** `n` GETs one after the other, so the breaker sees them in order. */
async function sendGets(gw: TestGateway, n: number): Promise<Answer[]> {
  const answers: Answer[] = [];
  for (let i = 0; i < n; i++) answers.push(await get(gw));
  return answers;
}

/** Candidate answers `ok` times 200 then `failures` times 500; the clients see 200 throughout. */
async function feed(s: Setup, ok: number, failures: number): Promise<void> {
  s.rewrite.setBehavior('ok');
  for (const a of await sendGets(s.gw, ok))
    assert.equal(a.headers['x-cutover-backend'], 'candidate');
  s.rewrite.setBehavior('status:500');
  for (const a of await sendGets(s.gw, failures)) {
    assert.equal(a.headers['x-cutover-backend'], 'legacy');
    assert.equal(a.headers['x-cutover-fallback'], '5xx');
  }
}

/** Client requests the candidate received (the gateway's own idle probes left out). */
function clientRequests(up: Upstream): number {
  return up.requests.filter((r) => r.headers['user-agent'] !== 'cutover-breaker-probe').length;
}

function transitions(gw: TestGateway): Json[] {
  return gw.logs().filter((l) => typeof l.msg === 'string' && l.msg.startsWith('breaker '));
}

describe('breaker thresholds through the gateway', () => {
  test('4 failures of 10 (below errorRatio 0.5) leave it closed, even at 5 of 11', async () => {
    const s = await setup();
    try {
      await feed(s, 6, 4);
      let snap = await breakerOf(s.gw);
      assert.equal(snap.state, 'closed');
      assert.equal(snap.calls, 10);
      assert.equal(snap.failures, 4);
      await feed(s, 0, 1);
      snap = await breakerOf(s.gw);
      assert.equal(snap.state, 'closed', '5/11 is below 50%');
      assert.equal(snap.failures, 5);
      // Still closed: the next request reaches the candidate.
      const before = clientRequests(s.rewrite);
      const a = await get(s.gw);
      assert.equal(a.headers['x-cutover-fallback'], '5xx');
      assert.equal(clientRequests(s.rewrite), before + 1);
    } finally {
      await s.close();
    }
  });

  test('5 failures of 10 open it, and the candidate gets nothing more', async () => {
    const s = await setup({ openFor: '1m' });
    try {
      await feed(s, 5, 5);
      const snap = await breakerOf(s.gw);
      assert.equal(snap.state, 'open');
      assert.equal(snap.calls, 10);
      assert.equal(snap.failures, 5);
      assert.equal(snap.errorRatio, 0.5);
      const before = clientRequests(s.rewrite);
      const a = await get(s.gw);
      assert.equal(a.headers['x-cutover-backend'], 'legacy');
      assert.equal(a.headers['x-cutover-fallback'], 'breaker-open');
      assert.equal(bodyOf(a).upstream, 'legacy');
      assert.equal(clientRequests(s.rewrite), before);
    } finally {
      await s.close();
    }
  });

  test('honours minRequests: 9 failures of 9 leave it closed, the 10th opens it', async () => {
    const s = await setup({ openFor: '1m' });
    try {
      await feed(s, 0, 9);
      let snap = await breakerOf(s.gw);
      assert.equal(snap.state, 'closed');
      assert.equal(snap.calls, 9);
      assert.equal(snap.failures, 9);
      await feed(s, 0, 1);
      snap = await breakerOf(s.gw);
      assert.equal(snap.state, 'open');
      assert.equal(snap.failures, 10);
    } finally {
      await s.close();
    }
  });

  test('requests refused by an open breaker are not counted as failures', async () => {
    const s = await setup({ openFor: '1m' });
    try {
      await feed(s, 5, 5);
      const open = await breakerOf(s.gw);
      assert.equal(open.state, 'open');
      const before = clientRequests(s.rewrite);
      const answers = await Promise.all(Array.from({ length: 30 }, () => get(s.gw)));
      for (const a of answers) assert.equal(a.headers['x-cutover-fallback'], 'breaker-open');
      assert.equal(clientRequests(s.rewrite), before, 'the candidate got none of them');
      const after = await breakerOf(s.gw);
      assert.equal(after.state, 'open');
      assert.equal(after.calls, open.calls);
      assert.equal(after.failures, open.failures);
    } finally {
      await s.close();
    }
  });
  test('4xx answers are not failures: 12 × 404 leave it closed and reach the client', async () => {
    const s = await setup({ openFor: '1m' });
    try {
      s.rewrite.setBehavior('status:404');
      for (let i = 0; i < 12; i++) {
        const a = await call(`${s.gw.url}/missing/${i}`, {
          headers: { 'x-user-id': `user-${nextUser++}` },
        });
        assert.equal(a.status, 404);
        assert.equal(a.headers['x-cutover-backend'], 'candidate');
        assert.equal(a.headers['x-cutover-fallback'], undefined);
      }
      const snap = await breakerOf(s.gw);
      assert.equal(snap.state, 'closed');
      assert.equal(snap.calls, 12);
      assert.equal(snap.failures, 0);
    } finally {
      await s.close();
    }
  });

  test('requests the client cancels are not counted as failures of the candidate', async () => {
    const s = await setup({ openFor: '1m' });
    try {
      s.rewrite.setBehavior('hang');
      const aborts = Array.from({ length: 12 }, () => new AbortController());
      const pending = aborts.map((c, i) =>
        request(`${s.gw.url}/cancel/${i}`, {
          headers: { 'x-user-id': `user-${nextUser++}` },
          signal: c.signal,
        }).then(
          () => 'answered',
          () => 'cancelled',
        ),
      );
      await eventually(
        'all requests to reach the candidate',
        () => s.rewrite.requests.length === 12,
      );
      for (const c of aborts) c.abort();
      assert.deepEqual(new Set(await Promise.all(pending)), new Set(['cancelled']));
      await eventually('the gateway to finish the cancelled requests', async () => {
        const a = await call(`${s.gw.adminUrl}/api/routes/main`);
        return bodyOf(a).inFlight === 0;
      });
      await eventually('the candidate to see the cancels', () =>
        s.rewrite.requests.every((r) => r.aborted),
      );
      const snap = await breakerOf(s.gw);
      assert.equal(snap.state, 'closed');
      assert.equal(snap.failures, 0);
      s.rewrite.setBehavior('ok');
      const a = await get(s.gw);
      assert.equal(a.headers['x-cutover-backend'], 'candidate');
    } finally {
      await s.close();
    }
  });
});

describe('breaker recovery through the gateway', () => {
  test('half-opens after openFor and closes after 2 good probes; metrics and log follow', async () => {
    const s = await setup();
    try {
      let m = await metrics(s.gw);
      const labels = { backend: 'rewrite', route: 'main' };
      assert.equal(metricValue(m, 'cutover_breaker_state', labels), 0);

      await feed(s, 5, 5);
      m = await metrics(s.gw);
      assert.equal(metricValue(m, 'cutover_breaker_state', labels), 2);
      assert.equal(
        metricValue(m, 'cutover_breaker_transitions_total', {
          ...labels,
          from: 'closed',
          to: 'open',
        }),
        1,
      );
      const opened = transitions(s.gw).find((l) => l.from === 'closed' && l.to === 'open');
      assert.ok(opened, 'a log line for closed → open');
      assert.equal(opened.level, 'warn');
      assert.equal(opened.backend, 'rewrite');
      assert.equal(opened.route, 'main');
      assert.equal(opened.calls, 10);
      assert.equal(opened.failures, 5);
      assert.equal(opened.errorRatio, 0.5);
      assert.equal(opened.windowMs, 10_000);
      assert.match(String(opened.reason), /5\/10/);

      // The candidate is healthy again; clients keep coming and the first one past openFor probes it.
      s.rewrite.setBehavior('ok');
      let probe: Answer | undefined;
      await eventually('a request reaching the candidate after openFor', async () => {
        const a = await get(s.gw);
        if (a.headers['x-cutover-backend'] !== 'candidate') {
          assert.equal(a.headers['x-cutover-fallback'], 'breaker-open');
          return false;
        }
        probe = a;
        return true;
      });
      assert.equal(bodyOf(probe!).upstream, 'rewrite');
      const half = await breakerOf(s.gw);
      assert.equal(half.state, 'half-open');
      assert.equal(half.probeSuccesses, 1);
      m = await metrics(s.gw);
      assert.equal(metricValue(m, 'cutover_breaker_state', labels), 1);

      const second = await get(s.gw);
      assert.equal(second.headers['x-cutover-backend'], 'candidate');
      const closed = await breakerOf(s.gw);
      assert.equal(closed.state, 'closed');
      assert.equal(closed.calls, 0, 'a fresh window after closing');

      m = await metrics(s.gw);
      assert.equal(metricValue(m, 'cutover_breaker_state', labels), 0);
      for (const [from, to] of [
        ['closed', 'open'],
        ['open', 'half-open'],
        ['half-open', 'closed'],
      ]) {
        assert.equal(
          metricValue(m, 'cutover_breaker_transitions_total', { ...labels, from, to }),
          1,
          `${from} → ${to}`,
        );
      }
      const lines = transitions(s.gw).map((l) => `${l.from} → ${l.to}`);
      assert.deepEqual(lines, ['closed → open', 'open → half-open', 'half-open → closed']);
      const last = transitions(s.gw).at(-1)!;
      assert.equal(last.level, 'info');
      assert.match(String(last.reason), /2 of 2 probes/);
      // Back to normal: clients are served by the candidate again.
      const after = await get(s.gw);
      assert.equal(after.headers['x-cutover-backend'], 'candidate');
    } finally {
      await s.close();
    }
  });

  test('a failed probe opens it again', async () => {
    const s = await setup();
    try {
      await feed(s, 0, 10);
      assert.equal((await breakerOf(s.gw)).state, 'open');
      // Still failing: the first request after openFor is the probe, fails, and legacy answers.
      await eventually('a probe request reaching the candidate', async () => {
        const a = await get(s.gw);
        return a.headers['x-cutover-fallback'] === '5xx';
      });
      const snap = await breakerOf(s.gw);
      assert.equal(snap.state, 'open');
      const reopened = transitions(s.gw).find((l) => l.from === 'half-open' && l.to === 'open');
      assert.ok(reopened, 'a log line for half-open → open');
      assert.match(String(reopened.reason), /probe 1 of 2 failed/);
      const m = await metrics(s.gw);
      assert.equal(
        metricValue(m, 'cutover_breaker_transitions_total', {
          backend: 'rewrite',
          route: 'main',
          from: 'half-open',
          to: 'open',
        }),
        1,
      );
      assert.equal(
        metricValue(m, 'cutover_breaker_state', { backend: 'rewrite', route: 'main' }),
        2,
      );
      const next = await get(s.gw);
      assert.equal(next.headers['x-cutover-fallback'], 'breaker-open');
    } finally {
      await s.close();
    }
  });

  test('with no traffic at all, the idle probe closes it once the candidate is healthy', async () => {
    const s = await setup();
    try {
      await feed(s, 0, 10);
      assert.equal((await breakerOf(s.gw)).state, 'open');
      const clientCount = clientRequests(s.rewrite);
      s.rewrite.setBehavior('ok');
      // No client request from here on: only the gateway's own probe can close it.
      await eventually(
        'the breaker to close',
        async () => (await breakerOf(s.gw)).state === 'closed',
      );
      assert.equal(clientRequests(s.rewrite), clientCount);
      const probes = s.rewrite.requests.filter(
        (r) => r.headers['user-agent'] === 'cutover-breaker-probe',
      );
      assert.ok(probes.length >= 1, 'the gateway probed the candidate');
      assert.equal(probes[0].url, '/');
      const closed = transitions(s.gw).at(-1)!;
      assert.equal(closed.to, 'closed');
      assert.match(String(closed.reason), /active health probe passed/);
      const m = await metrics(s.gw);
      assert.equal(
        metricValue(m, 'cutover_breaker_state', { backend: 'rewrite', route: 'main' }),
        0,
      );
      const a = await get(s.gw);
      assert.equal(a.headers['x-cutover-backend'], 'candidate');
    } finally {
      await s.close();
    }
  });
});

describe('legacy breaker', () => {
  test('legacy failing opens its breaker: 503 problem+json CUTOVER_ERR_BREAKER_OPEN with Retry-After', async () => {
    const s = await setup({ openFor: '1m' });
    try {
      for (let i = 0; i < 10; i++) {
        const a = await call(`${s.gw.url}/solo/x`, {
          headers: { 'x-test-behavior': 'status:500' },
        });
        assert.equal(a.status, 500, 'no candidate to fall back to: the client sees the 500');
        assert.equal(bodyOf(a).upstream, 'old');
      }
      const snap = await breakerOf(s.gw, 'solo', 'legacy');
      assert.equal(snap.state, 'open');
      assert.equal(snap.failures, 10);
      const a = await call(`${s.gw.url}/solo/x`);
      assert.equal(a.status, 503, a.text);
      assert.equal(a.headers['content-type'], 'application/problem+json');
      assert.ok(a.headers['retry-after'], 'Retry-After is set');
      assert.match(String(a.headers['retry-after']), /^\d+$/, 'Retry-After in delta-seconds');
      const body = bodyOf(a);
      assert.equal(body.code, 'CUTOVER_ERR_BREAKER_OPEN');
      assert.equal(body.status, 503);
      assert.equal(body.route, 'solo');
      assert.equal(body.backend, 'old');
      assert.equal(s.old.requests.length, 10, 'the refused request never reached legacy');
      // The other route's breakers are its own.
      const main = await get(s.gw);
      assert.equal(main.headers['x-cutover-backend'], 'candidate');
    } finally {
      await s.close();
    }
  });
});

describe('manual kill switch', () => {
  async function force(gw: TestGateway, backend: string, state: string): Promise<Answer> {
    return call(`${gw.adminUrl}/api/backends/${backend}/breaker`, {
      method: 'POST',
      body: JSON.stringify({ state }),
    });
  }

  test('forced open sends everyone to legacy (breaker-open); auto gives the candidate back', async () => {
    const s = await setup();
    try {
      const forced = await force(s.gw, 'rewrite', 'open');
      assert.equal(forced.status, 200, forced.text);
      const fb = bodyOf(forced);
      assert.equal(fb.backend, 'rewrite');
      assert.equal(fb.forced, 'open');
      assert.equal(((fb.routes as Json).main as Snapshot).state, 'open');

      const before = clientRequests(s.rewrite);
      const answers = await Promise.all(Array.from({ length: 20 }, () => get(s.gw)));
      for (const a of answers) {
        assert.equal(a.headers['x-cutover-backend'], 'legacy');
        assert.equal(a.headers['x-cutover-fallback'], 'breaker-open');
      }
      assert.equal(clientRequests(s.rewrite), before);
      const seen = await call(`${s.gw.adminUrl}/api/backends/rewrite/breaker`);
      assert.equal(seen.status, 200);
      assert.equal(bodyOf(seen).forced, 'open');
      assert.equal((await breakerOf(s.gw)).forced, 'open');

      const auto = await force(s.gw, 'rewrite', 'auto');
      assert.equal(auto.status, 200, auto.text);
      assert.equal(bodyOf(auto).forced, null);
      const back = await Promise.all(Array.from({ length: 5 }, () => get(s.gw)));
      for (const a of back) {
        assert.equal(a.headers['x-cutover-backend'], 'candidate');
        assert.equal(a.headers['x-cutover-fallback'], undefined);
      }
      assert.equal(clientRequests(s.rewrite), before + 5);
    } finally {
      await s.close();
    }
  });

  test('forced closed keeps sending to a failing candidate; back on auto it trips at once', async () => {
    const s = await setup({ openFor: '1m' });
    try {
      assert.equal((await force(s.gw, 'rewrite', 'closed')).status, 200);
      await feed(s, 0, 12);
      let snap = await breakerOf(s.gw);
      assert.equal(snap.state, 'closed');
      assert.equal(snap.forced, 'closed');
      assert.equal(snap.failures, 12, 'the window still counts while forced');
      assert.equal(clientRequests(s.rewrite), 12);
      assert.equal((await force(s.gw, 'rewrite', 'auto')).status, 200);
      snap = await breakerOf(s.gw);
      assert.equal(snap.forced, null);
      assert.equal(snap.state, 'open', 'the failures seen while forced trip it');
      const a = await get(s.gw);
      assert.equal(a.headers['x-cutover-fallback'], 'breaker-open');
    } finally {
      await s.close();
    }
  });

  test('a forced-open breaker stays forced across a config reload that changes its settings', async () => {
    const s = await setup();
    try {
      assert.equal((await force(s.gw, 'rewrite', 'open')).status, 200);
      const yaml = readFileSync(s.gw.file, 'utf8');
      assert.match(yaml, /openFor: 500ms/);
      writeFileSync(s.gw.file, yaml.replaceAll('openFor: 500ms', 'openFor: 700ms'));
      assert.equal(await s.gw.running.reload(), true);
      const snap = await breakerOf(s.gw);
      assert.equal(snap.forced, 'open');
      assert.equal(snap.state, 'open');
      const a = await get(s.gw);
      assert.equal(a.headers['x-cutover-fallback'], 'breaker-open');
      assert.equal(clientRequests(s.rewrite), 0);
    } finally {
      await s.close();
    }
  });

  test('a forced-open breaker survives a restart with sqlite state', async () => {
    const dir = tempDir();
    const state = `sqlite:${dir}/state.db`;
    const first = await setup({ state, dir });
    const upstreams = first;
    try {
      assert.equal((await force(first.gw, 'rewrite', 'open')).status, 200);
      await first.gw.close();

      const second = await setup({ state, dir, upstreams });
      try {
        const seen = await call(`${second.gw.adminUrl}/api/backends/rewrite/breaker`);
        assert.equal(bodyOf(seen).forced, 'open');
        assert.equal((await breakerOf(second.gw)).state, 'open');
        const a = await get(second.gw);
        assert.equal(a.headers['x-cutover-fallback'], 'breaker-open');
        assert.equal(bodyOf(a).upstream, 'legacy');
        assert.equal((await force(second.gw, 'rewrite', 'auto')).status, 200);
      } finally {
        await second.close();
      }

      // Back to automatic is persisted too.
      const third = await setup({ state, dir, upstreams });
      try {
        assert.equal((await breakerOf(third.gw)).state, 'closed');
        const a = await get(third.gw);
        assert.equal(a.headers['x-cutover-backend'], 'candidate');
      } finally {
        await third.close();
      }
    } finally {
      await first.close();
    }
  });

  test('a bad state is refused with 400; an unknown backend with 404', async () => {
    const s = await setup();
    try {
      const bad = await force(s.gw, 'rewrite', 'half-open');
      assert.equal(bad.status, 400, bad.text);
      assert.equal(bad.headers['content-type'], 'application/problem+json');
      assert.equal(bodyOf(bad).code, 'CUTOVER_ERR_INVALID_ARGUMENT');
      const notJson = await call(`${s.gw.adminUrl}/api/backends/rewrite/breaker`, {
        method: 'POST',
        body: '{state: open',
      });
      assert.equal(notJson.status, 400, notJson.text);
      // Nothing was forced by the refused calls.
      assert.equal((await breakerOf(s.gw)).forced, null);

      const unknown = await force(s.gw, 'nope', 'open');
      assert.equal(unknown.status, 404, unknown.text);
      assert.equal(bodyOf(unknown).code, 'CUTOVER_ERR_NOT_FOUND');
    } finally {
      await s.close();
    }
  });

  test("GET of an unknown backend's breaker is 404, as POST is", async () => {
    const s = await setup();
    try {
      // A typo must not read as "not forced, no routes".
      const unknown = await call(`${s.gw.adminUrl}/api/backends/nope/breaker`);
      assert.equal(unknown.status, 404, unknown.text);
      assert.equal(bodyOf(unknown).code, 'CUTOVER_ERR_NOT_FOUND');
    } finally {
      await s.close();
    }
  });
});
