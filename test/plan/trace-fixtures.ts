// One small set of traces — a gateway calling orders and payments, orders
// calling postgres — written in each export format the planner reads.
const T = '0af7651916cd43dd8448eb211c80319c';
const START = 1_700_000_000_000_000; // µs

interface Row {
  id: string;
  parent?: string;
  service: string;
  name: string;
  kind: 'SERVER' | 'CLIENT';
  start: number;
  duration: number;
  remote?: string;
  tags: Record<string, string>;
}

export const ROWS: readonly Row[] = [
  {
    id: '00000000000000a1',
    service: 'gateway',
    name: 'GET /checkout',
    kind: 'SERVER',
    start: START,
    duration: 9000,
    tags: { 'http.method': 'GET', 'http.route': '/checkout' },
  },
  {
    id: '00000000000000a2',
    parent: '00000000000000a1',
    service: 'gateway',
    name: 'GET /orders',
    kind: 'CLIENT',
    start: START + 100,
    duration: 4000,
    remote: 'orders',
    tags: { 'http.method': 'GET' },
  },
  {
    id: '00000000000000a3',
    parent: '00000000000000a2',
    service: 'orders',
    name: 'GET /orders',
    kind: 'SERVER',
    start: START + 200,
    duration: 3500,
    tags: { 'http.route': '/orders' },
  },
  {
    id: '00000000000000a4',
    parent: '00000000000000a3',
    service: 'orders',
    name: 'SELECT orders',
    kind: 'CLIENT',
    start: START + 300,
    duration: 1000,
    tags: {
      'db.system': 'postgresql',
      'db.name': 'shop',
      'db.sql.table': 'orders',
      'peer.service': 'postgres',
    },
  },
  {
    id: '00000000000000a5',
    parent: '00000000000000a1',
    service: 'gateway',
    name: 'POST /pay',
    kind: 'CLIENT',
    start: START + 4200,
    duration: 4000,
    remote: 'payments',
    tags: { 'http.method': 'POST' },
  },
  {
    id: '00000000000000a6',
    parent: '00000000000000a5',
    service: 'payments',
    name: 'POST /pay',
    kind: 'SERVER',
    start: START + 4300,
    duration: 3600,
    tags: { 'http.route': '/pay' },
  },
];

export const TRACE_ID = T;

export function zipkinJson(): string {
  return JSON.stringify(
    ROWS.map((r) => ({
      traceId: T,
      id: r.id,
      ...(r.parent ? { parentId: r.parent } : {}),
      kind: r.kind,
      name: r.name,
      timestamp: r.start,
      duration: r.duration,
      localEndpoint: { serviceName: r.service },
      ...(r.remote ? { remoteEndpoint: { serviceName: r.remote } } : {}),
      tags: { ...r.tags, ...(r.remote ? { 'peer.service': r.remote } : {}) },
    })),
    null,
    2,
  );
}

export function jaegerJson(): string {
  const services = [...new Set(ROWS.map((r) => r.service))];
  const pid = (s: string) => `p${services.indexOf(s) + 1}`;
  return JSON.stringify({
    data: [
      {
        traceID: T,
        spans: ROWS.map((r) => ({
          traceID: T,
          spanID: r.id,
          operationName: r.name,
          references: r.parent ? [{ refType: 'CHILD_OF', traceID: T, spanID: r.parent }] : [],
          startTime: r.start,
          duration: r.duration,
          tags: [
            { key: 'span.kind', type: 'string', value: r.kind.toLowerCase() },
            ...Object.entries({ ...r.tags, ...(r.remote ? { 'peer.service': r.remote } : {}) }).map(
              ([key, value]) => ({ key, type: 'string', value }),
            ),
          ],
          processID: pid(r.service),
        })),
        processes: Object.fromEntries(services.map((s) => [pid(s), { serviceName: s, tags: [] }])),
      },
    ],
    total: 0,
    limit: 0,
    offset: 0,
    errors: null,
  });
}

function otlpDocument(service: string): object {
  return {
    resourceSpans: [
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: service } }] },
        scopeSpans: [
          {
            scope: { name: 'test' },
            spans: ROWS.filter((r) => r.service === service).map((r) => ({
              traceId: T,
              spanId: r.id,
              parentSpanId: r.parent ?? '',
              name: r.name,
              kind: r.kind === 'SERVER' ? 2 : 3,
              startTimeUnixNano: `${r.start}000`,
              endTimeUnixNano: `${r.start + r.duration}000`,
              attributes: Object.entries({
                ...r.tags,
                ...(r.remote ? { 'peer.service': r.remote } : {}),
              }).map(([key, value]) => ({ key, value: { stringValue: value } })),
            })),
          },
        ],
      },
    ],
  };
}

/** OTLP as JSON lines: one document per service, one per line. */
export function otlpJsonLines(): string {
  return `${['gateway', 'orders', 'payments'].map((s) => JSON.stringify(otlpDocument(s))).join('\n')}\n`;
}
