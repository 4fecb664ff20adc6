// The HTML report opened in a real browser: Debian's Chromium driven by
// playwright-core. A screenshot is saved to test-artifacts/report.png.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';
import { buildReport, formatReportHtml } from '../../src/report/index.ts';
import { fixtureInput } from './report-fixture.ts';

const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = join(import.meta.dirname, '..', '..', 'test-artifacts');

test('the HTML report renders in Chromium: no errors, charts drawn, key figures visible', async () => {
  assert.ok(
    existsSync(CHROMIUM),
    `${CHROMIUM} is missing: run \`npm run pretest\` (it installs Debian's chromium)`,
  );
  const report = buildReport(fixtureInput());
  const dir = await mkdtemp(join(tmpdir(), 'cutover-report-'));
  const file = join(dir, 'report.html');
  await writeFile(file, formatReportHtml(report));
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  try {
    const page = await browser.newPage({ viewport: { width: 1024, height: 800 } });
    const problems: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning')
        problems.push(`console ${m.type()}: ${m.text()}`);
    });
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    const requests: string[] = [];
    page.on('request', (r) => requests.push(r.url()));
    await page.goto(pathToFileURL(file).href, { waitUntil: 'load' });

    assert.deepEqual(problems, []);
    assert.deepEqual(requests, [pathToFileURL(file).href], 'no request but the file itself');
    const sizes = await page.$$eval('svg', (svgs) =>
      svgs.map((s) => {
        const box = s.getBoundingClientRect();
        return { width: box.width, height: box.height, label: s.getAttribute('aria-label') ?? '' };
      }),
    );
    assert.equal(sizes.length, 10);
    for (const s of sizes)
      assert.ok(s.width > 100 && s.height > 30, `${s.label}: ${s.width}×${s.height}`);
    assert.ok(sizes.some((s) => s.label === 'orders: candidate weight'));
    assert.ok(sizes.some((s) => s.label === 'Incidents per week'));
    const text = await page.innerText('body');
    const orders = report.routes.find((r) => r.route === 'orders');
    assert.ok(orders && orders.sameWindows.p99DropRate.value !== null);
    const drop = `−${(orders.sameWindows.p99DropRate.value * 100).toFixed(1)}%`;
    assert.ok(text.includes(drop), `the p99 change ${drop} is shown`);
    assert.ok(text.includes(report.summary), 'the summary is shown as written');
    assert.match(text, /errorRate 1\.2% > 0\.3%/, 'the rollback cause');
    assert.ok(
      text.includes('<script>alert("x")</script>&co'),
      'the hostile route name shows as text',
    );
    await mkdir(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, 'report.png'), fullPage: true });
    await page.emulateMedia({ media: 'print' });
    // The callback runs in the page, where the DOM exists; this file is typed for Node.
    const background = await page.$eval(
      'body',
      (b) =>
        (
          globalThis as unknown as { getComputedStyle(e: unknown): { backgroundColor: string } }
        ).getComputedStyle(b).backgroundColor,
    );
    assert.equal(background, 'rgb(255, 255, 255)', 'printed on white');
  } finally {
    await browser.close();
    await rm(dir, { recursive: true, force: true });
  }
});
