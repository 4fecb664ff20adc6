// The four outputs of `cutover plan`, from one hand-made PlanResult.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  formatPlanHtml,
  formatPlanJson,
  formatPlanMarkdown,
  formatPlanTable,
} from '../../src/plan/index.ts';
import { fixturePlan, HOSTILE } from './plan-result-fixture.ts';

const plan = fixturePlan();

test('the table has a row per module in plan order with its stage, score, pair figures, traffic and cost', () => {
  const text = formatPlanTable(plan);
  const lines = text.split('\n');
  const header = lines.findIndex((l) => l.startsWith('MODULE'));
  assert.ok(header > 0, text);
  const rows = lines.slice(header + 1, header + 1 + plan.modules.length);
  assert.deepEqual(
    rows.map((r) => r.split(/\s{2,}/)[0]),
    plan.modules.map((m) => m.name),
  );
  assert.deepEqual(rows[0].split(/\s{2,}/), [
    'users',
    'L1',
    '0.08',
    'orders',
    '20.0%',
    '0',
    '0',
    '1,200',
    '9 d',
  ]);
  assert.deepEqual(rows[2].split(/\s{2,}/), [
    'orders',
    'L2',
    '0.43',
    'billing',
    '50.0%',
    '6',
    '2',
    '3,000',
    '18 d',
  ]);
  // Fixed width: every row as long as the header (right-aligned numbers end in the same column).
  const width = lines[header].length;
  for (const r of rows) assert.equal(r.length, width, r);
  assert.match(text, /Warnings:\n {2}! high-coupling: billing and .*61,000 cross-module calls/);
  assert.match(text, /! two-phase: billing: 2PC in 20% of transactions/);
  assert.match(
    text,
    /score = 0\.40·call ratio \+ 0\.35·min\(shared columns\/20, 1\) \+ 0\.25·min\(tx hops\/5, 1\)/,
  );
  assert.ok(!text.includes('\x1b['), 'no colour unless asked');
});

test('the table colours the stage cell only when asked, and never passes control characters through', () => {
  const coloured = formatPlanTable(plan, { color: true });
  assert.ok(coloured.includes('\x1b[32mL1\x1b[0m'), coloured);
  assert.ok(coloured.includes('\x1b[31mL3\x1b[0m'));
  const evil = fixturePlan();
  const named = { ...evil, modules: [{ ...evil.modules[0], name: 'a\x1b[2Jb\nc' }] };
  const text = formatPlanTable(named);
  assert.ok(text.includes('a?[2Jb?c'), text);
  assert.ok(!text.includes('\x1b'));
});

test('Markdown has the module table, cost as a model with its inputs, pairs, data stores, warnings and the legend', () => {
  const md = formatPlanMarkdown(plan);
  assert.match(
    md,
    /^\| module \| stage \| score \| with \| call ratio \| shared cols \| tx hops \| traffic \| cost \|$/m,
  );
  assert.match(md, /^\| users \| L1 \| 0\.08 \| orders \| 20\.0% \| 0 \| 0 \| 1,200 \| 9 d \|$/m);
  assert.match(
    md,
    /\*\*users\*\*: model: inputs base 10 d × skill 1\.8 = 18 person-days \(people 8\.1, compatibility 5\.4, observability 4\.5\) ÷ team 2 = 9 d/,
  );
  assert.match(md, /^## Pairs$/m);
  assert.match(
    md,
    /^\| billing ↔ orders \| 0\.43 \| 50\.0% \| 1,500 \| 6 columns: orders\\_db\.orders\.status \| 2 \| - \|$/m,
  );
  assert.match(md, /^## Data stores$/m);
  assert.match(md, /^\| postgresql:orders\\_db \| db\.system \| billing, orders \| orders \|$/m);
  assert.match(md, /^## Warnings$/m);
  assert.match(md, /^- \*\*L3\*\*: held back/m);
  // The hostile name cannot open an HTML tag or break the table.
  assert.ok(!/(^|[^\\])</m.test(md), 'every < is escaped');
  assert.ok(md.includes('\\<img src=x onerror=alert\\(1\\)\\>'));
});

test('JSON is the PlanResult, two-space indented, and reads back to the same value', () => {
  const text = formatPlanJson(plan);
  assert.ok(text.endsWith('}\n'));
  assert.ok(text.startsWith('{\n  "modules": ['));
  // undefined (no cost, no 2PC seen) is left out, as JSON does.
  assert.deepEqual(JSON.parse(text), JSON.parse(JSON.stringify(plan)));
  const back = JSON.parse(text) as typeof plan;
  assert.equal(back.modules[3].pair?.with, HOSTILE);
  assert.equal(back.pairs[0].twoPhaseShare, 0.2);
});

test('HTML is one self-contained page: the table, and an SVG graph with a node per module coloured and labelled by stage', () => {
  const html = formatPlanHtml(plan);
  assert.ok(html.startsWith('<!doctype html>'));
  assert.equal(html.match(/<svg\b/g)?.length, 1);
  assert.ok(!/https?:\/\//.test(html), 'no URL, so no external asset');
  assert.ok(!/<script|<link|@import|url\(/i.test(html), 'no script, stylesheet link or CSS url()');
  const nodes = [
    ...html.matchAll(
      /<g class="node stage-(L[123])" data-module="([^"]*)">\n<circle [^>]*fill="(#[0-9a-f]{6})"\/>\n<text class="stage-text"[^>]*>(L[123])<\/text>\n<text class="node-label"[^>]*>([^<]*)<\/text>/g,
    ),
  ];
  assert.equal(nodes.length, plan.modules.length);
  const colours: Record<string, string> = { L1: '#2e9d4f', L2: '#e0a100', L3: '#d1372e' };
  for (const [, stage, , fill, label] of nodes) {
    assert.equal(fill, colours[stage]);
    assert.equal(label, stage, 'the stage is written in the node, not only coloured');
  }
  assert.deepEqual(
    nodes.map((n) => n[5]),
    [
      'users',
      'inventory',
      'orders',
      'billing',
      '&lt;img src=x onerror=alert(1)&gt;&amp;&quot;quote&#39;',
    ],
  );
  // Edges labelled with calls a day; data stores drawn as their own shape.
  assert.match(html, /<text class="edge-label"[^>]*>61,000 calls\/day · 0\.71<\/text>/);
  assert.match(html, /<text class="edge-label"[^>]*>240 calls\/day · 0\.08<\/text>/);
  assert.equal(html.match(/<g class="store" data-store=/g)?.length, 2);
  // The stage legend names each stage in text.
  assert.match(html, /<span class="stage L3">L3<\/span>held back/);
  // The hostile name never appears raw anywhere.
  assert.ok(!html.includes(HOSTILE));
  assert.ok(!html.includes('<img'));
  assert.match(html, /@media print/);
});

test('HTML draws a pair coupled only through data dotted and unlabelled, and counts shared items in words', () => {
  const base = fixturePlan();
  const dataOnly = {
    ...base,
    pairs: [
      ...base.pairs,
      {
        a: 'inventory',
        b: 'users',
        callRatio: 0,
        callsPerDay: 0,
        sharedColumns: 1,
        sharedLevel: 'stores' as const,
        shared: ['postgresql:shop'],
        txHops: 1,
        twoPhaseShare: undefined,
        score: 0.05,
      },
    ],
  };
  const html = formatPlanHtml(dataOnly);
  assert.match(html, /<line class="edge-nocall" data-pair="inventory users"/);
  assert.ok(!/>0 calls\/day/.test(html));
  assert.ok(html.includes('1 store: postgresql:shop'));
  assert.ok(formatPlanMarkdown(dataOnly).includes('1 store: postgresql:shop'));
});
