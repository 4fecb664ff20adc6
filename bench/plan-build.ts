// Writes a Zipkin v2 export of SPANS spans (1,000,000 by default; traces of
// four spans: a server span, its client call to another of 12 services, that
// service's server span and its SQL statement), reads it with readSpans into
// a PlanBuilder and prints one JSON line: spans, traces, read time, finish
// time and how far the RSS grew (the builder keeps compact records, so it
// must stay far below the size of the spans as objects).
// Run: flock /tmp/bench.lock npm exec -- node bench/plan-build.ts
import { once } from 'node:events';
import { createWriteStream, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PlanBuilder, readSpans } from '../src/plan/index.ts';

const SPANS = Number(process.env.SPANS ?? 1_000_000);
const dir = mkdtempSync(join(tmpdir(), 'cutover-plan-build-'));
const file = join(dir, 'zipkin.json');

const SERVICES = Array.from({ length: 12 }, (_, i) => `svc-${i}`);
const STATEMENTS = [
  'SELECT id, status FROM orders WHERE id = ?',
  'UPDATE orders SET status = ? WHERE id = ?',
  'INSERT INTO invoices (order_id, amount) VALUES (?, ?)',
  'SELECT total FROM invoices WHERE order_id = ?',
];

const out = createWriteStream(file);
out.write('[');
for (let i = 0; i < SPANS; i++) {
  const t = Math.floor(i / 4);
  const step = i % 4;
  const caller = SERVICES[t % SERVICES.length];
  const callee = SERVICES[(t * 7 + 1) % SERVICES.length];
  const id = (n: number) => (n + 1).toString(16).padStart(16, '0');
  const span = {
    traceId: (t + 1).toString(16).padStart(32, '0'),
    id: id(i),
    ...(step === 0 ? {} : { parentId: id(i - 1) }),
    kind: step === 0 || step === 2 ? 'SERVER' : 'CLIENT',
    name: step === 3 ? 'query' : 'GET /orders/{id}',
    // Spread over a day, so per-day figures are per-day.
    timestamp: 1_700_000_000_000_000 + Math.floor((i * 86_400_000_000) / SPANS),
    duration: 1000,
    localEndpoint: { serviceName: step < 2 ? caller : callee },
    ...(step === 1 ? { remoteEndpoint: { serviceName: callee } } : {}),
    tags:
      step === 3
        ? { 'db.system': 'postgresql', 'db.name': 'shop', 'db.statement': STATEMENTS[t % 4] }
        : { 'http.method': 'GET', 'http.route': '/orders/{id}' },
  };
  const text = `${i === 0 ? '' : ','}${JSON.stringify(span)}\n`;
  if (!out.write(text)) await once(out, 'drain');
}
out.end(']');
await once(out, 'finish');

const bytes = statSync(file).size;
global.gc?.();
const rssBefore = process.memoryUsage.rss();
let rssPeak = rssBefore;
let seen = 0;
const builder = new PlanBuilder();
const summary = await readSpans([file], {
  onSpan: (span) => {
    builder.add(span);
    seen++;
    if ((seen & 0x3fff) === 0) rssPeak = Math.max(rssPeak, process.memoryUsage.rss());
  },
});
rssPeak = Math.max(rssPeak, process.memoryUsage.rss());
const finishStarted = performance.now();
const plan = builder.finish(summary);
const finishMs = performance.now() - finishStarted;
rssPeak = Math.max(rssPeak, process.memoryUsage.rss());
rmSync(dir, { recursive: true, force: true });
console.log(
  JSON.stringify({
    spans: summary.spans,
    traces: plan.traces.traces,
    modules: plan.modules.length,
    pairs: plan.pairs.length,
    bytes,
    readAndAddMs: Math.round(summary.elapsedMs),
    finishMs: Math.round(finishMs),
    rssGrowthMB: Math.round((rssPeak - rssBefore) / 1e6),
  }),
);
