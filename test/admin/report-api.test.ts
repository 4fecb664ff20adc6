// The dashboard's Plan and Report endpoints (issue 14): GET /api/report on a
// real gateway whose SQLite state store holds minute history written by a
// real MinuteHistory (the rows a running fleet flushes each minute), and
// GET /api/plan before and after `report.plan` is configured (a reload).
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { request } from 'undici';
import { problems } from '../helpers/config.ts';
import { startGateway, type TestGateway, tempDir } from '../helpers/gateway.ts';
import { startUpstream, type Upstream } from '../helpers/upstream.ts';
import { PLAN, reportYaml, writeHistory } from './report-fixture.ts';

const viewer = { authorization: 'Bearer view-token' };

async function get(url: string, headers: Record<string, string> = viewer) {
  const res = await request(url, { headers });
  return { status: res.statusCode, headers: res.headers, text: await res.body.text() };
}

describe('GET /api/report and /api/plan', () => {
  let gw: TestGateway;
  let legacy: Upstream;
  let rewrite: Upstream;
  const dir = tempDir();
  before(async () => {
    legacy = await startUpstream({ name: 'legacy' });
    rewrite = await startUpstream({ name: 'rewrite' });
    await writeHistory(join(dir, 'state.db'));
    gw = await startGateway(reportYaml(legacy.url, rewrite.url, dir), { dir });
    // Some live traffic too: the report reads the store, not the live windows.
    for (let i = 0; i < 10; i++) {
      const res = await request(`${gw.url}/orders/${i}`);
      await res.body.text();
      assert.equal(res.statusCode, 200);
    }
  });
  after(async () => {
    await gw?.close();
    await legacy?.close();
    await rewrite?.close();
  });

  test('a viewer reads the report of the route as JSON, the same figures as cutover report', async () => {
    const a = await get(`${gw.adminUrl}/api/report?route=orders&since=24h&format=json`);
    assert.equal(a.status, 200, a.text);
    const report = JSON.parse(a.text) as {
      summary: string;
      routes: { route: string; requests: { legacy: number; candidate: number } }[];
    };
    assert.equal(typeof report.summary, 'string');
    const orders = report.routes.find((r) => r.route === 'orders');
    assert.ok(orders, a.text.slice(0, 400));
    assert.deepEqual(orders.requests, { legacy: 100, candidate: 100 });
  });

  test('the HTML report carries its own CSP whose sha256 matches its style block', async () => {
    const a = await get(`${gw.adminUrl}/api/report?format=html&since=7d`);
    assert.equal(a.status, 200, a.text);
    assert.match(String(a.headers['content-type']), /^text\/html/);
    const csp = String(a.headers['content-security-policy']);
    assert.doesNotMatch(csp, /unsafe-inline/);
    assert.match(csp, /default-src 'none'/);
    assert.match(csp, /frame-ancestors 'self'/);
    const styles = [...a.text.matchAll(/<style>([\s\S]*?)<\/style>/g)].map((m) => m[1]);
    assert.ok(styles.length > 0);
    for (const css of styles) {
      const hash = createHash('sha256').update(css).digest('base64');
      assert.ok(csp.includes(`'sha256-${hash}'`), csp);
    }
    assert.equal(a.headers['x-content-type-options'], 'nosniff');
  });

  test('Markdown too; a route without history and a bad span are clear errors', async () => {
    const md = await get(`${gw.adminUrl}/api/report?format=md&since=1d`);
    assert.equal(md.status, 200);
    assert.match(md.text, /^# Migration report/m);
    const none = await get(`${gw.adminUrl}/api/report?route=nope`);
    assert.equal(none.status, 404);
    assert.match(JSON.parse(none.text).detail, /nope/);
    // A configured route with no history in the span: an empty report, not an error.
    const empty = await get(
      `${gw.adminUrl}/api/report?route=orders&since=2026-01-01&until=2026-01-02`,
    );
    assert.equal(empty.status, 200, empty.text);
    assert.deepEqual(JSON.parse(empty.text).routes, []);
    const bad = await get(`${gw.adminUrl}/api/report?since=yesterday`);
    assert.equal(bad.status, 400);
    assert.match(JSON.parse(bad.text).detail, /since must be/);
    const unsigned = await get(`${gw.adminUrl}/api/report`, {});
    assert.equal(unsigned.status, 401);
  });

  test('/api/plan is 404 until report.plan is configured, then the plan (and its cost in the report)', async () => {
    assert.deepEqual(JSON.parse((await get(`${gw.adminUrl}/api/views`)).text), {
      report: true,
      plan: false,
    });
    const before = await get(`${gw.adminUrl}/api/plan`);
    assert.equal(before.status, 404);
    assert.match(String(before.headers['content-type']), /problem\+json/);
    assert.match(JSON.parse(before.text).detail, /report\.plan/);
    const planFile = join(dir, 'plan.json');
    writeFileSync(planFile, JSON.stringify(PLAN));
    writeFileSync(gw.file, reportYaml(legacy.url, rewrite.url, dir, 'plan.json'));
    assert.equal(await gw.running.reload(), true);
    assert.equal(JSON.parse((await get(`${gw.adminUrl}/api/views`)).text).plan, true);
    const after = await get(`${gw.adminUrl}/api/plan`);
    assert.equal(after.status, 200, after.text);
    const plan = JSON.parse(after.text) as typeof PLAN;
    assert.deepEqual(
      plan.modules.map((m) => [m.name, m.stage]),
      [
        ['orders', 'L1'],
        ['billing', 'L3'],
      ],
    );
    const md = await get(`${gw.adminUrl}/api/report?format=md`);
    assert.match(md.text, /orders/);
    assert.match(md.text, /90/);
  });
});

describe('report.plan in the config', () => {
  test('a missing or malformed plan file is a config error naming it', () => {
    const dir = tempDir();
    const base = `backends: { a: { url: http://127.0.0.1:1 } }\nroutes: [{ name: r, match: { path: /x }, legacy: a }]\n`;
    const missing = problems(`${base}report: { plan: ${join(dir, 'nope.json')} }\n`);
    assert.ok(
      missing.some((p) => /report\.plan/.test(p) && /nope\.json.*ENOENT/.test(p)),
      missing.join('\n'),
    );
    writeFileSync(join(dir, 'bad.json'), '{"pairs": []}');
    const bad = problems(`${base}report: { plan: ${join(dir, 'bad.json')} }\n`);
    assert.ok(
      bad.some((p) => /bad\.json.*cutover plan --format json/.test(p)),
      bad.join('\n'),
    );
  });
});
