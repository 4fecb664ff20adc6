// `cutover report` as a user runs it: on a state file with history written
// by a real MinuteHistory, every output format, -o, --route, the instance
// counts from a real Prometheus, and a clear message with exit 2 for every
// bad input.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { LocalFleet } from '../../src/state/index.ts';
import { MINUTE_MS, MinuteHistory } from '../../src/telemetry/index.ts';
import { cli } from '../helpers/cli.ts';
import { tempDir } from '../helpers/gateway.ts';
import { startPrometheus, type TestPrometheus } from '../helpers/prometheus.ts';

const dir = tempDir();
const state = `sqlite:${join(dir, 'state.db')}`;

/** Two routes' minutes, 10 and 20 minutes ago, as one instance wrote them. */
before(async () => {
  const store = new LocalFleet(join(dir, 'state.db'));
  const now = Date.now();
  const history = new MinuteHistory({ clock: () => now });
  for (const [ago, route] of [
    [20, 'orders'],
    [10, 'orders'],
    [10, 'users'],
  ] as const) {
    const at = now - ago * MINUTE_MS;
    for (let i = 0; i < 50; i++) {
      history.side(route, 'legacy').record(200, 40 + (i % 5), false, at);
      history.side(route, 'candidate').record(i < 5 ? 503 : 200, 10 + (i % 3), i < 5, at);
    }
    await history.flush(true);
  }
  history.start({ sink: store, instance: 'i-1', retainMs: 86_400_000 });
  await history.stop();
  await store.close();
});

const report = (...args: string[]) => cli(['report', ...args], { timeout: 30_000 });

describe('cutover report', () => {
  it('prints Markdown by default, every route and the whole migration', async () => {
    const out = await report('--state', state, '--instances', 'legacy=2,candidate=1');
    assert.equal(out.code, 0, out.stderr);
    assert.match(out.stdout, /^# Migration report/m);
    assert.match(out.stdout, /orders/);
    assert.match(out.stdout, /users/);
  });

  it('writes JSON of one route to -o, over --since/--until', async () => {
    const file = join(dir, 'orders.json');
    const until = new Date().toISOString();
    const out = await report(
      '--state',
      state,
      '--route',
      'orders',
      '--since',
      '1h',
      '--until',
      until,
      '--format',
      'json',
      '-o',
      file,
    );
    assert.equal(out.code, 0, out.stderr);
    assert.equal(out.stdout, '');
    const json = JSON.parse(readFileSync(file, 'utf8')) as {
      until: string;
      routes: { route: string; requests: { legacy: number; candidate: number } }[];
    };
    assert.deepEqual(
      json.routes.map((r) => [r.route, r.requests]),
      [['orders', { legacy: 100, candidate: 100 }]],
    );
    assert.equal(json.until, until);
  });

  it('writes self-contained HTML', async () => {
    const file = join(dir, 'report.html');
    const out = await report('--state', state, '--format', 'html', '-o', file);
    assert.equal(out.code, 0, out.stderr);
    const html = readFileSync(file, 'utf8');
    assert.match(html, /^<!doctype html>/i);
    assert.doesNotMatch(html, /<script[^>]+src=|<link[^>]+href=/i, 'no external assets');
  });

  it('reads the state store from the config file (-c)', async () => {
    const file = join(dir, 'cutover.yaml');
    writeFileSync(
      file,
      `state: ${state}
report: { retention: 2d }
backends: { legacy: { url: "http://127.0.0.1:1" } }
routes: [{ name: orders, match: { path: /orders }, legacy: legacy }]
`,
    );
    const out = await report('-c', file, '--format', 'json');
    assert.equal(out.code, 0, out.stderr);
    const json = JSON.parse(out.stdout) as { from: string; until: string };
    const span = Date.parse(json.until) - Date.parse(json.from);
    assert.equal(span, 2 * 86_400_000, 'the default span is the config’s retention');
  });

  it("takes the config's report inputs when no flag gives them (-c): incidents, instances, plan", async () => {
    const file = join(dir, 'with-inputs.yaml');
    writeFileSync(
      join(dir, 'incidents.csv'),
      'date,kind,route,note\n2026-11-01,outage,orders,pager at 3am\n',
    );
    writeFileSync(
      join(dir, 'plan.json'),
      JSON.stringify({ modules: [{ name: 'orders', stage: 'L1' }] }),
    );
    writeFileSync(
      file,
      `state: ${state}
report: { incidents: incidents.csv, instances: { legacy: 4, candidate: 2 }, plan: plan.json }
backends: { legacy: { url: "http://127.0.0.1:1" } }
routes: [{ name: orders, match: { path: /orders }, legacy: legacy }]
`,
    );
    const configured = await report('-c', file, '--format', 'json', '--since', '60d');
    assert.equal(configured.code, 0, configured.stderr);
    const json = JSON.parse(configured.stdout) as {
      instances: unknown;
      plan: unknown;
      incidents: { list: { source: string; note: string }[] };
    };
    assert.deepEqual(json.instances, { legacy: 4, candidate: 2 });
    assert.deepEqual(
      json.incidents.list.filter((i) => i.source === 'imported').map((i) => i.note),
      ['outage: pager at 3am'],
    );
    assert.deepEqual(json.plan, [{ name: 'orders', stage: 'L1' }], 'report.plan as written');
    // A flag wins over the config.
    const flagged = await report(
      '-c',
      file,
      '--format',
      'json',
      '--instances',
      'legacy=1,candidate=1',
    );
    assert.deepEqual((JSON.parse(flagged.stdout) as { instances: unknown }).instances, {
      legacy: 1,
      candidate: 1,
    });
  });

  for (const [what, args, message] of [
    ['an unknown format', ['--format', 'pdf'], /--format must be one of md, json, html/],
    ['bad instance counts', ['--instances', 'legacy=0,candidate=2'], /--instances must be/],
    ['one side of the instances', ['--instances', 'legacy=2'], /both legacy=N and candidate=M/],
    ['a --since that is no time', ['--since', 'yesterday'], /--since must be a duration ago/],
    ['a span that ends before it starts', ['--since', '1h', '--until', '2h'], /must be before/],
    ['a missing incidents file', ['--incidents', '/nonexistent.csv'], /--incidents .*ENOENT/],
    ['a missing plan file', ['--plan', '/nonexistent.json'], /--plan .*ENOENT/],
    ['--prometheus without its jobs', ['--prometheus', 'http://127.0.0.1:1'], /--legacy-job/],
    ['a route with no history', ['--route', 'nope'], /no history of route "nope"/],
    ['a state store that is no store', ['--state', 'mysql://x'], /unknown state store/],
  ] as const) {
    it(`says what is wrong and exits 2: ${what}`, async () => {
      const withState = (args as readonly string[]).includes('--state')
        ? args
        : ['--state', state, ...args];
      const out = await report(...withState);
      assert.equal(out.code, 2, `${out.stdout}\n${out.stderr}`);
      assert.match(out.stderr, message);
      assert.doesNotMatch(out.stderr, /\n\s+at /, 'no stack trace');
    });
  }

  it('says which line of the incidents CSV is wrong, exit 2', async () => {
    const file = join(dir, 'incidents.csv');
    writeFileSync(
      file,
      'date,kind,route,note\n2026-11-02,page,orders,db failover\nnot a date,x,,\n',
    );
    const out = await report('--state', state, '--incidents', file);
    assert.equal(out.code, 2, out.stderr);
    assert.match(out.stderr, /incidents\.csv:3/);
  });

  it('refuses -c and --state together, exit 2', async () => {
    const out = await report('-c', 'cutover.yaml', '--state', state);
    assert.equal(out.code, 2);
    assert.match(out.stderr, /either by -c FILE or by --state URL/);
  });
});

/** Resolves once Prometheus holds an `up` sample of `count` targets of the jobs matching `jobs`. */
async function allTargetsScraped(url: string, jobs: string, count: number): Promise<void> {
  const query = encodeURIComponent(`count(up{job=~"${jobs}"})`);
  for (let i = 0; i < 100; i++) {
    const res = await fetch(`${url}/api/v1/query?query=${query}`);
    const body = (await res.json()) as { data: { result: { value: [number, string] }[] } };
    if (Number(body.data.result[0]?.value[1] ?? 0) >= count) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`Prometheus did not scrape ${count} targets of ${jobs} in 20 s`);
}

describe('cutover report with instance counts from Prometheus', () => {
  let prometheus: TestPrometheus;
  const servers: Server[] = [];
  before(async () => {
    // Three targets of the legacy job and one of the candidate's, all up.
    const targets: string[] = [];
    for (let i = 0; i < 4; i++) {
      const server = createServer((_req, res) => res.end('up_test 1\n'));
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      servers.push(server);
      const address = server.address();
      if (address && typeof address === 'object') targets.push(`127.0.0.1:${address.port}`);
    }
    prometheus = await startPrometheus({
      targets: [],
      jobs: { 'orders-java': targets.slice(0, 3), 'orders-go': targets.slice(3) },
    });
  });
  after(async () => {
    await prometheus?.stop();
    for (const s of servers) s.close();
  });

  it('counts up{job=…} of each side and puts the counts in the report', async () => {
    const args = [
      '--state',
      state,
      '--format',
      'json',
      '--prometheus',
      prometheus.url,
      '--legacy-job',
      'orders-java',
      '--candidate-job',
      'orders-go',
    ];
    // Prometheus scrapes each second, each target on its own schedule: wait
    // until it has a sample of all four, else the count could be read mid-way.
    await allTargetsScraped(prometheus.url, 'orders-.*', 4);
    const out = await report(...args);
    assert.equal(out.code, 0, out.stderr);
    const json = JSON.parse(out.stdout) as { instances: { legacy: number; candidate: number } };
    assert.deepEqual(json.instances, { legacy: 3, candidate: 1 });
  });

  it('says a job without targets is wrong, exit 2', async () => {
    const out = await report(
      '--state',
      state,
      '--prometheus',
      prometheus.url,
      '--legacy-job',
      'orders-java',
      '--candidate-job',
      'nobody',
    );
    assert.equal(out.code, 2, out.stderr);
    assert.match(out.stderr, /no target of job "nobody"/);
  });
});
