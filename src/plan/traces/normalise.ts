// Turns one parsed element of each format into PlanSpans, or into the reason
// a span was skipped. Formats: Zipkin v2 JSON (https://zipkin.io/zipkin-api/),
// Jaeger's UI download (model/json), OTLP/JSON (trace/v1, hex ids, nanosecond
// times as strings).
import type { PlanSpan, SpanKind, SpanLink } from '../span.ts';

export type SkipReason =
  | 'not an object'
  | 'no traceId'
  | 'no spanId'
  | 'no service'
  | 'no start time';

/** A span read, or a span skipped with its reason and id (when it has one). */
export type Normalised =
  | { readonly span: PlanSpan }
  | { readonly skipped: SkipReason; readonly id: string | undefined };

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function str(v: unknown): string | undefined {
  if (typeof v === 'string') return v === '' ? undefined : v;
  if (typeof v === 'number' || typeof v === 'bigint') return String(v);
  return undefined;
}

function num(v: unknown): number | undefined {
  const n = typeof v === 'string' && v !== '' ? Number(v) : v;
  return typeof n === 'number' && Number.isFinite(n) ? n : undefined;
}

function remoteOf(attributes: Readonly<Record<string, string>>): string | undefined {
  return attributes['peer.service'] ?? attributes['server.address'];
}

function build(
  fields: {
    traceId: string | undefined;
    spanId: string | undefined;
    parentId: string | undefined;
    service: string | undefined;
    name: string | undefined;
    kind: SpanKind | undefined;
    startUs: number | undefined;
    durationUs: number | undefined;
    remoteService: string | undefined;
    link?: SpanLink | undefined;
  },
  attributes: Record<string, string>,
): Normalised {
  const id = fields.spanId;
  if (fields.traceId === undefined) return { skipped: 'no traceId', id };
  if (id === undefined) return { skipped: 'no spanId', id };
  if (fields.service === undefined) return { skipped: 'no service', id };
  if (fields.startUs === undefined) return { skipped: 'no start time', id };
  // A link is kept only where no parent says where the span came from.
  const link = fields.parentId === undefined ? fields.link : undefined;
  return {
    span: {
      traceId: fields.traceId.toLowerCase(),
      spanId: id.toLowerCase(),
      parentId: fields.parentId?.toLowerCase(),
      service: fields.service,
      name: fields.name ?? '',
      kind: fields.kind,
      startUs: fields.startUs,
      durationUs: fields.durationUs ?? 0,
      remoteService: fields.remoteService ?? remoteOf(attributes),
      attributes,
      // Only when there is one, so spans without links keep the shape they had.
      ...(link
        ? { link: { traceId: link.traceId.toLowerCase(), spanId: link.spanId.toLowerCase() } }
        : {}),
    },
  };
}

const KINDS: Readonly<Record<string, SpanKind>> = {
  server: 'server',
  client: 'client',
  producer: 'producer',
  consumer: 'consumer',
  internal: 'internal',
};

function kindOf(v: unknown): SpanKind | undefined {
  return typeof v === 'string' ? KINDS[v.toLowerCase()] : undefined;
}

export function fromZipkin(element: unknown): Normalised {
  if (!isObject(element)) return { skipped: 'not an object', id: undefined };
  const attributes: Record<string, string> = {};
  if (isObject(element.tags)) {
    for (const [k, v] of Object.entries(element.tags)) {
      const s = str(v);
      if (s !== undefined) attributes[k] = s;
    }
  }
  const local = isObject(element.localEndpoint) ? element.localEndpoint : {};
  const remote = isObject(element.remoteEndpoint) ? element.remoteEndpoint : {};
  return build(
    {
      traceId: str(element.traceId),
      spanId: str(element.id),
      parentId: str(element.parentId),
      service: str(local.serviceName),
      name: str(element.name),
      kind: kindOf(element.kind),
      startUs: num(element.timestamp),
      durationUs: num(element.duration),
      remoteService: str(remote.serviceName),
    },
    attributes,
  );
}

function jaegerTags(tags: unknown, into: Record<string, string>): void {
  if (!Array.isArray(tags)) return;
  for (const t of tags) {
    if (!isObject(t) || typeof t.key !== 'string') continue;
    const v = typeof t.value === 'boolean' ? String(t.value) : str(t.value);
    if (v !== undefined) into[t.key] = v;
  }
}

/**
 * A reference into the span's own trace (or one naming no trace) is its parent: CHILD_OF first,
 * else the first one (FOLLOWS_FROM). A reference to another trace is a link, not a parent.
 */
function jaegerReferences(
  references: unknown,
  traceId: string | undefined,
): { parent: string | undefined; link: SpanLink | undefined } {
  const refs = (Array.isArray(references) ? references : []).filter(isObject);
  const other = (r: Json): string | undefined => {
    const t = str(r.traceID)?.toLowerCase();
    return t !== undefined && t !== traceId?.toLowerCase() ? t : undefined;
  };
  const own = refs.filter((r) => other(r) === undefined);
  const parent = own.find((r) => r.refType === 'CHILD_OF') ?? own[0];
  if (parent) return { parent: str(parent.spanID), link: undefined };
  const linked = refs.find((r) => str(r.spanID) !== undefined);
  const linkTrace = linked ? other(linked) : undefined;
  const linkSpan = linked ? str(linked.spanID) : undefined;
  return {
    parent: undefined,
    link: linkTrace && linkSpan ? { traceId: linkTrace, spanId: linkSpan } : undefined,
  };
}

/** One Jaeger trace (an element of `data`) → its spans. */
export function fromJaegerTrace(trace: unknown): Normalised[] {
  if (!isObject(trace) || !Array.isArray(trace.spans)) {
    return [{ skipped: 'not an object', id: undefined }];
  }
  const processes = isObject(trace.processes) ? trace.processes : {};
  return trace.spans.map((s: unknown): Normalised => {
    if (!isObject(s)) return { skipped: 'not an object', id: undefined };
    const attributes: Record<string, string> = {};
    jaegerTags(s.tags, attributes);
    const kind = kindOf(attributes['span.kind']);
    delete attributes['span.kind'];
    const process = typeof s.processID === 'string' ? processes[s.processID] : s.process;
    const traceId = str(s.traceID) ?? str(trace.traceID);
    const { parent, link } = jaegerReferences(s.references, traceId);
    return build(
      {
        traceId,
        spanId: str(s.spanID),
        parentId: parent,
        link,
        service: isObject(process) ? str(process.serviceName) : undefined,
        name: str(s.operationName),
        kind,
        startUs: num(s.startTime),
        durationUs: num(s.duration),
        remoteService: undefined,
      },
      attributes,
    );
  });
}

function otlpValue(v: unknown): string | undefined {
  if (!isObject(v)) return undefined;
  if (typeof v.stringValue === 'string') return v.stringValue;
  if (typeof v.boolValue === 'boolean') return String(v.boolValue);
  return str(v.intValue) ?? str(v.doubleValue);
}

function otlpAttributes(list: unknown, into: Record<string, string>): void {
  if (!Array.isArray(list)) return;
  for (const a of list) {
    if (!isObject(a) || typeof a.key !== 'string') continue;
    const v = otlpValue(a.value);
    if (v !== undefined) into[a.key] = v;
  }
}

const OTLP_KINDS: readonly (SpanKind | undefined)[] = [
  undefined,
  'internal',
  'server',
  'client',
  'producer',
  'consumer',
];

function otlpKind(v: unknown): SpanKind | undefined {
  if (typeof v === 'number') return OTLP_KINDS[v];
  return typeof v === 'string' ? kindOf(v.replace(/^SPAN_KIND_/, '')) : undefined;
}

/** Nanoseconds (a decimal string or number) → whole µs, without losing digits to float. */
function nanosToMicros(v: unknown): number | undefined {
  const s = str(v);
  if (s === undefined || !/^\d+$/.test(s)) return undefined;
  return s.length <= 3 ? 0 : Number(s.slice(0, -3));
}

/** OTLP `links[]`: the first with both ids (a batch consumer links every message it took). */
function otlpFirstLink(links: unknown): SpanLink | undefined {
  if (!Array.isArray(links)) return undefined;
  for (const l of links) {
    if (!isObject(l)) continue;
    const traceId = str(l.traceId);
    const spanId = str(l.spanId);
    if (traceId !== undefined && spanId !== undefined) return { traceId, spanId };
  }
  return undefined;
}

/** One OTLP resourceSpans entry → its spans. */
export function fromOtlpResource(resourceSpans: unknown): Normalised[] {
  if (!isObject(resourceSpans)) return [{ skipped: 'not an object', id: undefined }];
  const resource: Record<string, string> = {};
  otlpAttributes(
    isObject(resourceSpans.resource) ? resourceSpans.resource.attributes : [],
    resource,
  );
  const service = resource['service.name'];
  const out: Normalised[] = [];
  const scopes = Array.isArray(resourceSpans.scopeSpans)
    ? resourceSpans.scopeSpans
    : Array.isArray(resourceSpans.instrumentationLibrarySpans)
      ? resourceSpans.instrumentationLibrarySpans
      : [];
  for (const scope of scopes) {
    if (!isObject(scope) || !Array.isArray(scope.spans)) continue;
    for (const s of scope.spans) {
      if (!isObject(s)) {
        out.push({ skipped: 'not an object', id: undefined });
        continue;
      }
      const attributes: Record<string, string> = {};
      otlpAttributes(s.attributes, attributes);
      const start = nanosToMicros(s.startTimeUnixNano);
      const end = nanosToMicros(s.endTimeUnixNano);
      out.push(
        build(
          {
            traceId: str(s.traceId),
            spanId: str(s.spanId),
            parentId: str(s.parentSpanId),
            service,
            name: str(s.name),
            kind: otlpKind(s.kind),
            startUs: start,
            durationUs:
              start !== undefined && end !== undefined ? Math.max(0, end - start) : undefined,
            remoteService: undefined,
            link: otlpFirstLink(s.links),
          },
          attributes,
        ),
      );
    }
  }
  return out;
}
