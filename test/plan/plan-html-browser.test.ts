// The plan's HTML in a real browser (Debian's Chromium, installed by the test
// set-up): it loads nothing else, logs no error, and draws a node per module.
// The screenshot is kept as a test artifact to look at.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';
import { formatPlanHtml } from '../../src/plan/index.ts';
import { fixturePlan } from './plan-result-fixture.ts';

const dir = mkdtempSync(join(tmpdir(), 'cutover-plan-html-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const ARTIFACTS = process.env.CUTOVER_TEST_ARTIFACTS ?? join(tmpdir(), 'cutover-test-artifacts');

test('the plan HTML opens in Chromium with no request but itself, no console error, and a node per module', async (t) => {
  const file = join(dir, 'plan.html');
  writeFileSync(file, formatPlanHtml(fixturePlan()));
  const url = pathToFileURL(file).href;
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: ['--no-sandbox'],
  });
  t.after(() => browser.close());
  const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
  const problems: string[] = [];
  const requests: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') problems.push(m.text());
  });
  page.on('pageerror', (e) => problems.push(e.message));
  page.on('request', (r) => requests.push(r.url()));
  await page.goto(url, { waitUntil: 'load' });
  assert.deepEqual(problems, []);
  assert.deepEqual(requests, [url], 'no external asset, and the hostile name ran nothing');
  // Runs in the page; the project's types have no DOM lib, so the one DOM call is typed here.
  const nodes = await page.$$eval('svg g.node', (gs) => {
    const view = globalThis as unknown as { getComputedStyle(e: unknown): { fill: string } };
    return gs.map((g) => ({
      module: g.getAttribute('data-module'),
      stage: g.querySelector('.stage-text')?.textContent,
      fill: view.getComputedStyle(g.querySelector('circle')).fill,
    }));
  });
  assert.deepEqual(
    nodes.map((n) => n.module),
    fixturePlan().modules.map((m) => m.name),
  );
  const fills: Record<string, string> = {
    L1: 'rgb(46, 157, 79)',
    L2: 'rgb(224, 161, 0)',
    L3: 'rgb(209, 55, 46)',
  };
  for (const n of nodes) assert.equal(n.fill, fills[n.stage ?? ''], JSON.stringify(n));
  mkdirSync(ARTIFACTS, { recursive: true });
  const shot = join(ARTIFACTS, 'plan.png');
  await page.screenshot({ path: shot, fullPage: true });
  t.diagnostic(`screenshot: ${shot}`);
});
