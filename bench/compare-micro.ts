// Response comparison in isolation: a ~1 MiB JSON pair (5,000 objects of 10
// fields, a few differences) and a ~2 KiB pair, compared with compiled rules.
// Prints best and median per comparison over ROUNDS rounds, with and without
// JSON.parse (the parse is part of what a shadow comparison costs).
// ROUNDS=20 node bench/compare-micro.ts
import {
  compareResponses,
  compileCompareRules,
  parseJsonBody,
  type ResponseSample,
} from '../src/compare/index.ts';
import { DiffCollector, diffJson } from '../src/compare/json-diff.ts';

const ROUNDS = Number(process.env.ROUNDS ?? 20);

function items(n: number, tweak: boolean): unknown {
  const list = [];
  for (let i = 0; i < n; i++) {
    list.push({
      id: i,
      sku: `SKU-${String(i).padStart(6, '0')}`,
      name: `Item number ${i} with a moderately long name`,
      price: 19.9 + (i % 100) / 100,
      qty: i % 7,
      active: i % 3 !== 0,
      tags: ['alpha', 'beta', i % 2 ? 'odd' : 'even'],
      at: '2024-01-01T00:00:00Z',
      updatedAt: tweak ? `2024-05-0${(i % 9) + 1}T10:00:00Z` : '2024-05-01T10:00:00Z',
      owner: { id: i % 50, region: 'eu-west' },
    });
  }
  if (tweak) {
    (list[1] as { price: unknown }).price = '19.90';
    (list[n >> 1] as { qty: number }).qty = 99;
    (list[n - 1] as { name: string }).name = 'renamed';
  }
  return { requestId: tweak ? 'b' : 'a', items: list };
}

function sample(body: unknown): ResponseSample {
  return {
    status: 200,
    headers: { 'content-type': 'application/json' },
    body: Buffer.from(JSON.stringify(body)),
  };
}

const rules = compileCompareRules({
  ignore: ['$.requestId', '$.items[*].updatedAt'],
  timestamps: ['$.items[*].at'],
  floatPlaces: 2,
});

function time(label: string, run: () => unknown): void {
  for (let i = 0; i < 5; i++) run();
  const ms: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const start = process.hrtime.bigint();
    run();
    ms.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  ms.sort((a, b) => a - b);
  const best = ms[0];
  const median = ms[Math.floor(ms.length / 2)];
  const fmt = (v: number) => (v < 1 ? `${(v * 1000).toFixed(1)} µs` : `${v.toFixed(2)} ms`);
  console.log(
    `${label.padEnd(34)} best ${fmt(best).padStart(10)}  median ${fmt(median).padStart(10)}`,
  );
}

for (const [name, n] of [
  ['1 MiB', 5_000],
  ['2 KiB', 8],
] as const) {
  const a = sample(items(n, false));
  const b = sample(items(n, true));
  console.log(`${name} pair: ${a.body.byteLength} / ${b.body.byteLength} bytes`);
  const r = compareResponses(a, b, rules);
  console.log(`  differences: ${r.differences.map((d) => d.path).join(', ')}`);
  const pa = parseJsonBody(a.body)!.value;
  const pb = parseJsonBody(b.body)!.value;
  time(`  ${name} compareResponses (parse+diff)`, () => compareResponses(a, b, rules));
  time(`  ${name} JSON.parse both`, () => [parseJsonBody(a.body), parseJsonBody(b.body)]);
  time(`  ${name} diff only (parsed)`, () => diffJson(pa, pb, new DiffCollector(rules, undefined)));
}
