// Calls made through span links: a consumer in one trace tied to its producer
// in another only by a link (OTLP `links`, a Jaeger reference to another
// trace). Files are written in each format and read with readSpans, then
// planned. Every trace lies within one minute, so the traces span 1/1440 of a
// day and one call is 1,440 calls a day.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  PlanBuilder,
  type PlanPair,
  type PlanResult,
  type PlanSpan,
  readSpans,
} from '../../src/plan/index.ts';

const T1 = '5b8efff798038103d269b633813fc60c';
const T2 = 'eee19b7ec3c1b174a39b2b8ad8a1f3b1';
const START = 1_700_000_000_000_000; // µs
const ONE_CALL_A_DAY = 1440;

interface Row {
  readonly trace: string;
  readonly id: string;
  readonly parent?: string;
  readonly link?: { readonly trace: string; readonly id: string };
  readonly service: string;
  readonly kind: 'SERVER' | 'CLIENT' | 'PRODUCER' | 'CONSUMER' | 'INTERNAL';
  readonly name: string;
  readonly tags?: Record<string, string>;
}

const KAFKA = { 'messaging.system': 'kafka', 'messaging.destination.name': 'order-events' };

/** orders serves a POST and publishes an event; billing consumes it in a trace of its own. */
function published(link: Row['link'], producerTags: Record<string, string> = KAFKA): Row[] {
  return [
    { trace: T1, id: '00000000000000a1', service: 'orders', kind: 'SERVER', name: 'POST /orders' },
    {
      trace: T1,
      id: '00000000000000a2',
      parent: '00000000000000a1',
      service: 'orders',
      kind: 'PRODUCER',
      name: 'order-events publish',
      tags: producerTags,
    },
    {
      trace: T2,
      id: '00000000000000b1',
      link,
      service: 'billing',
      kind: 'CONSUMER',
      name: 'order-events process',
      tags: KAFKA,
    },
  ];
}

const OTLP_KIND = { INTERNAL: 1, SERVER: 2, CLIENT: 3, PRODUCER: 4, CONSUMER: 5 } as const;

function otlpLines(rows: readonly Row[]): string {
  const services = [...new Set(rows.map((r) => r.service))];
  const doc = (service: string) => ({
    resourceSpans: [
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: service } }] },
        scopeSpans: [
          {
            scope: { name: 'test' },
            spans: rows
              .filter((r) => r.service === service)
              .map((r, i) => ({
                traceId: r.trace,
                spanId: r.id,
                parentSpanId: r.parent ?? '',
                name: r.name,
                kind: OTLP_KIND[r.kind],
                startTimeUnixNano: `${START + i * 10}000`,
                endTimeUnixNano: `${START + i * 10 + 5}000`,
                attributes: Object.entries(r.tags ?? {}).map(([key, value]) => ({
                  key,
                  value: { stringValue: value },
                })),
                ...(r.link ? { links: [{ traceId: r.link.trace, spanId: r.link.id }] } : {}),
              })),
          },
        ],
      },
    ],
  });
  return `${services.map((s) => JSON.stringify(doc(s))).join('\n')}\n`;
}

/** Jaeger: `ref` decides each span's references (CHILD_OF its parent by default). */
function jaeger(
  rows: readonly Row[],
  ref = (r: Row): object[] =>
    r.parent
      ? [{ refType: 'CHILD_OF', traceID: r.trace, spanID: r.parent }]
      : r.link
        ? [{ refType: 'FOLLOWS_FROM', traceID: r.link.trace, spanID: r.link.id }]
        : [],
): string {
  const services = [...new Set(rows.map((r) => r.service))];
  const pid = (s: string) => `p${services.indexOf(s) + 1}`;
  const traces = [...new Set(rows.map((r) => r.trace))];
  return JSON.stringify({
    data: traces.map((t) => ({
      traceID: t,
      spans: rows
        .filter((r) => r.trace === t)
        .map((r, i) => ({
          traceID: t,
          spanID: r.id,
          operationName: r.name,
          references: ref(r),
          startTime: START + i * 10,
          duration: 5,
          tags: [
            { key: 'span.kind', type: 'string', value: r.kind.toLowerCase() },
            ...Object.entries(r.tags ?? {}).map(([key, value]) => ({ key, type: 'string', value })),
          ],
          processID: pid(r.service),
        })),
      processes: Object.fromEntries(services.map((s) => [pid(s), { serviceName: s, tags: [] }])),
    })),
  });
}

function zipkin(rows: readonly Row[]): string {
  return JSON.stringify(
    rows.map((r, i) => ({
      traceId: r.trace,
      id: r.id,
      ...(r.parent ? { parentId: r.parent } : {}),
      kind: r.kind === 'INTERNAL' ? undefined : r.kind,
      name: r.name,
      timestamp: START + i * 10,
      duration: 5,
      localEndpoint: { serviceName: r.service },
      tags: r.tags ?? {},
    })),
  );
}

async function read(name: string, text: string): Promise<PlanSpan[]> {
  const file = join(mkdtempSync(join(tmpdir(), 'cutover-links-')), name);
  writeFileSync(file, text);
  const spans: PlanSpan[] = [];
  await readSpans([file], {
    onSpan: (s) => {
      spans.push(s);
    },
  });
  return spans;
}

function plan(spans: readonly PlanSpan[]): PlanResult {
  const builder = new PlanBuilder();
  for (const s of spans) builder.add(s);
  return builder.finish({ files: [], spans: spans.length, skipped: {}, elapsedMs: 0 });
}

function pair(result: PlanResult, a: string, b: string): PlanPair | undefined {
  return result.pairs.find((p) => p.a === a && p.b === b);
}

const byId = (spans: readonly PlanSpan[], id: string): PlanSpan | undefined =>
  spans.find((s) => s.spanId === id);

test('OTLP: a consumer in another trace linked to its producer is one call, producer → consumer', async () => {
  // The producer also names billing as its peer: the link and the remote service are one call.
  const rows = published(
    { trace: T1, id: '00000000000000a2' },
    { ...KAFKA, 'peer.service': 'billing' },
  );
  const spans = await read('o.jsonl', otlpLines(rows));
  assert.deepEqual(byId(spans, '00000000000000b1')?.link, {
    traceId: T1,
    spanId: '00000000000000a2',
  });
  assert.equal(byId(spans, '00000000000000b1')?.parentId, undefined);
  assert.equal('link' in (byId(spans, '00000000000000a2') ?? {}), false);
  const result = plan(spans);
  const p = pair(result, 'billing', 'orders');
  assert.ok(p, JSON.stringify(result.pairs));
  assert.equal(p.callsPerDay, ONE_CALL_A_DAY);
  // orders: 1 served + 1 made = 2 calls, the busier; the pair has 1.
  assert.equal(p.callRatio, 0.5);
  // The call leaves T1 for T2: no transaction holds both modules.
  assert.equal(p.txHops, 0);
  assert.deepEqual(result.warnings, []);
});

test('Jaeger: a FOLLOWS_FROM reference to another trace is a link, counted once', async () => {
  const rows = published({ trace: T1, id: '00000000000000a2' });
  const spans = await read('j.json', jaeger(rows));
  const consumer = byId(spans, '00000000000000b1');
  assert.equal(consumer?.traceId, T2);
  assert.equal(consumer?.parentId, undefined);
  assert.deepEqual(consumer?.link, { traceId: T1, spanId: '00000000000000a2' });
  const p = pair(plan(spans), 'billing', 'orders');
  assert.equal(p?.callsPerDay, ONE_CALL_A_DAY);
  assert.equal(p?.callRatio, 0.5);
});

test('a link to a span of no caller counts that span’s module as the caller, once', async () => {
  // billing's consumer links to orders' server span itself (no producer span was recorded).
  const rows = published({ trace: T1, id: '00000000000000a1' }).filter(
    (r) => r.kind !== 'PRODUCER',
  );
  const result = plan(await read('o.jsonl', otlpLines(rows)));
  const p = pair(result, 'billing', 'orders');
  assert.equal(p?.callsPerDay, ONE_CALL_A_DAY);
  // orders: 1 served + 1 made; billing: 1 served.
  assert.equal(p?.callRatio, 0.5);
});

test('several consumers linked to one producer: one call, as several children would be', async () => {
  const rows = [
    ...published({ trace: T1, id: '00000000000000a2' }),
    {
      trace: 'eee19b7ec3c1b174a39b2b8ad8a1f3b2',
      id: '00000000000000c1',
      link: { trace: T1, id: '00000000000000a2' },
      service: 'billing',
      kind: 'CONSUMER',
      name: 'order-events process',
      tags: KAFKA,
    } as const,
  ];
  const p = pair(plan(await read('o.jsonl', otlpLines(rows))), 'billing', 'orders');
  assert.equal(p?.callsPerDay, ONE_CALL_A_DAY);
});

test('a link to a span not in the input is no call, and is counted in a links-unresolved warning', async () => {
  const rows = published({ trace: T1, id: '00000000000000ff' });
  const result = plan(await read('o.jsonl', otlpLines(rows)));
  assert.equal(pair(result, 'billing', 'orders')?.callsPerDay ?? 0, 0);
  assert.deepEqual(result.warnings, [
    {
      kind: 'links-unresolved',
      message:
        '1 server or consumer span links to a span the traces do not hold (another export, or sampled out); those calls are not counted',
      modules: [],
    },
  ]);
  // Only traces with spans are counted, not the ones links merely name.
  assert.equal(result.traces.traces, 2);
});

test('a link to the right span id in the wrong trace does not resolve', async () => {
  const rows = published({ trace: 'eee19b7ec3c1b174a39b2b8ad8a1f3ff', id: '00000000000000a2' });
  const result = plan(await read('o.jsonl', otlpLines(rows)));
  assert.equal(pair(result, 'billing', 'orders')?.callsPerDay ?? 0, 0);
  assert.equal(result.warnings[0]?.kind, 'links-unresolved');
});

test('a span with a parent keeps the parent and no link (OTLP)', async () => {
  const rows = published({ trace: T1, id: '00000000000000a2' }).map((r) =>
    r.id === '00000000000000b1' ? { ...r, parent: '00000000000000b0' } : r,
  );
  const spans = await read('o.jsonl', otlpLines(rows));
  const consumer = byId(spans, '00000000000000b1');
  assert.equal(consumer?.parentId, '00000000000000b0');
  assert.equal(consumer?.link, undefined);
  assert.equal(pair(plan(spans), 'billing', 'orders')?.callsPerDay ?? 0, 0);
});

test('Jaeger: FOLLOWS_FROM within the same trace is still the parent', async () => {
  // One trace: the consumer follows from the producer, as older Jaeger clients record it.
  const rows = published(undefined).map((r) =>
    r.id === '00000000000000b1' ? { ...r, trace: T1, parent: '00000000000000a2' } : r,
  );
  const spans = await read(
    'j.json',
    jaeger(rows, (r) =>
      r.parent ? [{ refType: 'FOLLOWS_FROM', traceID: r.trace, spanID: r.parent }] : [],
    ),
  );
  const consumer = byId(spans, '00000000000000b1');
  assert.equal(consumer?.parentId, '00000000000000a2');
  assert.equal(consumer?.link, undefined);
  const p = pair(plan(spans), 'billing', 'orders');
  assert.equal(p?.callsPerDay, ONE_CALL_A_DAY);
  // In one trace the call is inside the transaction the producer's write makes.
  assert.equal(p?.txHops, 1);
});

test('Zipkin has no links: the same rows read without one, and the consumer is no call', async () => {
  const rows = published({ trace: T1, id: '00000000000000a2' });
  const spans = await read('z.json', zipkin(rows));
  assert.equal(spans.length, 3);
  for (const s of spans) assert.equal('link' in s, false);
  assert.equal(pair(plan(spans), 'billing', 'orders')?.callsPerDay ?? 0, 0);
});

test('links met only after thousands of spans without one (the store grows first) still resolve', () => {
  const span = (traceId: string, spanId: string, service: string, kind: PlanSpan['kind']) => ({
    traceId,
    spanId,
    parentId: undefined,
    service,
    name: '',
    kind,
    startUs: START,
    durationUs: 1,
    remoteService: undefined,
    attributes: {},
  });
  const spans: PlanSpan[] = [];
  for (let n = 0; n < 3000; n++)
    spans.push(span(`${n + 1}`.padStart(32, '0'), 'a', 'other', 'server'));
  spans.push(span(T1, '00000000000000a2', 'orders', 'producer'));
  for (let n = 0; n < 3000; n++)
    spans.push(span(`f${n}`.padStart(32, '0'), 'b', 'other', 'server'));
  spans.push({
    ...span(T2, '00000000000000b1', 'billing', 'consumer'),
    link: { traceId: T1, spanId: '00000000000000a2' },
  });
  const p = pair(plan(spans), 'billing', 'orders');
  assert.equal(p?.callsPerDay, ONE_CALL_A_DAY);
});
