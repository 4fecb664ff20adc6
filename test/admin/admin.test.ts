import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { request } from 'undici';
import { startCutover } from '../../src/cli/run.ts';
import { createLogger } from '../../src/telemetry/index.ts';
import { startGateway, type TestGateway, tempDir, twoBackendYaml } from '../helpers/gateway.ts';
import { oneSample, parseMetrics, type Sample } from '../helpers/metrics.ts';
import { startUpstream, type Upstream } from '../helpers/upstream.ts';
import { eventually } from '../helpers/wait.ts';

type Json = Record<string, unknown>;

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

async function call(
  url: string,
  options: { method?: 'GET' | 'PUT' | 'DELETE' | 'HEAD'; body?: string; token?: string } = {},
): Promise<Answer> {
  const headers: Record<string, string> = {};
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  if (options.token !== undefined) headers.authorization = options.token;
  const res = await request(url, { method: options.method ?? 'GET', headers, body: options.body });
  return { status: res.statusCode, headers: res.headers, text: await res.body.text() };
}

function problem(a: Answer, status: number, code: string): Json {
  assert.equal(a.status, status, a.text);
  assert.equal(a.headers['content-type'], 'application/problem+json');
  const body = JSON.parse(a.text) as Json;
  assert.equal(body.status, status);
  assert.equal(body.code, code);
  assert.equal(typeof body.detail, 'string');
  return body;
}

async function metrics(gw: TestGateway, token?: string): Promise<Sample[]> {
  const a = await call(`${gw.adminUrl}/metrics`, { token });
  assert.equal(a.status, 200);
  assert.match(String(a.headers['content-type']), /^text\/plain/);
  return parseMetrics(a.text);
}

/** Sends one request per user id and returns the ids the candidate served. */
async function candidateUsers(gw: TestGateway, users: number): Promise<Set<string>> {
  const served = new Set<string>();
  for (let i = 0; i < users; i++) {
    const id = `user-${i}`;
    const res = await request(`${gw.url}/split`, { headers: { 'x-user-id': id } });
    assert.equal(res.statusCode, 200);
    const body = (await res.body.json()) as Json;
    if (body.upstream === 'rewrite') served.add(id);
    else assert.equal(body.upstream, 'legacy');
  }
  return served;
}

describe('admin: probes', () => {
  let legacy: Upstream;
  let rewrite: Upstream;
  let gw: TestGateway;

  before(async () => {
    legacy = await startUpstream({ name: 'legacy' });
    rewrite = await startUpstream({ name: 'rewrite' });
    gw = await startGateway(`listen: 127.0.0.1:0
admin: { listen: 127.0.0.1:0 }
state: memory
backends:
  old-svc:
    url: ${legacy.url}
    health: { path: /healthz, interval: 100ms, unhealthy: 1, healthy: 1 }
  rewrite: { url: ${rewrite.url} }
routes:
  - name: profile
    match: { path: /* }
    legacy: old-svc
    candidate: rewrite
`);
  });
  after(async () => {
    await gw.close();
    await legacy.close();
    await rewrite.close();
  });

  test('GET /healthz: 200 ok as text/plain', async () => {
    const a = await call(`${gw.adminUrl}/healthz`);
    assert.equal(a.status, 200);
    assert.match(String(a.headers['content-type']), /^text\/plain/);
    assert.equal(a.text, 'ok');
  });

  test('GET /readyz follows the legacy backend health: 200, then 503 naming it, then 200', async () => {
    const up = async (): Promise<number | undefined> =>
      oneSample(await metrics(gw), 'cutover_backend_up', { backend: 'old-svc' });
    await eventually('a health check of old-svc', async () => legacy.requests.length > 0);
    const ready = await call(`${gw.adminUrl}/readyz`);
    assert.equal(ready.status, 200);
    assert.deepEqual(JSON.parse(ready.text), { status: 'ok' });
    assert.equal(await up(), 1);
    assert.equal(legacy.requests[0].url, '/healthz', 'the health check asks the configured path');

    legacy.setBehavior('status:500');
    await eventually(
      '/readyz to answer 503',
      async () => (await call(`${gw.adminUrl}/readyz`)).status === 503,
    );
    const notReady = await call(`${gw.adminUrl}/readyz`);
    assert.equal(notReady.status, 503);
    assert.match(notReady.text, /profile/);
    assert.match(notReady.text, /old-svc/);
    assert.equal(await up(), 0);
    // liveness does not depend on backends
    assert.equal((await call(`${gw.adminUrl}/healthz`)).status, 200);

    legacy.setBehavior('ok');
    await eventually(
      '/readyz to answer 200 again',
      async () => (await call(`${gw.adminUrl}/readyz`)).status === 200,
    );
    assert.deepEqual(JSON.parse((await call(`${gw.adminUrl}/readyz`)).text), { status: 'ok' });
    assert.equal(await up(), 1);
  });

  test('a candidate without health checks counts as up and does not affect readiness', async () => {
    const samples = await metrics(gw);
    assert.equal(oneSample(samples, 'cutover_backend_up', { backend: 'rewrite' }), 1);
  });
});

describe('admin: metrics', () => {
  let legacy: Upstream;
  let rewrite: Upstream;
  let gw: TestGateway;

  before(async () => {
    legacy = await startUpstream({ name: 'legacy' });
    rewrite = await startUpstream({ name: 'rewrite' });
    gw = await startGateway(
      twoBackendYaml(legacy.url, rewrite.url, { top: 'log: { access: false }' }),
    );
  });
  after(async () => {
    await gw.close();
    await legacy.close();
    await rewrite.close();
  });

  test('/metrics is Prometheus text counting proxied requests by route, side, backend and class', async () => {
    const before = await metrics(gw);
    const count = (s: Sample[], side: string, backend: string, cls: string) =>
      oneSample(s, 'cutover_requests_total', { route: 'main', side, backend, class: cls }) ?? 0;
    const legacy2xx = count(before, 'legacy', 'legacy', '2xx');
    const legacy5xx = count(before, 'legacy', 'legacy', '5xx');
    const candidate2xx = count(before, 'candidate', 'rewrite', '2xx');

    for (let i = 0; i < 3; i++) await (await request(`${gw.url}/m/${i}`)).body.dump();
    const forced = await request(`${gw.url}/m/forced`, {
      headers: { 'x-release-stage': 'canary' },
    });
    assert.equal(forced.headers['x-cutover-backend'], 'candidate');
    assert.equal(((await forced.body.json()) as Json).upstream, 'rewrite');
    const failed = await request(`${gw.url}/m/fail`, {
      headers: { 'x-test-behavior': 'status:503' },
    });
    assert.equal(failed.statusCode, 503);
    await failed.body.dump();

    const a = await call(`${gw.adminUrl}/metrics`);
    assert.equal(a.status, 200);
    assert.match(String(a.headers['content-type']), /^text\/plain; version=0\.0\.4/);
    assert.match(a.text, /^# HELP cutover_requests_total /m);
    assert.match(a.text, /^# TYPE cutover_requests_total counter$/m);
    assert.match(a.text, /^# TYPE cutover_request_duration_seconds histogram$/m);
    const after = parseMetrics(a.text);
    assert.equal(count(after, 'legacy', 'legacy', '2xx'), legacy2xx + 3);
    assert.equal(count(after, 'legacy', 'legacy', '5xx'), legacy5xx + 1);
    assert.equal(count(after, 'candidate', 'rewrite', '2xx'), candidate2xx + 1);

    const labels = { route: 'main', side: 'legacy', backend: 'legacy' };
    const inf = oneSample(after, 'cutover_request_duration_seconds_bucket', {
      ...labels,
      le: '+Inf',
    });
    const histogramCount = oneSample(after, 'cutover_request_duration_seconds_count', labels);
    assert.equal(inf, legacy2xx + legacy5xx + 4);
    assert.equal(histogramCount, inf);
    assert.ok(
      after.some(
        (s) => s.name === 'cutover_request_duration_seconds_bucket' && s.labels.le === '0.1',
      ),
      'finite buckets are exposed',
    );
    assert.equal(oneSample(after, 'cutover_requests_in_flight'), 0);
    assert.equal(oneSample(after, 'cutover_config_reloads_total', { result: 'ok' }), 0);
    assert.equal(oneSample(after, 'cutover_config_reloads_total', { result: 'failed' }), 0);
  });

  test('cutover_requests_in_flight counts a request while it is being proxied', async () => {
    const pending = request(`${gw.url}/slow`, { headers: { 'x-test-behavior': 'slow:600' } });
    await eventually('the slow request to reach legacy', async () =>
      legacy.requests.some((r) => r.url === '/slow'),
    );
    assert.equal(oneSample(await metrics(gw), 'cutover_requests_in_flight'), 1);
    const res = await pending;
    assert.equal(res.statusCode, 200);
    await res.body.dump();
    assert.equal(oneSample(await metrics(gw), 'cutover_requests_in_flight'), 0);
  });

  test('cutover_config_reloads_total counts reloads', async () => {
    assert.equal(await gw.running.reload(), true);
    assert.equal(oneSample(await metrics(gw), 'cutover_config_reloads_total', { result: 'ok' }), 1);
  });
});

describe('admin: routes and weights', () => {
  let legacy: Upstream;
  let rewrite: Upstream;
  let gw: TestGateway;

  before(async () => {
    legacy = await startUpstream({ name: 'legacy' });
    rewrite = await startUpstream({ name: 'rewrite' });
    gw = await startGateway(
      twoBackendYaml(legacy.url, rewrite.url, {
        top: 'log: { access: false }',
        route: '  - { name: solo, match: { path: /solo }, legacy: legacy }',
      }),
    );
  });
  after(async () => {
    await gw.close();
    await legacy.close();
    await rewrite.close();
  });

  test('GET /api/routes lists every route with its weight', async () => {
    const a = await call(`${gw.adminUrl}/api/routes`);
    assert.equal(a.status, 200);
    assert.match(String(a.headers['content-type']), /^application\/json/);
    const { routes } = JSON.parse(a.text) as { routes: Json[] };
    assert.deepEqual(routes.map((r) => r.name).sort(), ['main', 'solo']);
    const main = routes.find((r) => r.name === 'main')!;
    assert.equal(main.legacy, 'legacy');
    assert.equal(main.candidate, 'rewrite');
    assert.equal(main.weight, 0);
    assert.equal(main.configWeight, 0);
    assert.equal(main.weightSource, 'config');
    assert.equal((main.match as Json).path, '/*');
    const solo = routes.find((r) => r.name === 'solo')!;
    assert.equal(solo.candidate, null);
  });

  test('PUT /api/routes/NAME/weight takes effect on the next request', async () => {
    const beforeSet = await candidateUsers(gw, 200);
    assert.equal(beforeSet.size, 0, 'weight 0 sends nobody to the candidate');

    const a = await call(`${gw.adminUrl}/api/routes/main/weight`, {
      method: 'PUT',
      body: JSON.stringify({ weight: 12.5 }),
    });
    assert.equal(a.status, 200, a.text);
    const status = JSON.parse(a.text) as Json;
    assert.equal(status.name, 'main');
    assert.equal(status.weight, 12.5);
    assert.equal(status.configWeight, 0);
    assert.equal(status.weightSource, 'runtime');

    const afterSet = await candidateUsers(gw, 200);
    assert.ok(afterSet.size > 0, 'some users are on the candidate');
    assert.ok(afterSet.size < 200, 'not every user is on the candidate');
    assert.deepEqual(await candidateUsers(gw, 200), afterSet, 'the split is sticky');

    const listed = JSON.parse((await call(`${gw.adminUrl}/api/routes`)).text) as { routes: Json[] };
    assert.equal(listed.routes.find((r) => r.name === 'main')!.weight, 12.5);
    const one = JSON.parse((await call(`${gw.adminUrl}/api/routes/main`)).text) as Json;
    assert.equal(one.weight, 12.5);
    assert.equal(one.weightSource, 'runtime');

    const reset = await call(`${gw.adminUrl}/api/routes/main/weight`, { method: 'DELETE' });
    assert.equal(reset.status, 200);
    assert.equal((JSON.parse(reset.text) as Json).weightSource, 'config');
    assert.equal((await candidateUsers(gw, 200)).size, 0);
  });

  test('invalid weights: 400 problem+json with CUTOVER_ERR_INVALID_ARGUMENT, weight unchanged', async () => {
    const set = await call(`${gw.adminUrl}/api/routes/main/weight`, {
      method: 'PUT',
      body: '{"weight":7}',
    });
    assert.equal(set.status, 200);
    const bodies: [string, string | undefined][] = [
      ['101', '{"weight":101}'],
      ['-1', '{"weight":-1}'],
      ['1.234', '{"weight":1.234}'],
      ['"x"', '{"weight":"x"}'],
      ['null', '{"weight":null}'],
      ['no weight field', '{}'],
      ['missing body', undefined],
      ['bad JSON', '{"weight":'],
      ['a JSON array', '[50]'],
    ];
    for (const [what, body] of bodies) {
      const a = await call(`${gw.adminUrl}/api/routes/main/weight`, { method: 'PUT', body });
      assert.equal(a.status, 400, `${what}: ${a.text}`);
      problem(a, 400, 'CUTOVER_ERR_INVALID_ARGUMENT');
    }
    const now = JSON.parse((await call(`${gw.adminUrl}/api/routes/main`)).text) as Json;
    assert.equal(now.weight, 7);
    await call(`${gw.adminUrl}/api/routes/main/weight`, { method: 'DELETE' });
  });

  test('the edges of the range are accepted: 0, 100 and two decimals', async () => {
    for (const weight of [0, 100, 99.99, 0.01]) {
      const a = await call(`${gw.adminUrl}/api/routes/main/weight`, {
        method: 'PUT',
        body: JSON.stringify({ weight }),
      });
      assert.equal(a.status, 200, `${weight}: ${a.text}`);
      assert.equal((JSON.parse(a.text) as Json).weight, weight);
    }
    await call(`${gw.adminUrl}/api/routes/main/weight`, { method: 'PUT', body: '{"weight":100}' });
    assert.equal((await candidateUsers(gw, 20)).size, 20, 'weight 100 sends everyone');
    await call(`${gw.adminUrl}/api/routes/main/weight`, { method: 'DELETE' });
  });

  test('unknown route: 404 problem+json', async () => {
    problem(await call(`${gw.adminUrl}/api/routes/nosuch`), 404, 'CUTOVER_ERR_NOT_FOUND');
    const put = await call(`${gw.adminUrl}/api/routes/nosuch/weight`, {
      method: 'PUT',
      body: '{"weight":10}',
    });
    const body = problem(put, 404, 'CUTOVER_ERR_NOT_FOUND');
    assert.match(String(body.detail), /nosuch/);
    problem(
      await call(`${gw.adminUrl}/api/routes/nosuch/weight`, { method: 'DELETE' }),
      404,
      'CUTOVER_ERR_NOT_FOUND',
    );
    problem(await call(`${gw.adminUrl}/api/nothing-here`), 404, 'CUTOVER_ERR_NOT_FOUND');
  });

  test('a weight above 0 on a route without a candidate: 400; 0 is accepted', async () => {
    const a = await call(`${gw.adminUrl}/api/routes/solo/weight`, {
      method: 'PUT',
      body: '{"weight":5}',
    });
    const body = problem(a, 400, 'CUTOVER_ERR_INVALID_ARGUMENT');
    assert.match(String(body.detail), /solo/);
    assert.match(String(body.detail), /candidate/);
    const zero = await call(`${gw.adminUrl}/api/routes/solo/weight`, {
      method: 'PUT',
      body: '{"weight":0}',
    });
    assert.equal(zero.status, 200, zero.text);
    assert.equal((JSON.parse(zero.text) as Json).weight, 0);
  });
});

describe('admin: runtime weights persist in sqlite state', () => {
  let legacy: Upstream;
  let rewrite: Upstream;
  let gw: TestGateway | undefined;

  before(async () => {
    legacy = await startUpstream({ name: 'legacy' });
    rewrite = await startUpstream({ name: 'rewrite' });
  });
  after(async () => {
    await gw?.close();
    await legacy.close();
    await rewrite.close();
  });

  test('a runtime weight survives a restart; DELETE goes back to the file and stays there', async () => {
    const dir = tempDir();
    const yaml = twoBackendYaml(legacy.url, rewrite.url, {
      weight: 0,
      top: 'log: { access: false }',
    }).replace('state: memory', `state: sqlite:${join(dir, 'state.db')}`);
    const route = async (): Promise<Json> =>
      JSON.parse((await call(`${gw!.adminUrl}/api/routes/main`)).text) as Json;

    gw = await startGateway(yaml, { dir });
    const set = await call(`${gw.adminUrl}/api/routes/main/weight`, {
      method: 'PUT',
      body: '{"weight":40}',
    });
    assert.equal(set.status, 200, set.text);
    const servedBefore = await candidateUsers(gw, 100);
    assert.ok(servedBefore.size > 0);
    await gw.close();
    gw = undefined;

    gw = await startGateway(yaml, { dir });
    const restarted = await route();
    assert.equal(restarted.weight, 40);
    assert.equal(restarted.configWeight, 0);
    assert.equal(restarted.weightSource, 'runtime');
    assert.deepEqual(
      await candidateUsers(gw, 100),
      servedBefore,
      'the same users are on the candidate after the restart',
    );

    const reset = await call(`${gw.adminUrl}/api/routes/main/weight`, { method: 'DELETE' });
    assert.equal(reset.status, 200, reset.text);
    assert.equal((JSON.parse(reset.text) as Json).weight, 0);
    assert.equal((JSON.parse(reset.text) as Json).weightSource, 'config');
    await gw.close();
    gw = undefined;

    gw = await startGateway(yaml, { dir });
    const again = await route();
    assert.equal(again.weight, 0);
    assert.equal(again.weightSource, 'config');
    assert.equal((await candidateUsers(gw, 100)).size, 0);
  });
});

describe('admin: bearer token', () => {
  let legacy: Upstream;
  let gw: TestGateway;

  before(async () => {
    legacy = await startUpstream({ name: 'legacy' });
    gw = await startGateway(`listen: 127.0.0.1:0
admin: { listen: 127.0.0.1:0, token: s3cret }
state: memory
backends: { legacy: { url: ${legacy.url} } }
routes:
  - { name: main, match: { path: /* }, legacy: legacy }
`);
  });
  after(async () => {
    await gw.close();
    await legacy.close();
  });

  for (const path of ['/api/routes', '/metrics', '/api/routes/main']) {
    test(`${path} without or with a wrong token: 401 with WWW-Authenticate: Bearer`, async () => {
      for (const token of [
        undefined,
        'Bearer wrong',
        'Bearer s3cret-and-more',
        's3cret',
        'Basic czNjcmV0',
      ]) {
        const a = await call(gw.adminUrl + path, { token });
        problem(a, 401, 'CUTOVER_ERR_UNAUTHORIZED');
        assert.match(String(a.headers['www-authenticate']), /^Bearer\b/, `token ${token}`);
      }
      const ok = await call(gw.adminUrl + path, { token: 'Bearer s3cret' });
      assert.equal(ok.status, 200);
    });
  }

  test('a weight change without the token is refused and changes nothing', async () => {
    const a = await call(`${gw.adminUrl}/api/routes/main/weight`, {
      method: 'PUT',
      body: '{"weight":0}',
    });
    problem(a, 401, 'CUTOVER_ERR_UNAUTHORIZED');
    const d = await call(`${gw.adminUrl}/api/routes/main/weight`, { method: 'DELETE' });
    problem(d, 401, 'CUTOVER_ERR_UNAUTHORIZED');
  });

  test('/healthz and /readyz need no token', async () => {
    const h = await call(`${gw.adminUrl}/healthz`);
    assert.equal(h.status, 200);
    assert.equal(h.text, 'ok');
    const r = await call(`${gw.adminUrl}/readyz`);
    assert.equal(r.status, 200);
  });
});

/** True when something accepts TCP connections on 127.0.0.1:port. */
function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/** A port that was free a moment ago. */
async function freePort(): Promise<number> {
  const { createServer } = await import('node:net');
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const { port } = server.address() as { port: number };
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

describe('admin: a non-loopback listener needs a token', () => {
  test('admin on 0.0.0.0 without a token: startCutover rejects with CUTOVER_ERR_ADMIN_UNSAFE, nothing left running', async () => {
    const legacy = await startUpstream({ name: 'legacy' });
    const port = await freePort();
    const dir = tempDir();
    const file = join(dir, 'cutover.yaml');
    const { writeFileSync } = await import('node:fs');
    let control: TestGateway | undefined;
    writeFileSync(
      file,
      `listen: 127.0.0.1:${port}
admin: { listen: 0.0.0.0:0 }
state: memory
backends:
  legacy: { url: ${legacy.url}, health: { path: /healthz, interval: 100ms } }
routes:
  - { name: main, match: { path: /* }, legacy: legacy }
`,
    );
    try {
      await assert.rejects(
        startCutover(file, {
          watch: false,
          logger: createLogger({
            level: 'silent',
            destination: join(dir, 'log.jsonl'),
            sync: true,
          }),
        }),
        (error: Error & { code?: string }) => {
          assert.equal(error.code, 'CUTOVER_ERR_ADMIN_UNSAFE');
          assert.match(error.message, /0\.0\.0\.0/);
          assert.match(error.message, /token/);
          return true;
        },
      );
      assert.equal(await accepts(port), false, 'the gateway port is not listening');
      // Nothing keeps working for a gateway that never started: no health checks
      // go on. The quiet period is counted in the checks of a gateway that did
      // start, on the same interval and event loop: had the failed one's checker
      // survived, it would have checked as often (a sleep proves nothing when
      // one check takes longer than the sleep).
      control = await startGateway(`listen: 127.0.0.1:0
admin: { listen: 127.0.0.1:0 }
state: memory
backends:
  legacy: { url: ${legacy.url}, health: { path: /control-healthz, interval: 100ms } }
routes:
  - { name: main, match: { path: /* }, legacy: legacy }
`);
      const checks = (path: string) => legacy.requests.filter((r) => r.url === path).length;
      await eventually('the control checked twice', () => checks('/control-healthz') >= 2);
      const seen = checks('/healthz');
      const controlSeen = checks('/control-healthz');
      await eventually(
        'the control checked five more times',
        () => checks('/control-healthz') >= controlSeen + 5,
      );
      assert.equal(checks('/healthz'), seen, 'health checks stopped');
    } finally {
      await control?.close();
      await legacy.close();
    }
  });

  test('admin on 0.0.0.0 with a token starts', async () => {
    const legacy = await startUpstream({ name: 'legacy' });
    let gw: TestGateway | undefined;
    try {
      gw = await startGateway(`listen: 127.0.0.1:0
admin: { listen: 0.0.0.0:0, token: s3cret }
state: memory
backends: { legacy: { url: ${legacy.url} } }
routes:
  - { name: main, match: { path: /* }, legacy: legacy }
`);
      const h = await call(`${gw.adminUrl}/healthz`);
      assert.equal(h.status, 200);
      const routes = await call(`${gw.adminUrl}/api/routes`, { token: 'Bearer s3cret' });
      assert.equal(routes.status, 200);
      problem(await call(`${gw.adminUrl}/api/routes`), 401, 'CUTOVER_ERR_UNAUTHORIZED');
    } finally {
      await gw?.close();
      await legacy.close();
    }
  });
});
