// One small set of traces — a gateway calling orders and payments, orders
// calling postgres — written in each export format the planner reads.
const T = '0af7651916cd43dd8448eb211c80319c';
const START = 1_700_000_000_000_000; // µs

interface Row {
  /** The trace; TRACE_ID when absent. */
  trace?: string;
  id: string;
  parent?: string;
  service: string;
  name: string;
  kind: 'SERVER' | 'CLIENT' | 'PRODUCER' | 'CONSUMER';
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

export function zipkinJson(rows: readonly Row[] = ROWS): string {
  return JSON.stringify(
    rows.map((r) => ({
      traceId: r.trace ?? T,
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

export function jaegerJson(rows: readonly Row[] = ROWS): string {
  const services = [...new Set(rows.map((r) => r.service))];
  const pid = (s: string) => `p${services.indexOf(s) + 1}`;
  const traces = [...new Set(rows.map((r) => r.trace ?? T))];
  return JSON.stringify({
    data: traces.map((t) => ({
      traceID: t,
      spans: rows
        .filter((r) => (r.trace ?? T) === t)
        .map((r) => ({
          traceID: t,
          spanID: r.id,
          operationName: r.name,
          references: r.parent ? [{ refType: 'CHILD_OF', traceID: t, spanID: r.parent }] : [],
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
    })),
    total: 0,
    limit: 0,
    offset: 0,
    errors: null,
  });
}

const OTLP_KIND = { SERVER: 2, CLIENT: 3, PRODUCER: 4, CONSUMER: 5 } as const;

function otlpDocument(service: string, rows: readonly Row[]): object {
  return {
    resourceSpans: [
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: service } }] },
        scopeSpans: [
          {
            scope: { name: 'test' },
            spans: rows
              .filter((r) => r.service === service)
              .map((r) => ({
                traceId: r.trace ?? T,
                spanId: r.id,
                parentSpanId: r.parent ?? '',
                name: r.name,
                kind: OTLP_KIND[r.kind],
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
export function otlpJsonLines(rows: readonly Row[] = ROWS): string {
  const services = [...new Set(rows.map((r) => r.service))];
  return `${services.map((s) => JSON.stringify(otlpDocument(s, rows))).join('\n')}\n`;
}

// A second set for the planner: two traces coupling orders and billing
// through calls, a Kafka topic and the same table, with a remote endpoint
// (memcached) that has no spans of its own and a gRPC entry point.
const T2 = '0af7651916cd43dd8448eb211c8031a0';
const AT = START + 60_000_000;

export const COUPLED_ROWS: readonly Row[] = [
  {
    id: '00000000000000b1',
    service: 'gateway',
    name: 'POST /checkout',
    kind: 'SERVER',
    start: START,
    duration: 9000,
    tags: { 'http.method': 'POST', 'http.route': '/checkout' },
  },
  {
    id: '00000000000000b2',
    parent: '00000000000000b1',
    service: 'gateway',
    name: 'POST /orders',
    kind: 'CLIENT',
    start: START + 100,
    duration: 8000,
    remote: 'orders',
    tags: { 'http.method': 'POST' },
  },
  {
    id: '00000000000000b3',
    parent: '00000000000000b2',
    service: 'orders',
    name: 'POST /orders',
    kind: 'SERVER',
    start: START + 200,
    duration: 7000,
    tags: { 'http.method': 'POST', 'http.route': '/orders' },
  },
  {
    id: '00000000000000b4',
    parent: '00000000000000b3',
    service: 'orders',
    name: 'INSERT orders',
    kind: 'CLIENT',
    start: START + 300,
    duration: 1000,
    tags: {
      'db.system': 'postgresql',
      'db.name': 'shop',
      'db.statement': 'INSERT INTO orders (id, status, total) VALUES ($1, $2, $3)',
    },
  },
  {
    id: '00000000000000b5',
    parent: '00000000000000b3',
    service: 'orders',
    name: 'order-events publish',
    kind: 'PRODUCER',
    start: START + 1400,
    duration: 500,
    tags: { 'messaging.system': 'kafka', 'messaging.destination.name': 'order-events' },
  },
  {
    id: '00000000000000b6',
    parent: '00000000000000b5',
    service: 'billing',
    name: 'order-events process',
    kind: 'CONSUMER',
    start: START + 2000,
    duration: 3000,
    tags: { 'messaging.system': 'kafka', 'messaging.destination.name': 'order-events' },
  },
  {
    id: '00000000000000b7',
    parent: '00000000000000b6',
    service: 'billing',
    name: 'UPDATE orders',
    kind: 'CLIENT',
    start: START + 2100,
    duration: 800,
    tags: {
      'db.system': 'postgresql',
      'db.name': 'shop',
      'db.statement': 'UPDATE orders SET status = $1 WHERE id = $2',
    },
  },
  {
    trace: T2,
    id: '00000000000000c1',
    service: 'billing',
    name: 'GET /invoices/{id}',
    kind: 'SERVER',
    start: AT,
    duration: 5000,
    tags: { 'http.method': 'GET', 'http.route': '/invoices/{id}' },
  },
  {
    trace: T2,
    id: '00000000000000c2',
    parent: '00000000000000c1',
    service: 'billing',
    name: 'get',
    kind: 'CLIENT',
    start: AT + 100,
    duration: 300,
    remote: 'memcached',
    tags: {},
  },
  {
    trace: T2,
    id: '00000000000000c3',
    parent: '00000000000000c1',
    service: 'billing',
    name: 'orders.v1.Orders/Get',
    kind: 'CLIENT',
    start: AT + 500,
    duration: 3000,
    remote: 'orders',
    tags: { 'rpc.system': 'grpc', 'rpc.service': 'orders.v1.Orders', 'rpc.method': 'Get' },
  },
  {
    trace: T2,
    id: '00000000000000c4',
    parent: '00000000000000c3',
    service: 'orders',
    name: 'orders.v1.Orders/Get',
    kind: 'SERVER',
    start: AT + 600,
    duration: 2500,
    tags: { 'rpc.system': 'grpc', 'rpc.service': 'orders.v1.Orders', 'rpc.method': 'Get' },
  },
];
