// GET /api/report with the CLI's other inputs taken from the config
// (issue 14): `report.incidents` (the incidents CSV, read at load and on a
// reload) and `report.instances` (counts as written, or Prometheus's
// count(up{job}) read at report time — a real Prometheus scraping real
// targets, and one that does not answer: a closed port).
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { request } from 'undici';
import { problems } from '../helpers/config.ts';
import { startGateway, type TestGateway, tempDir } from '../helpers/gateway.ts';
import { startPrometheus, type TestPrometheus } from '../helpers/prometheus.ts';
import { startUpstream, type Upstream } from '../helpers/upstream.ts';
import { reportYaml, writeHistory } from './report-fixture.ts';

const viewer = { authorization: 'Bearer view-token' };

interface JsonReport {
  summary: string;
  instances: { legacy: number; candidate: number } | null;
  overall: { throughputPerInstanceRatio: { value: number | null; na?: string } };
  incidents: { list: { at: number; source: string; route: string; note: string }[] };
}

async function jsonReport(adminUrl: string, query = ''): Promise<JsonReport> {
  const res = await request(`${adminUrl}/api/report?format=json${query}`, { headers: viewer });
  const text = await res.body.text();
  assert.equal(res.statusCode, 200, text);
  return JSON.parse(text) as JsonReport;
}

/** A day `daysAgo` before now, as the CSV's `YYYY-MM-DD`. */
const dayAgo = (daysAgo: number) =>
  new Date(Date.now() - daysAgo * 86_400_000).toISOString().slice(0, 10);

/** The fixture's config with a `report` block (YAML flow) at the end. */
const withReport = (legacy: Upstream, rewrite: Upstream, dir: string, block: string) =>
  `${reportYaml(legacy.url, rewrite.url, dir)}report: ${block}\n`;

/** A port that was just bound and closed: nothing answers there. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('GET /api/report with report.incidents and report.instances', () => {
  let gw: TestGateway;
  let legacy: Upstream;
  let rewrite: Upstream;
  const dir = tempDir();
  const csv = join(dir, 'incidents.csv');
  before(async () => {
    legacy = await startUpstream({ name: 'legacy' });
    rewrite = await startUpstream({ name: 'rewrite' });
    await writeHistory(join(dir, 'state.db'));
    writeFileSync(
      csv,
      `date,kind,route,note\n${dayAgo(3)},page,orders,"checkout 502s, then down"\n${dayAgo(2)}T10:00:00Z,postmortem,,db failover\n`,
    );
    gw = await startGateway(
      withReport(
        legacy,
        rewrite,
        dir,
        '{ incidents: incidents.csv, instances: { legacy: 4, candidate: 2 } }',
      ),
      { dir },
    );
  });
  after(async () => {
    await gw?.close();
    await legacy?.close();
    await rewrite?.close();
  });

  test('the config’s incidents are in the report, as --incidents puts them', async () => {
    const report = await jsonReport(gw.adminUrl);
    const imported = report.incidents.list.filter((i) => i.source === 'imported');
    assert.deepEqual(
      imported.map((i) => [i.route, i.note]),
      [
        ['orders', 'page: checkout 502s, then down'],
        ['', 'postmortem: db failover'],
      ],
    );
    assert.equal(imported[1].at, Date.parse(`${dayAgo(2)}T10:00:00Z`));
    assert.match(report.summary, /2 incident\(s\)/);
  });

  test('the config’s instance counts are used, and ?instances= wins over them', async () => {
    const configured = await jsonReport(gw.adminUrl, '&route=orders');
    assert.deepEqual(configured.instances, { legacy: 4, candidate: 2 });
    // 100 requests a side over the same minutes: (tps/2) ÷ (tps/4) = 2.
    assert.equal(configured.overall.throughputPerInstanceRatio.value, 2);
    const asked = await jsonReport(gw.adminUrl, '&route=orders&instances=legacy=1,candidate=1');
    assert.deepEqual(asked.instances, { legacy: 1, candidate: 1 });
    assert.equal(asked.overall.throughputPerInstanceRatio.value, 1);
  });

  test('a reload re-reads the CSV: a bad line keeps the running config, a good file replaces it', async () => {
    const block = '{ incidents: incidents.csv, instances: { legacy: 4, candidate: 2 } }';
    writeFileSync(csv, `date,kind,route,note\n${dayAgo(1)},page,orders\n`);
    assert.equal(await gw.running.reload(), false);
    const kept = await jsonReport(gw.adminUrl);
    assert.equal(kept.incidents.list.filter((i) => i.source === 'imported').length, 2);
    writeFileSync(csv, `date,kind,route,note\n${dayAgo(1)},page,orders,only one now\n`);
    writeFileSync(gw.file, withReport(legacy, rewrite, dir, block));
    assert.equal(await gw.running.reload(), true);
    const next = await jsonReport(gw.adminUrl);
    assert.deepEqual(
      next.incidents.list.filter((i) => i.source === 'imported').map((i) => i.note),
      ['page: only one now'],
    );
  });
});

describe('report.instances from Prometheus', () => {
  let prometheus: TestPrometheus;
  let legacy: Upstream;
  let rewrite: Upstream;
  const servers: Server[] = [];
  before(async () => {
    legacy = await startUpstream({ name: 'legacy' });
    rewrite = await startUpstream({ name: 'rewrite' });
    // Three targets of the legacy job and one of the candidate's, all up.
    const targets: string[] = [];
    for (let i = 0; i < 4; i++) {
      const server = createServer((_req, res) => res.end('up_test 1\n'));
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      servers.push(server);
      targets.push(`127.0.0.1:${(server.address() as { port: number }).port}`);
    }
    prometheus = await startPrometheus({
      targets: [],
      jobs: { 'orders-java': targets.slice(0, 3), 'orders-go': targets.slice(3) },
    });
  });
  after(async () => {
    await prometheus?.stop();
    for (const s of servers) s.close();
    await legacy?.close();
    await rewrite?.close();
  });

  test('counts up{job} of each side at report time', async () => {
    const dir = tempDir();
    await writeHistory(join(dir, 'state.db'));
    const block = `{ instances: { prometheus: "${prometheus.url}", legacyJob: orders-java, candidateJob: orders-go } }`;
    const gw = await startGateway(withReport(legacy, rewrite, dir, block), { dir });
    try {
      // Prometheus scrapes each target on its own schedule: ask until all four are in.
      let report = await jsonReport(gw.adminUrl);
      for (let i = 0; i < 100 && report.instances?.legacy !== 3; i++) {
        await new Promise((r) => setTimeout(r, 200));
        report = await jsonReport(gw.adminUrl);
      }
      assert.deepEqual(report.instances, { legacy: 3, candidate: 1 });
      // A job without targets: the ratio is n/a and says which job.
      writeFileSync(
        gw.file,
        withReport(
          legacy,
          rewrite,
          dir,
          `{ instances: { prometheus: "${prometheus.url}", legacyJob: orders-java, candidateJob: nobody } }`,
        ),
      );
      assert.equal(await gw.running.reload(), true);
      const none = await jsonReport(gw.adminUrl);
      assert.equal(none.instances, null);
      assert.match(String(none.overall.throughputPerInstanceRatio.na), /no target of job "nobody"/);
    } finally {
      await gw.close();
    }
  });

  test('a Prometheus that does not answer: 200 with the ratio n/a and why, in every format', async () => {
    const dir = tempDir();
    await writeHistory(join(dir, 'state.db'));
    const url = `http://127.0.0.1:${await closedPort()}`;
    const block = `{ instances: { prometheus: "${url}", legacyJob: a, candidateJob: b, timeout: 1s } }`;
    const gw = await startGateway(withReport(legacy, rewrite, dir, block), { dir });
    try {
      const report = await jsonReport(gw.adminUrl);
      assert.equal(report.instances, null);
      const na = String(report.overall.throughputPerInstanceRatio.na);
      assert.match(na, new RegExp(`Prometheus at ${url}.*connection refused`));
      assert.ok(report.summary.includes(na), report.summary);
      const md = await request(`${gw.adminUrl}/api/report?format=md`, { headers: viewer });
      const text = await md.body.text();
      assert.equal(md.statusCode, 200, text);
      assert.match(
        text,
        /Instances: n\/a — instance counts from Prometheus at .*connection refused/,
      );
      // The request's own counts need no Prometheus.
      const asked = await jsonReport(gw.adminUrl, '&instances=legacy=2,candidate=2');
      assert.deepEqual(asked.instances, { legacy: 2, candidate: 2 });
    } finally {
      await gw.close();
    }
  });
});

describe('report.incidents and report.instances in the config', () => {
  const base = `backends: { a: { url: http://127.0.0.1:1 } }\nroutes: [{ name: r, match: { path: /x }, legacy: a }]\n`;

  test('a missing file, and every bad CSV line, is a config error naming the file and the line', () => {
    const dir = tempDir();
    const missing = problems(`${base}report: { incidents: ${join(dir, 'nope.csv')} }\n`);
    assert.ok(
      missing.some((p) => /report\.incidents/.test(p) && /nope\.csv: ENOENT/.test(p)),
      missing.join('\n'),
    );
    const file = join(dir, 'bad.csv');
    writeFileSync(
      file,
      'date,kind,route,note\n2026-10-05,page,orders,ok\n05/10/2026,page,orders,x\n\n2026-10-07,,orders,x\n',
    );
    // With another problem of the file (a missing plan): all of them at once.
    const bad = problems(`${base}report: { incidents: ${file}, plan: nope.json }\n`);
    assert.ok(
      bad.some((p) => p.includes(`${file}:3: date "05/10/2026" is not ISO 8601`)),
      bad.join('\n'),
    );
    assert.ok(
      bad.some((p) => p.includes(`${file}:5: kind is empty`)),
      bad.join('\n'),
    );
    assert.ok(
      bad.some((p) => /report\.plan: .*nope\.json/.test(p)),
      bad.join('\n'),
    );
    const header = join(dir, 'header.csv');
    writeFileSync(header, 'when,what\n2026-10-05,page\n');
    const wrong = problems(`${base}report: { incidents: ${header} }\n`);
    assert.equal(wrong.length, 1, wrong.join('\n'));
    assert.match(
      wrong[0],
      /header\.csv:1: the first line must be the header "date,kind,route,note"/,
    );
  });

  test('report.instances takes one of its two forms, whole and complete', () => {
    const cases: [string, RegExp][] = [
      ['{ legacy: 2 }', /report\.instances: expected both legacy: N and candidate: M/],
      ['{ legacy: 0, candidate: 1 }', /report\.instances\.legacy: expected a whole number above 0/],
      ['{ legacy: 1.5, candidate: 1 }', /report\.instances\.legacy/],
      [
        '{ legacy: 1, candidate: 1, prometheus: "http://127.0.0.1:9090" }',
        /report\.instances: expected either .* not both/,
      ],
      [
        '{ prometheus: "http://127.0.0.1:9090", legacyJob: a }',
        /report\.instances: counting in Prometheus needs .*missing: candidateJob/,
      ],
      ['{}', /report\.instances: expected either \{ legacy: N, candidate: M \} or/],
      ['{ legacy: 1, candidate: 1, jobs: 2 }', /report\.instances.*jobs/],
    ];
    for (const [block, message] of cases) {
      const found = problems(`${base}report: { instances: ${block} }\n`);
      assert.ok(
        found.some((p) => message.test(p)),
        `${block}: ${found.join('\n')}`,
      );
    }
    assert.deepEqual(problems(`${base}report: { instances: { legacy: 3, candidate: 1 } }\n`), []);
  });
});
