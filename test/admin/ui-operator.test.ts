// The dashboard as an operator uses it, in Chromium against a real gateway:
// sign in, see every route, watch a chart gain points, roll a canary back
// through the button and its confirmation; screenshots for the docs; no
// console error (a CSP violation is one); axe-core finds nothing serious.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { after, before, describe, test } from 'node:test';
import type { Page } from 'playwright-core';
import { collectErrors, screenshot } from '../helpers/browser.ts';
import { eventually } from '../helpers/wait.ts';
import {
  apiHistory,
  apiRollout,
  type Fixture,
  newPage,
  OPERATOR_TOKEN,
  ROUTES,
  signIn,
  startFixture,
  unexpectedErrors,
} from './ui-fixture.ts';

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

/** Each guards table's scroll width beside its box's client width (its `.table-wrap`). */
function guardsTableWidths(
  page: Page,
): Promise<{ table: string; scrollWidth: number; clientWidth: number }[]> {
  return page.evaluate(`[...document.querySelectorAll('[aria-labelledby="guards-title"] table')]
    .map((t) => ({ table: t.className, scrollWidth: t.scrollWidth, clientWidth: t.parentElement.clientWidth }))`);
}

/** How many points the latency chart holds now (the chart says it in data-points). */
async function chartPoints(page: Page): Promise<number> {
  return Number(await page.locator('[data-chart="latency"]').getAttribute('data-points'));
}

describe('dashboard: an operator', () => {
  let f: Fixture;
  let page: Page;
  let errors: string[];
  before(async () => {
    f = await startFixture();
    ({ page } = await newPage(f));
    errors = collectErrors(page);
    await signIn(f, page, OPERATOR_TOKEN, 'alice');
  });
  after(() => f.close());

  test('sees every route of the gateway in the table, with its state', async () => {
    const table = page.getByRole('table');
    for (const name of ROUTES) {
      await table.getByRole('rowheader', { name }).waitFor();
    }
    await table.getByRole('row').filter({ hasText: 'checkout' }).getByText('canary').waitFor();
    await table.getByRole('row').filter({ hasText: 'search' }).getByText('in shadow').waitFor();
    assert.match(await page.locator('header .role').innerText(), /operator/);
    // Sorting by weight puts the canary (25%) below the route at 10%, then reverses.
    await page.getByRole('button', { name: /^Weight/ }).click();
    const sorted = page.getByRole('columnheader', { name: /Weight/ });
    assert.equal(await sorted.getAttribute('aria-sort'), 'ascending');
    await page.getByRole('button', { name: 'in shadow' }).click();
    await eventually('only the route in shadow is listed', async () => {
      return (await page.locator('tbody tr').count()) === 1;
    });
    await page.getByRole('button', { name: 'in shadow' }).click();
    await screenshot(page, 'dashboard-routes.png');
  });

  test('opens a route and its latency chart gains points from the live stream', async () => {
    await page.getByRole('link', { name: 'checkout' }).click();
    await page.getByRole('heading', { name: 'checkout', level: 1 }).waitFor();
    await page.locator('[data-chart="latency"] canvas').waitFor();
    const first = await chartPoints(page);
    await eventually(
      'the chart gained two points',
      async () => (await chartPoints(page)) >= first + 2,
    );
    await page.getByRole('heading', { name: 'Gates' }).waitFor();
    await screenshot(page, 'dashboard-route.png');
  });

  test('rolls the canary back through the button and the confirmation; the ledger names them', async () => {
    assert.equal((await apiRollout(f, 'checkout')).state, 'canary');
    await page.getByRole('button', { name: 'Roll back' }).click();
    const dialog = page.getByRole('dialog');
    // The confirmation says what happens in numbers before anything is sent.
    await dialog.getByText('25% of users of `checkout` will go back to legacy').waitFor();
    await dialog.getByRole('button', { name: 'Roll back' }).click();
    await dialog.waitFor({ state: 'hidden' });
    await eventually('the API shows the route rolled back', async () => {
      return (await apiRollout(f, 'checkout')).state === 'rolled-back';
    });
    const entry = (await apiHistory(f, 'checkout')).findLast((e) => e.to === 'rolled-back');
    assert.ok(entry, 'a rollback entry in the ledger');
    assert.match(JSON.stringify(entry), /alice/, 'the ledger names who rolled back');
    assert.match(JSON.stringify(entry), /operator/);
    // The page follows: the timeline shows the rollback with its cause.
    await page.locator('.entry.rollback').first().waitFor();
  });

  test('sets the weight of a route without a rollout, after a confirmation in numbers', async () => {
    await page.goto(`${f.gw.adminUrl}/ui/#/route/static`);
    await page.getByRole('heading', { name: 'static', level: 1 }).waitFor();
    await page.getByLabel('Weight (%)').fill('35');
    await page.getByRole('button', { name: 'Set weight' }).click();
    const dialog = page.getByRole('dialog');
    await dialog
      .getByText(
        '25% of the users of `static` will move from legacy to the rewrite (weight 10% → 35%).',
      )
      .waitFor();
    await dialog.getByRole('button', { name: 'Set weight to 35%' }).click();
    await dialog.waitFor({ state: 'hidden' });
    await eventually('the API shows the new weight', async () => {
      const res = await fetch(`${f.gw.adminUrl}/api/routes/static`, {
        headers: { authorization: `Bearer ${OPERATOR_TOKEN}` },
      });
      return ((await res.json()) as { weight: number }).weight === 35;
    });
    await page.getByText('weight 35%').waitFor();
  });

  test("forces the candidate backend's breaker open, then gives it back to its figures", async () => {
    const forced = async () => {
      const res = await fetch(`${f.gw.adminUrl}/api/backends/rewrite/breaker`, {
        headers: { authorization: `Bearer ${OPERATOR_TOKEN}` },
      });
      return ((await res.json()) as { forced: string | null }).forced;
    };
    const row = page.getByRole('row').filter({ hasText: 'candidate:' });
    await row.getByRole('button', { name: 'Force open' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByText(/Every request to `rewrite` on 3 routes/).waitFor();
    await dialog.getByRole('button', { name: 'Force breaker open' }).click();
    await dialog.waitFor({ state: 'hidden' });
    await eventually(
      'the API shows the breaker forced open',
      async () => (await forced()) === 'open',
    );
    await row.getByText('(forced)').waitFor();
    await row.getByRole('button', { name: 'Auto' }).click();
    await dialog.getByRole('button', { name: 'Release breaker' }).click();
    await eventually('the API shows no forced state', async () => (await forced()) === null);
  });

  test("lists the route's backend instances with their health and ejection", async () => {
    const rows = page.locator('table.instances tbody tr');
    await rows.nth(1).waitFor();
    assert.equal(await rows.count(), 2);
    const legacy = rows.filter({ hasText: 'legacy' });
    assert.match(await legacy.innerText(), /healthy\s+no\s+0/);
  });

  test('the guards tables fit their column at 1280x800: nothing to scroll sideways', async () => {
    const widths = await guardsTableWidths(page);
    assert.equal(widths.length, 2, 'the breakers and the instances tables');
    for (const w of widths) {
      assert.ok(
        w.scrollWidth <= w.clientWidth,
        `table.${w.table} is ${w.scrollWidth}px wide in a ${w.clientWidth}px box`,
      );
    }
  });

  test('the page logged no console error (CSP violations included)', () => {
    assert.deepEqual(unexpectedErrors(errors), []);
  });

  test('axe-core finds no serious or critical violation: sign-in, routes, a route, instances, a confirmation', async () => {
    // axe is injected as a script, which the dashboard's CSP refuses: this context bypasses CSP.
    const { context, page: p } = await newPage(f, { bypassCSP: true });
    try {
      await p.goto(`${f.gw.adminUrl}/ui/`);
      await p.getByLabel('Admin or viewer token').waitFor();
      await assertAccessible(p, 'sign-in');
      await signIn(f, p, OPERATOR_TOKEN, 'axe');
      for (const [hash, ready] of [
        ['#/routes', 'tbody tr'],
        ['#/route/search', '[data-chart] canvas'],
        ['#/instances', 'tbody tr'],
      ]) {
        await p.evaluate(`location.hash = ${JSON.stringify(hash)}`);
        await p.locator(ready).first().waitFor();
        await assertAccessible(p, hash);
      }
      await p.evaluate(`location.hash = '#/route/search'`);
      await p.getByRole('button', { name: 'Pause' }).click();
      await p.getByRole('dialog').waitFor();
      await assertAccessible(p, 'the confirmation dialog');
      await p.keyboard.press('Escape');
      await p.getByRole('dialog').waitFor({ state: 'hidden' });
    } finally {
      await context.close();
    }
  });

  test('is readable on a phone: the tables scroll inside their box, the page does not', async () => {
    const { context, page: p } = await newPage(f, { width: 390 });
    try {
      await signIn(f, p, OPERATOR_TOKEN, 'phone');
      await p.locator('tbody tr').first().waitFor();
      const overflow = Number(
        await p.evaluate('document.documentElement.scrollWidth - innerWidth'),
      );
      assert.ok(overflow <= 0, `the page is ${overflow}px wider than the screen`);
      await screenshot(p, 'dashboard-routes-390.png');
      // A route page too: its guards tables scroll in their box, the page does not.
      await p.evaluate(`location.hash = '#/route/static'`);
      await p.locator('table.breakers tbody tr').first().waitFor();
      const routeOverflow = Number(
        await p.evaluate('document.documentElement.scrollWidth - innerWidth'),
      );
      assert.ok(routeOverflow <= 0, `the route page is ${routeOverflow}px wider than the screen`);
    } finally {
      await context.close();
    }
  });
});
