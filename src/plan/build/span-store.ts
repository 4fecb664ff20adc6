// Compact per-span records for PlanBuilder: a million spans are kept as a few
// growable typed arrays (≈ 45 bytes a span; 49 once a span has a link)
// instead of a million PlanSpan objects with their attribute maps (≈ 1 KB
// each), so memory stays bounded
// however the spans of one trace are spread over the inputs (OTLP exports
// are often one file per service). Traces are linked lists through `next`.

export const FLAG_WRITE = 1;
/** The span is marked as a transaction (`transaction: true` or a `db.transaction` attribute). */
export const FLAG_TX_MARK = 2;
export const FLAG_BEGIN = 4;
export const FLAG_COMMIT = 8;
export const FLAG_TWO_PHASE = 16;
export const FLAG_HAS_PARENT = 32;
/** No parent, but a span link: `parentHi`/`parentLo` hold the linked span's id, `linkTrace` its trace. */
export const FLAG_LINKED = 64;

export const KIND_INTERNAL = 0;
export const KIND_SERVER = 1;
export const KIND_CLIENT = 2;
export const KIND_PRODUCER = 3;
export const KIND_CONSUMER = 4;

const HEX_ID = /^[0-9a-f]{1,16}$/;

function grown<T extends { length: number; set(a: T): void }>(a: T, make: (n: number) => T): T {
  const b = make(a.length * 2);
  b.set(a);
  return b;
}

const i32 = (n: number): Int32Array<ArrayBuffer> => new Int32Array(n);
const u32 = (n: number): Uint32Array<ArrayBuffer> => new Uint32Array(n);
const u8 = (n: number): Uint8Array<ArrayBuffer> => new Uint8Array(n);

export class SpanStore {
  size = 0;
  traceOf = new Int32Array(1024);
  idHi = new Uint32Array(1024);
  idLo = new Uint32Array(1024);
  /** The parent's id halves; for a span with FLAG_LINKED, the linked span's. */
  parentHi = new Uint32Array(1024);
  parentLo = new Uint32Array(1024);
  /** Trace number of the linked span, read only with FLAG_LINKED; empty until the first link. */
  linkTrace = new Int32Array(0);
  /** Module id; -1 for spans of a declared data store, -2 until an inherited module is resolved. */
  module = new Int32Array(1024);
  /** Service id of the emitting service. */
  service = new Int32Array(1024);
  kind = new Uint8Array(1024);
  flags = new Uint8Array(1024);
  /** Service id of `remoteService`, or -1. */
  remote = new Int32Array(1024);
  /** Data store id the span touches (db.system / messaging.system / modules.yaml), or -1. */
  store = new Int32Array(1024);
  /** Next span of the same trace, or -1. */
  next = new Int32Array(1024);
  /** First span of each trace (by trace id), or -1. */
  traceHead = new Int32Array(1024);
  /** Trace ids of spans, and of linked spans' traces (which may hold no span of the input). */
  readonly #traceIds = new Map<string, number>();
  #tracesWithSpans = 0;
  /** Span ids that are not ≤ 16 hex digits get a number of their own (hi = 0xffffffff). */
  readonly #otherIds = new Map<string, number>();

  /** Traces with at least one span. */
  get traces(): number {
    return this.#tracesWithSpans;
  }

  /** Trace numbers run from 0 to this (exclusive); a trace that only links name has no span (head -1). */
  get traceNumbers(): number {
    return this.#traceIds.size;
  }

  #split(id: string): [number, number] {
    if (HEX_ID.test(id)) {
      const padded = id.padStart(16, '0');
      return [Number.parseInt(padded.slice(0, 8), 16), Number.parseInt(padded.slice(8), 16)];
    }
    let n = this.#otherIds.get(id);
    if (n === undefined) {
      n = this.#otherIds.size;
      this.#otherIds.set(id, n);
    }
    return [0xffffffff, n];
  }

  #ensure(): void {
    if (this.size < this.traceOf.length) return;
    this.traceOf = grown(this.traceOf, i32);
    this.idHi = grown(this.idHi, u32);
    this.idLo = grown(this.idLo, u32);
    this.parentHi = grown(this.parentHi, u32);
    this.parentLo = grown(this.parentLo, u32);
    if (this.linkTrace.length > 0) this.linkTrace = grown(this.linkTrace, i32);
    this.module = grown(this.module, i32);
    this.service = grown(this.service, i32);
    this.kind = grown(this.kind, u8);
    this.flags = grown(this.flags, u8);
    this.remote = grown(this.remote, i32);
    this.store = grown(this.store, i32);
    this.next = grown(this.next, i32);
  }

  #trace(traceId: string): number {
    let t = this.#traceIds.get(traceId);
    if (t === undefined) {
      t = this.#traceIds.size;
      this.#traceIds.set(traceId, t);
      if (t >= this.traceHead.length) this.traceHead = grown(this.traceHead, i32);
      this.traceHead[t] = -1;
    }
    return t;
  }

  /** Returns the new span's index. A link is kept only when there is no parent id. */
  push(
    traceId: string,
    spanId: string,
    parentId: string | undefined,
    module: number,
    service: number,
    kind: number,
    flags: number,
    remote: number,
    store: number,
    link: { readonly traceId: string; readonly spanId: string } | undefined,
  ): number {
    this.#ensure();
    const i = this.size++;
    const t = this.#trace(traceId);
    this.traceOf[i] = t;
    [this.idHi[i], this.idLo[i]] = this.#split(spanId);
    if (parentId !== undefined && parentId !== '') {
      [this.parentHi[i], this.parentLo[i]] = this.#split(parentId);
      flags |= FLAG_HAS_PARENT;
    } else if (link !== undefined) {
      [this.parentHi[i], this.parentLo[i]] = this.#split(link.spanId);
      // Inputs without links (Zipkin, most exports) never pay for this array.
      if (this.linkTrace.length === 0) this.linkTrace = new Int32Array(this.traceOf.length);
      this.linkTrace[i] = this.#trace(link.traceId);
      flags |= FLAG_LINKED;
    }
    this.module[i] = module;
    this.service[i] = service;
    this.kind[i] = kind;
    this.flags[i] = flags;
    this.remote[i] = remote;
    this.store[i] = store;
    if (this.traceHead[t] === -1) this.#tracesWithSpans++;
    this.next[i] = this.traceHead[t];
    this.traceHead[t] = i;
    return i;
  }
}
