// What one span says, read once as it streams in: its kind, whether it
// writes or marks a transaction, the data store and tables it touches, and
// the entry point a server span serves. Only these facts are kept
// (span-store.ts), never the span itself.
import type { EntryPoint } from '../plan-result.ts';
import type { PlanSpan } from '../span.ts';
import {
  FLAG_BEGIN,
  FLAG_COMMIT,
  FLAG_TWO_PHASE,
  FLAG_TX_MARK,
  FLAG_WRITE,
  KIND_CLIENT,
  KIND_CONSUMER,
  KIND_INTERNAL,
  KIND_PRODUCER,
  KIND_SERVER,
} from './span-store.ts';
import { statementFacts } from './statement.ts';

const KIND_CODE = {
  server: KIND_SERVER,
  client: KIND_CLIENT,
  producer: KIND_PRODUCER,
  consumer: KIND_CONSUMER,
  internal: KIND_INTERNAL,
} as const;

/** RFC 9110 §9.2.1: every method but these is unsafe, i.e. may write. */
const WRITE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
const WRITE_OPERATION =
  /^(?:INSERT|UPDATE|DELETE|MERGE|UPSERT|REPLACE|SET|HSET|DEL|INCR\w*|LPUSH|RPUSH|ZADD|SADD|PUT)$/i;

export function kindCode(span: PlanSpan): number {
  return span.kind === undefined ? KIND_INTERNAL : KIND_CODE[span.kind];
}

function httpMethod(a: Readonly<Record<string, string>>): string | undefined {
  return a['http.method'] ?? a['http.request.method'];
}

export interface DataTouch {
  /** `postgresql:orders_db`, `kafka:events`; undefined when the span touches no data store. */
  readonly store: string | undefined;
  /** The store's candidates for a modules.yaml `dataStores` name: db.name, db.system, destination. */
  readonly aliases: readonly string[];
  readonly source: 'db.system' | 'messaging.system' | undefined;
  /** `orders_db.orders` */
  readonly tables: readonly string[];
  /** `orders_db.orders.status` */
  readonly columns: readonly string[];
  readonly flags: number;
}

/** Flags and data of one span (docs/plan.md, "How the figures are computed"). */
export function dataTouch(span: PlanSpan): DataTouch {
  const a = span.attributes;
  let flags = 0;
  const mark = a['db.transaction'];
  if (a.transaction === 'true' || (mark !== undefined && mark !== 'false')) flags |= FLAG_TX_MARK;
  if (span.kind === 'producer') flags |= FLAG_WRITE;
  const method = httpMethod(a);
  if (method !== undefined && WRITE_METHODS.has(method.toUpperCase())) flags |= FLAG_WRITE;
  const operation = a['db.operation'] ?? a['db.operation.name'];
  if (operation !== undefined && WRITE_OPERATION.test(operation)) flags |= FLAG_WRITE;

  const dbSystem = a['db.system'] ?? a['db.system.name'];
  const messaging = a['messaging.system'];
  if (dbSystem !== undefined) {
    const dbName = a['db.name'] ?? a['db.namespace'];
    const facts = statementFacts(a['db.statement'] ?? a['db.query.text']);
    if (facts.writes) flags |= FLAG_WRITE;
    if (facts.begins) flags |= FLAG_BEGIN;
    if (facts.commits) flags |= FLAG_COMMIT;
    if (facts.twoPhase) flags |= FLAG_TWO_PHASE | FLAG_WRITE;
    const prefix = dbName ?? dbSystem;
    const tableAttr = a['db.sql.table'] ?? a['db.collection.name'];
    const tables =
      tableAttr !== undefined ? [tableAttr.toLowerCase(), ...facts.tables] : facts.tables;
    return {
      store: dbName !== undefined ? `${dbSystem}:${dbName}` : dbSystem,
      aliases: [dbSystem, ...(dbName !== undefined ? [dbName] : [])],
      source: 'db.system',
      tables: [...new Set(tables)].map((t) => `${prefix}.${t}`),
      columns: facts.columns.map((c) => `${prefix}.${c}`),
      flags,
    };
  }
  if (messaging !== undefined) {
    const destination = a['messaging.destination.name'] ?? a['messaging.destination'];
    return {
      store: destination !== undefined ? `${messaging}:${destination}` : messaging,
      aliases: [messaging, ...(destination !== undefined ? [destination] : [])],
      source: 'messaging.system',
      tables: [],
      columns: [],
      flags,
    };
  }
  return { store: undefined, aliases: [], source: undefined, tables: [], columns: [], flags };
}

/** The entry point a server span serves, keyed by its name (EntryPoint without the count). */
export function entryPoint(span: PlanSpan): Omit<EntryPoint, 'calls'> {
  const a = span.attributes;
  const rpcService = a['rpc.service'];
  const rpcMethod = a['rpc.method'];
  if (a['http.route'] === undefined && rpcService !== undefined && rpcMethod !== undefined) {
    return {
      name: `grpc ${rpcService}/${rpcMethod}`,
      kind: 'grpc',
      path: rpcService,
      method: rpcMethod,
    };
  }
  // The span name of an HTTP server span is `METHOD /route` by the OpenTelemetry conventions.
  const fromName = /^([A-Z]+) (\/\S*)$/.exec(span.name);
  const route = a['http.route'] ?? fromName?.[2] ?? span.name;
  const method = (httpMethod(a) ?? fromName?.[1] ?? '').toUpperCase();
  return { name: method === '' ? route : `${method} ${route}`, kind: 'http', path: route, method };
}
