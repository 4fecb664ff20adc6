// The dashboard's guard rails, in Chromium against a real gateway: a viewer
// sees no action and the API refuses the writes a viewer forges; a wrong
// token is refused with the API's own message; a form posted from another
// site (another port of 127.0.0.1) to the admin is refused.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { request } from 'undici';
import { collectErrors } from '../helpers/browser.ts';
import { startGateway, twoBackendYaml } from '../helpers/gateway.ts';
import {
  apiRollout,
  type Fixture,
  newPage,
  OPERATOR_TOKEN,
  signIn,
  startFixture,
  unexpectedErrors,
  VIEWER_TOKEN,
} from './ui-fixture.ts';

describe('dashboard: roles, sign-in and cross-site requests', () => {
  let f: Fixture;
  before(async () => {
    f = await startFixture();
  });
  after(() => f.close());

  test('a viewer sees the data but no action button, and a forged POST is refused with 403', async () => {
    const { context, page } = await newPage(f);
    try {
      const errors = collectErrors(page);
      await signIn(f, page, VIEWER_TOKEN, 'victor');
      assert.match(await page.locator('header .role').innerText(), /viewer/);
      await page.getByRole('link', { name: 'checkout' }).click();
      await page.getByRole('heading', { name: 'Gates' }).waitFor();
      await page.getByRole('heading', { name: 'Timeline' }).waitFor();
      for (const name of ['Roll back', 'Pause', 'Reset', 'Force open', /^Promote/]) {
        assert.equal(await page.getByRole('button', { name }).count(), 0, `no ${name} button`);
      }
      // The page's own session, CSRF token included: only the role is missing.
      const status = await page.evaluate(`(async () => {
        const s = await (await fetch('/api/session')).json();
        const r = await fetch('/api/routes/checkout/rollout/rollback', {
          method: 'POST', headers: { 'x-csrf-token': s.csrf }, credentials: 'same-origin' });
        return r.status;
      })()`);
      assert.equal(status, 403);
      assert.equal((await apiRollout(f, 'checkout')).state, 'canary');
      // The forged request's 403 is the one console error, and it is the test's.
      assert.deepEqual(
        unexpectedErrors(errors).filter((e) => !/status of 403/.test(e)),
        [],
      );
    } finally {
      await context.close();
    }
  });

  test('a wrong token is refused with the API message shown on the form', async () => {
    const res = await request(`${f.gw.adminUrl}/api/session`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ token: 'not-the-token', name: 'mallory' }),
    });
    const problem = (await res.body.json()) as { detail: string };
    assert.equal(res.statusCode, 401);
    const { context, page } = await newPage(f);
    try {
      await page.goto(`${f.gw.adminUrl}/ui/`);
      await page.getByLabel('Admin or viewer token').fill('not-the-token');
      await page.getByLabel(/Your name/).fill('mallory');
      await page.getByRole('button', { name: 'Sign in' }).click();
      const alert = page.getByRole('alert');
      await alert.waitFor();
      assert.equal((await alert.innerText()).trim(), problem.detail);
      assert.equal(await page.locator('header .who').count(), 0, 'not signed in');
    } finally {
      await context.close();
    }
  });

  test('a form posted to the admin from a page on another origin is refused', async () => {
    const target = `${f.gw.adminUrl}/api/routes/search/rollout/rollback`;
    // The attacker's page: no CSP of ours, an auto-submitting form (a "simple" request, no preflight).
    const evil: Server = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end(`<form id="f" method="POST" action="${target}" enctype="text/plain">
        <input name='{"a":"' value='"}'></form><script>document.getElementById('f').submit()</script>`);
    });
    evil.listen(0, '127.0.0.1');
    await once(evil, 'listening');
    const { context, page } = await newPage(f);
    try {
      // Signed in first: the browser holds the session cookie the forged form would ride on.
      await signIn(f, page, OPERATOR_TOKEN, 'alice');
      const posted = page.waitForResponse((r) => r.url() === target);
      await page.goto(`http://127.0.0.1:${(evil.address() as AddressInfo).port}/`);
      const answer = await posted;
      assert.equal(answer.status(), 403);
      assert.equal(answer.request().method(), 'POST');
      assert.equal((await apiRollout(f, 'search')).state, 'shadow', 'nothing was rolled back');
    } finally {
      await context.close();
      evil.close();
    }
  });

  test('with no token configured (loopback only) the dashboard opens without sign-in', async () => {
    const open = await startGateway(twoBackendYaml(f.legacy.url, f.rewrite.url, { weight: 10 }));
    const { context, page } = await newPage(f);
    try {
      const errors = collectErrors(page);
      await page.goto(`${open.adminUrl}/ui/`);
      await page.locator('header .who').filter({ hasText: 'local' }).waitFor();
      assert.match(await page.locator('header .role').innerText(), /operator/);
      await page.getByRole('rowheader', { name: 'main' }).waitFor();
      assert.equal(await page.getByLabel('Admin or viewer token').count(), 0, 'no sign-in form');
      assert.deepEqual(errors, []);
    } finally {
      await context.close();
      await open.close();
    }
  });
});
