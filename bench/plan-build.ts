// Writes a Zipkin v2 export of SPANS spans (1,000,000 by default; traces of
// four spans: a server span, its client call to another of 12 services, that
// service's server span and its SQL statement), reads it with readSpans into
// a PlanBuilder and prints one JSON line: spans, traces, read time, finish
// time and how far the RSS grew (the builder keeps compact records, so it
// must stay far below the size of the spans as objects).
// LINKS=1 writes OTLP JSON lines instead, where every producer's consumer is
// in a trace of its own, tied to it by a span link (the messaging case), so
// the cost of resolving links is measured too.
// Run: flock /tmp/bench.lock npm exec -- node bench/plan-build.ts
import { once } from 'node:events';
import { createWriteStream, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PlanBuilder, readSpans } from '../src/plan/index.ts';

const SPANS = Number(process.env.SPANS ?? 1_000_000);
const LINKS = process.env.LINKS === '1';
const dir = mkdtempSync(join(tmpdir(), 'cutover-plan-build-'));
const file = join(dir, LINKS ? 'otlp.jsonl' : 'zipkin.json');

const SERVICES = Array.from({ length: 12 }, (_, i) => `svc-${i}`);
const STATEMENTS = [
  'SELECT id, status FROM orders WHERE id = ?',
  'UPDATE orders SET status = ? WHERE id = ?',
  'INSERT INTO invoices (order_id, amount) VALUES (?, ?)',
  'SELECT total FROM invoices WHERE order_id = ?',
];

const out = createWriteStream(file);
const id = (n: number) => (n + 1).toString(16).padStart(16, '0');
const traceId = (n: number) => (n + 1).toString(16).padStart(32, '0');
// Spread over a day, so per-day figures are per-day.
const nanos = (i: number) =>
  `${1_700_000_000_000_000 + Math.floor((i * 86_400_000_000) / SPANS)}000`;

/** Four spans in two traces: a server span and its producer span; the consumer (linked) and its SQL. */
function linkedGroup(g: number): string {
  const i = g * 4;
  const span = (n: number, trace: number, kind: number, extra: object) => ({
    traceId: traceId(trace),
    spanId: id(i + n),
    name: kind === 2 ? 'POST /orders' : 'order-events',
    kind,
    startTimeUnixNano: nanos(i + n),
    endTimeUnixNano: nanos(i + n + 1),
    ...extra,
  });
  const resource = (service: string, spans: object[]) => ({
    resource: { attributes: [{ key: 'service.name', value: { stringValue: service } }] },
    scopeSpans: [{ scope: { name: 'bench' }, spans }],
  });
  const kafka = [
    { key: 'messaging.system', value: { stringValue: 'kafka' } },
    { key: 'messaging.destination.name', value: { stringValue: 'order-events' } },
  ];
  const statement = { stringValue: STATEMENTS[g % 4] };
  return JSON.stringify({
    resourceSpans: [
      resource(SERVICES[g % SERVICES.length], [
        span(0, 2 * g, 2, {}),
        span(1, 2 * g, 4, { parentSpanId: id(i), attributes: kafka }),
      ]),
      resource(SERVICES[(g * 7 + 1) % SERVICES.length], [
        span(2, 2 * g + 1, 5, {
          attributes: kafka,
          links: [{ traceId: traceId(2 * g), spanId: id(i + 1) }],
        }),
        span(3, 2 * g + 1, 3, {
          parentSpanId: id(i + 2),
          attributes: [
            { key: 'db.system', value: { stringValue: 'postgresql' } },
            { key: 'db.name', value: { stringValue: 'shop' } },
            { key: 'db.statement', value: statement },
          ],
        }),
      ]),
    ],
  });
}

/** One span of a Zipkin trace: a server span, its client call, the callee's server span and its SQL. */
function zipkinSpan(i: number): string {
  const t = Math.floor(i / 4);
  const step = i % 4;
  const caller = SERVICES[t % SERVICES.length];
  const callee = SERVICES[(t * 7 + 1) % SERVICES.length];
  return JSON.stringify({
    traceId: traceId(t),
    id: id(i),
    ...(step === 0 ? {} : { parentId: id(i - 1) }),
    kind: step === 0 || step === 2 ? 'SERVER' : 'CLIENT',
    name: step === 3 ? 'query' : 'GET /orders/{id}',
    timestamp: 1_700_000_000_000_000 + Math.floor((i * 86_400_000_000) / SPANS),
    duration: 1000,
    localEndpoint: { serviceName: step < 2 ? caller : callee },
    ...(step === 1 ? { remoteEndpoint: { serviceName: callee } } : {}),
    tags:
      step === 3
        ? { 'db.system': 'postgresql', 'db.name': 'shop', 'db.statement': STATEMENTS[t % 4] }
        : { 'http.method': 'GET', 'http.route': '/orders/{id}' },
  });
}

async function write(text: string): Promise<void> {
  if (!out.write(text)) await once(out, 'drain');
}

if (LINKS) {
  for (let g = 0; g < SPANS / 4; g++) await write(`${linkedGroup(g)}\n`);
} else {
  await write('[');
  for (let i = 0; i < SPANS; i++) await write(`${i === 0 ? '' : ','}${zipkinSpan(i)}\n`);
  await write(']');
}
out.end();
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
    callsPerDay: Math.round(plan.pairs.reduce((sum, p) => sum + p.callsPerDay, 0)),
    bytes,
    readAndAddMs: Math.round(summary.elapsedMs),
    finishMs: Math.round(finishMs),
    rssGrowthMB: Math.round((rssPeak - rssBefore) / 1e6),
  }),
);
