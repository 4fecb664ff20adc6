// What the dashboard's browser tests share: a real gateway between two real
// upstreams with an operator token and a viewer token, three routes (one in
// canary, one held in shadow, one without a rollout), gentle traffic so the
// charts have figures, Chromium, and signing in through the page itself.
import assert from 'node:assert/strict';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { Agent, request } from 'undici';
import { launchChromium } from '../helpers/browser.ts';
import { startGateway, type TestGateway } from '../helpers/gateway.ts';
import { startUpstream, type Upstream } from '../helpers/upstream.ts';

export const OPERATOR_TOKEN = 'operator-secret-1';
export const VIEWER_TOKEN = 'viewer-secret-2';
/** Routes as the table lists them (by name). */
export const ROUTES = ['checkout', 'search', 'static'] as const;

/** `staticWeight` moves with a reload, `adminPort` stays across a restart (the live test). */
export function dashboardYaml(
  legacy: Upstream,
  rewrite: Upstream,
  staticWeight = 10,
  adminPort = 0,
): string {
  return `listen: 127.0.0.1:0
admin: { listen: 127.0.0.1:${adminPort}, token: ${OPERATOR_TOKEN}, viewerToken: ${VIEWER_TOKEN} }
state: memory
log: { access: false }
rollouts:
  checkEvery: 200ms
backends:
  legacy: { url: ${legacy.url} }
  rewrite: { url: ${rewrite.url} }
routes:
  # No shadow phase and an hour per step: in canary at 25% for the whole test.
  - name: checkout
    match: { path: /checkout/* }
    legacy: legacy
    candidate: rewrite
    split: { stickyKey: header:x-user-id }
    rollout: { steps: [25, 50, 100], shadowFor: 0s, interval: 1h, minRequests: 20, window: 10s }
  # An hour of shadow: held there for the whole test.
  - name: search
    match: { path: /search/* }
    legacy: legacy
    candidate: rewrite
    split: { stickyKey: header:x-user-id }
    shadow: { compare: { ignore: ['$.headers'] } }
    rollout: { steps: [50, 100], shadowFor: 1h, interval: 1h }
  - name: static
    match: { path: /static/* }
    legacy: legacy
    candidate: rewrite
    split: { stickyKey: header:x-user-id }
    weight: ${staticWeight}
`;
}

export interface Fixture {
  gw: TestGateway;
  legacy: Upstream;
  rewrite: Upstream;
  browser: Browser;
  close(): Promise<void>;
}

/** About 30 requests a second over the three routes, until `close`. */
function startTraffic(url: string): () => Promise<void> {
  const agent = new Agent({ connections: 2 });
  let user = 0;
  const timer = setInterval(() => {
    for (const path of ['/checkout/cart', '/search/q', '/static/a.css']) {
      user++;
      request(`${url}${path}`, { dispatcher: agent, headers: { 'x-user-id': String(user) } })
        .then((r) => r.body.dump())
        .catch(() => undefined);
    }
  }, 100);
  return async () => {
    clearInterval(timer);
    await agent.close();
  };
}

export async function startFixture(): Promise<Fixture> {
  const legacy = await startUpstream({ name: 'svc' });
  const rewrite = await startUpstream({ name: 'svc' });
  const gw = await startGateway(dashboardYaml(legacy, rewrite));
  const stopTraffic = startTraffic(gw.url);
  const browser = await launchChromium();
  const fixture: Fixture = {
    gw,
    legacy,
    rewrite,
    browser,
    async close() {
      await browser.close();
      await stopTraffic();
      // The live test replaces the gateway with a restarted one.
      await fixture.gw.close();
      await Promise.all([legacy.close(), rewrite.close()]);
    },
  };
  return fixture;
}

/** A 1280×800 page (or `width` wide) in a new browser context: its own cookies. */
export async function newPage(
  f: Fixture,
  options: { width?: number; bypassCSP?: boolean } = {},
): Promise<{ context: BrowserContext; page: Page }> {
  const width = options.width ?? 1280;
  const context = await f.browser.newContext({
    viewport: { width, height: 800 },
    bypassCSP: options.bypassCSP ?? false,
  });
  return { context, page: await context.newPage() };
}

/** Signs in through the form and waits for the header that shows who is signed in. */
export async function signIn(f: Fixture, page: Page, token: string, name: string): Promise<void> {
  await page.goto(`${f.gw.adminUrl}/ui/`);
  await page.getByLabel('Admin or viewer token').fill(token);
  await page.getByLabel(/Your name/).fill(name);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.locator('header .who').filter({ hasText: name }).waitFor();
}

/** A route's rollout as the API reports it (Bearer token, as the CLI reads it). */
export async function apiRollout(
  f: Fixture,
  route: string,
): Promise<{ state: string; weight: number }> {
  const res = await request(`${f.gw.adminUrl}/api/routes/${route}`, {
    headers: { authorization: `Bearer ${OPERATOR_TOKEN}` },
  });
  assert.equal(res.statusCode, 200);
  return ((await res.body.json()) as { rollout: { state: string; weight: number } }).rollout;
}

export async function apiHistory(f: Fixture, route: string): Promise<Record<string, unknown>[]> {
  const res = await request(`${f.gw.adminUrl}/api/routes/${route}/history`, {
    headers: { authorization: `Bearer ${OPERATOR_TOKEN}` },
  });
  assert.equal(res.statusCode, 200);
  return ((await res.body.json()) as { history: Record<string, unknown>[] }).history;
}

/**
 * The console errors that are the test's own doing, not the page's: the page
 * asks GET /api/session before anyone signed in, and 401 is the answer that
 * shows the sign-in form (Chromium logs every 4xx load as an error).
 */
export function unexpectedErrors(errors: readonly string[]): string[] {
  return errors.filter((e) => !/status of 401 .*\/api\/session\)$/.test(e));
}
