// The dashboard's one live stream (GET /api/events) across a config reload
// and a restart of the gateway: the table follows the reload within the
// stream, and after the restart the browser's EventSource reconnects by
// itself (the session cookie is still good: its key comes from the tokens)
// and the page shows the new gateway's routes without a page reload.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import type { Page } from 'playwright-core';
import { collectErrors } from '../helpers/browser.ts';
import { startGateway } from '../helpers/gateway.ts';
import { eventually } from '../helpers/wait.ts';
import {
  dashboardYaml,
  type Fixture,
  newPage,
  OPERATOR_TOKEN,
  signIn,
  startFixture,
  unexpectedErrors,
} from './ui-fixture.ts';

/** The weight cell of a route's row in the table. */
function weightOf(page: Page, route: string) {
  return page
    .getByRole('row')
    .filter({ has: page.getByRole('rowheader', { name: route }) })
    .locator('td')
    .nth(2);
}

describe('dashboard: the live stream', () => {
  let f: Fixture;
  before(async () => {
    f = await startFixture();
  });
  after(() => f.close());

  test('follows a config reload, and reconnects by itself after a restart of the gateway', async () => {
    const { context, page } = await newPage(f);
    try {
      const errors = collectErrors(page);
      let streams = 0;
      page.on('request', (r) => {
        if (new URL(r.url()).pathname === '/api/events') streams++;
      });
      await signIn(f, page, OPERATOR_TOKEN, 'alice');
      await page.locator('.live', { hasText: 'live' }).waitFor();
      assert.equal((await weightOf(page, 'static').innerText()).trim(), '10%');

      writeFileSync(f.gw.file, dashboardYaml(f.legacy, f.rewrite, 30));
      assert.equal(await f.gw.running.reload(), true);
      await eventually('the table shows the reloaded weight', async () => {
        return (await weightOf(page, 'static').innerText()).trim() === '30%';
      });

      // The same admin port, a new process state: the stream drops and the browser dials again.
      const port = Number(new URL(f.gw.adminUrl).port);
      const before = streams;
      await f.gw.close();
      await page.locator('.live', { hasText: 'reconnecting' }).waitFor();
      f.gw = await startGateway(dashboardYaml(f.legacy, f.rewrite, 40, port));
      await page.locator('.live', { hasText: /^live$/ }).waitFor();
      assert.ok(streams > before, 'the EventSource opened a new stream');
      await eventually('the table shows the restarted gateway', async () => {
        return (await weightOf(page, 'static').innerText()).trim() === '40%';
      });
      // While the gateway was down, the stream's failed loads are logged by Chromium: those only.
      const others = unexpectedErrors(errors).filter((e) => !/\/api\/events\b/.test(e));
      assert.deepEqual(others, []);
    } finally {
      await context.close();
    }
  });
});
