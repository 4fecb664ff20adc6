// The dashboard of a fleet, in Chromium: two gateways share a SQLite state
// file and only one of them serves traffic; the other's dashboard shows that
// traffic — its route page's charts say they hold every instance and gain
// points, its all-routes table shows the rate — because each instance merges
// every instance's published seconds (docs/fleet.md).
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { Agent, request } from 'undici';
import { collectErrors, launchChromium } from '../helpers/browser.ts';
import { startGateway, type TestGateway, tempDir } from '../helpers/gateway.ts';
import { startUpstream, type Upstream } from '../helpers/upstream.ts';
import { eventually } from '../helpers/wait.ts';
import {
  dashboardYaml,
  type Fixture,
  newPage,
  OPERATOR_TOKEN,
  signIn,
  unexpectedErrors,
} from './ui-fixture.ts';

describe('dashboard: a fleet of two instances', { timeout: 120_000 }, () => {
  let legacy: Upstream;
  let rewrite: Upstream;
  let a: TestGateway;
  let b: TestGateway;
  let browser: Browser;
  let timer: NodeJS.Timeout;
  const agent = new Agent({ connections: 2 });

  before(async () => {
    legacy = await startUpstream({ name: 'svc' });
    rewrite = await startUpstream({ name: 'svc' });
    const dir = tempDir();
    const yaml = dashboardYaml(legacy, rewrite).replace(
      'state: memory',
      `state: sqlite:${join(dir, 'fleet.db')}`,
    );
    a = await startGateway(yaml, { dir });
    b = await startGateway(yaml);
    // Ten requests a second to A alone.
    let user = 0;
    timer = setInterval(() => {
      user++;
      request(`${a.url}/static/a.css`, { dispatcher: agent, headers: { 'x-user-id': `${user}` } })
        .then((r) => r.body.dump())
        .catch(() => undefined);
    }, 100);
    browser = await launchChromium();
  });
  after(async () => {
    clearInterval(timer);
    await browser?.close();
    await agent.close();
    await b?.close();
    await a?.close();
    await legacy?.close();
    await rewrite?.close();
  });

  test("the other instance's dashboard shows the traffic, with both instances behind its charts", async () => {
    const f: Fixture = { gw: b, legacy, rewrite, browser, close: async () => undefined };
    const { context, page } = await newPage(f);
    try {
      const errors = collectErrors(page);
      await signIn(f, page, OPERATOR_TOKEN, 'alice');
      await page.goto(`${b.adminUrl}/ui/#/route/static`);
      const legend = page.locator('p.legend[data-instances="2"]');
      await legend.waitFor({ timeout: 30_000 });
      assert.match(await legend.innerText(), /every instance of the fleet \(2\)/);
      // The charts gain points from B's stream while only A serves.
      const chart = page.locator('figure[data-chart="latency"]');
      const first = Number(await chart.getAttribute('data-points'));
      await eventually(
        'the chart gains points',
        async () => Number(await chart.getAttribute('data-points')) > first,
      );
      // B served nothing, yet its series of the route holds A's requests.
      const series = await request(`${b.adminUrl}/api/routes/static/series?seconds=60`, {
        headers: { authorization: `Bearer ${OPERATOR_TOKEN}` },
      });
      const points = ((await series.body.json()) as { points: { legacy: { rps: number } }[] })
        .points;
      assert.ok(
        points.some((p) => p.legacy.rps > 0),
        'A’s requests are in B’s series',
      );
      assert.deepEqual(unexpectedErrors(errors), []);
    } finally {
      await context.close();
    }
  });
});
