// The dashboard's Report and Plan pages in Chromium against a real gateway
// whose state store holds minute history and whose config names a plan:
// the pages render under the dashboard's CSP with no console error, a route
// page links to its report, and the full report opens in a new tab, under its
// own CSP, with no console error either.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { collectErrors, launchChromium, screenshot } from '../helpers/browser.ts';
import { startGateway, type TestGateway, tempDir } from '../helpers/gateway.ts';
import { startUpstream, type Upstream } from '../helpers/upstream.ts';
import { PLAN, reportYaml, writeHistory } from './report-fixture.ts';
import { unexpectedErrors } from './ui-fixture.ts';

const AXE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

/** Runs axe-core in the page; fails listing every serious or critical violation. */
async function assertAccessible(page: Page, what: string): Promise<void> {
  await page.addScriptTag({ content: AXE });
  const violations = (await page.evaluate(`(async () => {
    const r = await axe.run();
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.length }));
  })()`)) as { id: string; impact: string; nodes: number }[];
  const serious = violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  assert.deepEqual(serious, [], `${what}: ${JSON.stringify(violations)}`);
}

async function signIn(page: Page, adminUrl: string, name: string): Promise<void> {
  await page.goto(`${adminUrl}/ui/`);
  await page.getByLabel('Admin or viewer token').fill('view-token');
  await page.getByLabel(/Your name/).fill(name);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.locator('header .who').filter({ hasText: name }).waitFor();
}

describe('dashboard: Report and Plan pages', () => {
  let gw: TestGateway;
  let legacy: Upstream;
  let rewrite: Upstream;
  let browser: Browser;
  before(async () => {
    const dir = tempDir();
    legacy = await startUpstream({ name: 'legacy' });
    rewrite = await startUpstream({ name: 'rewrite' });
    await writeHistory(join(dir, 'state.db'));
    writeFileSync(join(dir, 'plan.json'), JSON.stringify(PLAN));
    gw = await startGateway(reportYaml(legacy.url, rewrite.url, dir, 'plan.json'), { dir });
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await gw?.close();
    await legacy?.close();
    await rewrite?.close();
  });

  test('a viewer reads the report and the plan; the full report opens in a new tab', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    try {
      const page = await context.newPage();
      const errors = collectErrors(page);
      await signIn(page, gw.adminUrl, 'vera');

      // A route's page links to its report.
      await page.getByRole('link', { name: 'orders' }).click();
      await page.getByRole('link', { name: 'Report of orders' }).click();
      await page.getByRole('heading', { name: 'Migration report' }).waitFor();
      const row = page.locator('table.report-figures tbody tr').filter({ hasText: 'orders' });
      await row.waitFor();
      // 100 requests a side: the history written, as `cutover report` counts it.
      assert.match(await row.innerText(), /\b100\b[\s\S]*\b100\b/);
      assert.equal(await page.getByRole('combobox', { name: 'Route' }).inputValue(), 'orders');
      assert.ok((await page.locator('p.summary').innerText()).length > 20);
      await screenshot(page, 'dashboard-report.png');

      // Another span reads the report again.
      await page.getByRole('button', { name: '30d' }).click();
      await page.locator('button[aria-pressed="true"]', { hasText: '30d' }).waitFor();
      await row.waitFor();

      // The full report, in a new tab, under its own CSP.
      const link = page.getByRole('link', { name: 'Open the full report' });
      assert.match(
        String(await link.getAttribute('href')),
        /^\/api\/report\?since=30d&format=html&route=orders$/,
      );
      const [popup] = await Promise.all([context.waitForEvent('page'), link.click()]);
      const popupErrors = collectErrors(popup);
      // Loaded again with the listener on: a CSP violation during the load is caught.
      await popup.reload({ waitUntil: 'load' });
      await popup
        .getByRole('heading', { name: /Migration report/ })
        .first()
        .waitFor();
      assert.deepEqual(popupErrors, []);
      // The inline style block is applied (allowed by its hash), not blocked.
      const font = await popup.evaluate('getComputedStyle(document.body).fontFamily');
      assert.notEqual(font, '', 'the report is styled');
      await popup.close();

      // The plan: in the nav because report.plan is configured.
      await page.getByRole('link', { name: 'Plan', exact: true }).click();
      await page.getByRole('heading', { name: 'Migration plan' }).waitFor();
      const billing = page.getByRole('row', { name: /^billing/ });
      await billing.waitFor();
      assert.match(await billing.innerText(), /L3 · decouple first/);
      assert.match(
        await page.getByRole('row', { name: /^orders/ }).innerText(),
        /L1 · migrate first[\s\S]*90\.0 d/,
      );
      await screenshot(page, 'dashboard-plan.png');
      assert.deepEqual(unexpectedErrors(errors), []);
    } finally {
      await context.close();
    }
  });

  test('axe-core finds no serious or critical violation on the Report and Plan pages', async () => {
    // axe is injected as a script, which the dashboard's CSP refuses: this context bypasses CSP.
    const context = await browser.newContext({ bypassCSP: true });
    try {
      const page = await context.newPage();
      await signIn(page, gw.adminUrl, 'axe');
      for (const [hash, ready] of [
        ['#/report', 'table.report-figures tbody tr'],
        ['#/plan', 'table.plan tbody tr'],
      ]) {
        await page.evaluate(`location.hash = ${JSON.stringify(hash)}`);
        await page.locator(ready).first().waitFor();
        await assertAccessible(page, hash);
      }
    } finally {
      await context.close();
    }
  });
});
