// Signing out of the dashboard in Chromium, on a gateway whose state is a
// real redis-server: the session is revoked in the store (a copied cookie is
// refused), and when Redis is gone the page still signs out and says the
// sign-out did not reach every instance.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { request } from 'undici';
import { launchChromium } from '../helpers/browser.ts';
import { startGateway, type TestGateway } from '../helpers/gateway.ts';
import { startRedis, type TestRedis } from '../helpers/redis-server.ts';
import { startUpstream, type Upstream } from '../helpers/upstream.ts';
import { dashboardYaml, type Fixture, newPage, OPERATOR_TOKEN, signIn } from './ui-fixture.ts';

describe('dashboard: signing out', { timeout: 90_000 }, () => {
  let redis: TestRedis;
  let legacy: Upstream;
  let rewrite: Upstream;
  let gw: TestGateway;
  let browser: Browser;
  let f: Fixture;

  before(async () => {
    redis = await startRedis();
    legacy = await startUpstream({ name: 'svc' });
    rewrite = await startUpstream({ name: 'svc' });
    gw = await startGateway(
      dashboardYaml(legacy, rewrite).replace('state: memory', `state: ${redis.url}/0`),
    );
    browser = await launchChromium();
    f = { gw, legacy, rewrite, browser, close: async () => undefined };
  });
  after(async () => {
    await browser?.close();
    await gw?.close();
    await legacy?.close();
    await rewrite?.close();
    await redis?.close();
  });

  /** The session cookie the page holds, as a `cookie` header. */
  async function cookieOf(context: { cookies(): Promise<{ name: string; value: string }[]> }) {
    const c = (await context.cookies()).find((x) => x.name === 'cutover_session');
    assert.ok(c, 'signed in');
    return `${c.name}=${c.value}`;
  }

  const who = async (cookie: string) =>
    (await request(`${gw.adminUrl}/api/session`, { headers: { cookie } })).statusCode;

  test('revokes the session: a copy of the cookie is refused afterwards', async () => {
    const { context, page } = await newPage(f);
    try {
      await signIn(f, page, OPERATOR_TOKEN, 'alice');
      const copied = await cookieOf(context);
      assert.equal(await who(copied), 200);
      await page.getByRole('button', { name: 'Sign out' }).click();
      await page.getByLabel('Admin or viewer token').waitFor();
      const alerts = await page.getByRole('alert').allInnerTexts();
      assert.deepEqual(alerts, [], 'no notice: the store took it');
      assert.equal(await who(copied), 401);
    } finally {
      await context.close();
    }
  });

  test('with Redis gone, the page signs out and says it did not reach every instance', async () => {
    const { context, page } = await newPage(f);
    try {
      await signIn(f, page, OPERATOR_TOKEN, 'bob');
      const copied = await cookieOf(context);
      await redis.kill();
      await page.getByRole('button', { name: 'Sign out' }).click();
      const notice = page.getByRole('alert');
      await notice.waitFor();
      assert.match(await notice.innerText(), /Signed out here, but not everywhere/);
      // This instance refuses the cookie all the same.
      assert.equal(await who(copied), 401);
    } finally {
      await context.close();
    }
  });
});
