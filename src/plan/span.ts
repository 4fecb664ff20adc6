export type SpanKind = 'server' | 'client' | 'producer' | 'consumer' | 'internal';
/** One span of any input format, normalised (times in µs since the epoch). */
export interface PlanSpan {
  readonly traceId: string;
  readonly spanId: string;
  readonly parentId: string | undefined;
  /** The service that emitted the span (Zipkin localEndpoint, Jaeger process, OTLP service.name). */
  readonly service: string;
  /** Operation name. */
  readonly name: string;
  readonly kind: SpanKind | undefined;
  readonly startUs: number;
  readonly durationUs: number;
  /** The service on the other side when the format says (Zipkin remoteEndpoint, peer.service, server.address). */
  readonly remoteService: string | undefined;
  /** Attributes / tags / binary annotations as strings (db.system, db.name, db.sql.table, db.statement, messaging.system, http.route, http.method, rpc.service, rpc.method, …). */
  readonly attributes: Readonly<Record<string, string>>;
  /**
   * The first span link of a span with no parent (OTLP `links`, a Jaeger reference to another
   * trace): a consumer of a message tied to its producer only by a link. Absent otherwise.
   */
  readonly link?: SpanLink;
}

/** A span of (usually) another trace that a span links to. */
export interface SpanLink {
  readonly traceId: string;
  readonly spanId: string;
}
