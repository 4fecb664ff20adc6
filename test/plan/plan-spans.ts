// Spans for PlanBuilder tests, written as a tree: each call names its
// service and kind, children nest. Ids are counted, times step by 1 µs from
// `startUs` so a test controls how many days the traces span.
import {
  type ModulesFile,
  PlanBuilder,
  type PlanResult,
  type PlanSpan,
  type ReadSummary,
} from '../../src/plan/index.ts';

export interface Node {
  readonly service: string;
  readonly kind?: PlanSpan['kind'];
  readonly name?: string;
  readonly remote?: string;
  readonly attributes?: Record<string, string>;
  readonly children?: readonly Node[];
}

let nextId = 1;
let nextTrace = 1;

/** The spans of one trace, parents first; `startUs` is the root's start. */
export function trace(root: Node, startUs = 1_700_000_000_000_000, durationUs = 1000): PlanSpan[] {
  const traceId = (nextTrace++).toString(16).padStart(32, '0');
  const out: PlanSpan[] = [];
  const walk = (node: Node, parentId: string | undefined): void => {
    const spanId = (nextId++).toString(16).padStart(16, '0');
    out.push({
      traceId,
      spanId,
      parentId,
      service: node.service,
      name: node.name ?? '',
      kind: node.kind,
      startUs,
      durationUs,
      remoteService: node.remote,
      attributes: node.attributes ?? {},
    });
    for (const c of node.children ?? []) walk(c, spanId);
  };
  walk(root, undefined);
  return out;
}

export const NO_SKIPS: ReadSummary = { files: [], spans: 0, skipped: {}, elapsedMs: 0 };

export function buildPlan(
  spans: readonly PlanSpan[],
  modules?: ModulesFile,
  summary: ReadSummary = NO_SKIPS,
): PlanResult {
  const builder = new PlanBuilder(modules);
  for (const s of spans) builder.add(s);
  return builder.finish(summary);
}

/** `a` serves a request and calls `b` over HTTP; `b`'s server span is the child. */
export function httpCall(
  service: string,
  method: string,
  route: string,
  children: Node[] = [],
): Node {
  return {
    service,
    kind: 'server',
    name: `${method} ${route}`,
    attributes: { 'http.method': method, 'http.route': route },
    children,
  };
}

export function client(
  service: string,
  remote: string,
  method: string,
  children: Node[] = [],
): Node {
  return {
    service,
    kind: 'client',
    remote,
    name: method,
    attributes: { 'http.method': method },
    children,
  };
}

export function sql(service: string, statement: string, db = 'shop'): Node {
  return {
    service,
    kind: 'client',
    name: statement.split(' ')[0],
    attributes: { 'db.system': 'postgresql', 'db.name': db, 'db.statement': statement },
  };
}
