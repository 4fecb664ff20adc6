import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  buildReport,
  formatReportHtml,
  formatReportMarkdown,
  type MigrationReport,
} from '../../src/report/index.ts';
import { fixtureInput, HOSTILE_ROUTE } from './report-fixture.ts';

test('Markdown: the summary first, then every section', () => {
  const md = formatReportMarkdown(buildReport(fixtureInput()));
  const headings = md.split('\n').filter((l) => l.startsWith('## '));
  assert.deepEqual(headings, [
    '## Summary',
    '## Figures',
    '## Verdicts',
    '## Shadow',
    '## Timeline',
    '## Incidents',
    '## Cost model',
  ]);
  const summary = md.split('## Summary\n\n')[1].split('\n')[0];
  assert.match(summary, /^all routes: p99 .* → .* \(−\d+(\.\d)?%\), errors .* → .*; .*orders: p99/);
  assert.match(
    summary,
    /modelled effort 90 person-days for 1 module\(s\) \(the plan's cost model\)\.$/,
  );
  assert.match(md, /### orders/);
  assert.match(
    md,
    /\| \d{4}-\d\d-\d\dT[\d:]+Z \| orders \| rollback \| canary → rolled-back \| 5% → 0% \| controller \| errorRate <b>failed<\/b> \| errorRate 1\.2% > 0\.3% \|/,
  );
  assert.match(md, /Fit f\(t\) = a·e\^\(−kt\): a = /);
  assert.match(md, /\| orders \| L1 \| 90\.0 \| 40\.5 \| 27\.0 \| 22\.5 \|/);
  assert.match(md, /`\$\.items\[\*\]\.price`/);
  // A route name with a pipe cannot break a table.
  const piped = buildReport({ ...fixtureInput(), routes: [{ route: 'a|b', minutes: [] }] });
  assert.match(formatReportMarkdown(piped), /\| a\\\|b \|/);
});

test('JSON: the report round-trips, n/a figures keep their reasons', () => {
  const report = buildReport(fixtureInput());
  const text = JSON.stringify(report, null, 2);
  const back = JSON.parse(text) as MigrationReport;
  assert.deepEqual(back, JSON.parse(JSON.stringify(report)));
  assert.equal(typeof back.overall.sameWindows.p99DropRate.value, 'number');
  // Six weeks asked, three hours of traffic: the charts still go by the minute.
  assert.equal(back.routes[0].bucketMs, 60_000);
  assert.equal(back.routes.find((r) => r.route === 'orders')?.series.length, 180);
  const noInstances = buildReport({ ...fixtureInput(), instances: undefined });
  const ratio = (JSON.parse(JSON.stringify(noInstances)) as MigrationReport).overall
    .throughputPerInstanceRatio;
  assert.deepEqual(ratio, {
    value: null,
    na: 'instance counts not given (--instances or Prometheus)',
  });
});

test('HTML: one self-contained file, user text escaped, no script', () => {
  const html = formatReportHtml(buildReport(fixtureInput()));
  assert.ok(!/<script/i.test(html), 'no script element: the hostile route name is escaped');
  assert.ok(html.includes('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;co'));
  assert.ok(html.includes('errorRate &lt;b&gt;failed&lt;/b&gt;'));
  assert.ok(html.includes('header:&lt;etag&gt;'));
  const urls = html.match(/(https?:)?\/\/[^\s"')]+/g) ?? [];
  assert.deepEqual(
    [...new Set(urls)],
    ['http://www.w3.org/2000/svg'],
    'no external asset: only the SVG namespace',
  );
  assert.match(html, /@media print/);
  // all routes: latency, errors, shadow; orders: the same + weight; the other route: latency, errors; + incidents.
  assert.equal(html.match(/<svg /g)?.length, 3 + 4 + 2 + 1);
  assert.ok(HOSTILE_ROUTE.includes('<script>'));
});
