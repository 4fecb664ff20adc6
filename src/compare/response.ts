// Compare two whole answers to the same request: status, the selected
// headers, and the body — structurally for JSON, byte for byte otherwise.
// gRPC answers (issue 12) add their grpc-status, read header values from the
// trailers too, and have their messages decoded with the route's protobuf
// descriptors and diffed as JSON.

import {
  type GrpcBodyComparison,
  grpcDocuments,
  grpcFields,
  grpcStatusName,
  isGrpcMediaType,
  type ProtoContext,
} from './grpc-answer.ts';
import { type CompareResult, DiffCollector, diffJson } from './json-diff.ts';
import type { CompiledCompareRules } from './rules.ts';

/** Header values as Node's `IncomingHttpHeaders` and undici give them; names lower-case. */
export type ResponseHeaders = Readonly<Record<string, string | string[] | number | undefined>>;

/** One buffered answer. */
export interface ResponseSample {
  readonly status: number;
  readonly headers: ResponseHeaders;
  readonly body: Uint8Array;
  /** The trailers, when the answer had any (gRPC's grpc-status and grpc-message come there). */
  readonly trailers?: ResponseHeaders;
}

export interface CompareOptions {
  /** Patterns learned as noise (see `NoiseTracker`): reported with `noise: true`, never failing. */
  readonly noisy?: ReadonlySet<string>;
  /** For gRPC answers: the route's descriptors and the call's path; without it, bytes are compared. */
  readonly proto?: ProtoContext;
}

export function headerValue(headers: ResponseHeaders, name: string): string | undefined {
  const v = headers[name];
  if (v === undefined) return undefined;
  return Array.isArray(v) ? v.join(', ') : String(v);
}

/** `application/json; charset=UTF-8` → `application/json`. */
export function mediaType(headers: ResponseHeaders): string {
  const ct = headerValue(headers, 'content-type') ?? '';
  const semi = ct.indexOf(';');
  return (semi < 0 ? ct : ct.slice(0, semi)).trim().toLowerCase();
}

/** RFC 8259 `application/json` and RFC 6839 structured-syntax `+json` types. */
export function isJsonMediaType(type: string): boolean {
  return type === 'application/json' || type.endsWith('+json');
}

/** Parameter case and spacing in a content type are not a difference (RFC 9110 §8.3.1). */
function normalizeContentType(v: string): string {
  return v
    .split(';')
    .map((part) => part.trim().toLowerCase())
    .filter((part) => part !== '')
    .join('; ');
}

function isIgnoredType(type: string, ignored: ReadonlySet<string>): boolean {
  if (ignored.size === 0 || type === '') return false;
  return ignored.has(type) || ignored.has(`${type.slice(0, type.indexOf('/'))}/*`);
}

/** Parse a JSON body; undefined when it is not JSON. */
export function parseJsonBody(body: Uint8Array): { value: unknown } | undefined {
  try {
    return {
      value: JSON.parse(
        Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8'),
      ),
    };
  } catch {
    return undefined;
  }
}

/** Parsed JSON bodies of both sides, when the body was compared as JSON. */
export interface ComparedBodies {
  readonly legacy: unknown;
  readonly candidate: unknown;
}

/**
 * Compare with access to the parsed bodies (noise learning walks them too).
 * Which body format applies is read from the legacy content type, falling
 * back to the candidate's when legacy sent none: legacy is the reference.
 */
export function compareDetailed(
  legacy: ResponseSample,
  candidate: ResponseSample,
  rules: CompiledCompareRules,
  options: CompareOptions = {},
): { result: CompareResult; bodies: ComparedBodies | undefined } {
  const out = new DiffCollector(rules, options.noisy);
  if (legacy.status !== candidate.status) {
    out.add('status', 'status', 'changed', legacy.status, candidate.status);
  }
  const type = mediaType(legacy.headers) || mediaType(candidate.headers);
  if (isGrpcMediaType(type)) return compareGrpc(legacy, candidate, type, out, options.proto);
  for (const name of rules.headers) compareHeader(name, legacy.headers, candidate.headers, out);
  let bodies: ComparedBodies | undefined;
  if (!isIgnoredType(type, rules.ignoreContentTypes)) {
    bodies = compareBody(type, legacy.body, candidate.body, out);
  }
  return { result: out.result(), bodies };
}

/**
 * A gRPC pair: grpc-status is compared like the HTTP status, listed headers
 * are looked up in the head, then the trailers (grpc-message only when
 * listed), and the messages are diffed as JSON when the descriptors decode
 * them, byte for byte otherwise; the result says which.
 */
function compareGrpc(
  legacy: ResponseSample,
  candidate: ResponseSample,
  type: string,
  out: DiffCollector,
  proto: ProtoContext | undefined,
): { result: CompareResult; bodies: ComparedBodies | undefined } {
  const a = grpcFields(legacy);
  const b = grpcFields(candidate);
  const statusA = grpcStatusName(a);
  const statusB = grpcStatusName(b);
  if (statusA !== statusB) {
    const kind =
      statusB === undefined
        ? 'missing-in-candidate'
        : statusA === undefined
          ? 'extra-in-candidate'
          : 'changed';
    out.add(GRPC_STATUS, GRPC_STATUS, kind, statusA, statusB);
  }
  for (const name of out.rules.headers) compareHeader(name, a, b, out);
  if (isIgnoredType(type, out.rules.ignoreContentTypes))
    return { result: out.result(), bodies: undefined };
  const docs = grpcDocuments(type, legacy, candidate, proto);
  let grpcBody: GrpcBodyComparison;
  let bodies: ComparedBodies | undefined;
  if ('why' in docs) {
    grpcBody = { as: 'bytes', why: docs.why };
    compareBytes(legacy.body, candidate.body, out);
  } else {
    grpcBody = { as: 'protobuf' };
    diffJson(docs.legacy, docs.candidate, out);
    bodies = docs;
  }
  return { result: { ...out.result(), grpcBody }, bodies };
}

/** Where a grpc-status difference is reported, beside `status`. */
export const GRPC_STATUS = 'grpc-status';

/** Compare two answers to the same request under compiled rules. */
export function compareResponses(
  legacy: ResponseSample,
  candidate: ResponseSample,
  rules: CompiledCompareRules,
  options?: CompareOptions,
): CompareResult {
  return compareDetailed(legacy, candidate, rules, options).result;
}

function compareHeader(
  name: string,
  a: ResponseHeaders,
  b: ResponseHeaders,
  out: DiffCollector,
): void {
  let av = headerValue(a, name);
  let bv = headerValue(b, name);
  if (name === 'content-type') {
    av = av === undefined ? undefined : normalizeContentType(av);
    bv = bv === undefined ? undefined : normalizeContentType(bv);
  }
  if (av === bv) return;
  const path = `header:${name}`;
  if (bv === undefined) out.add(path, path, 'missing-in-candidate', av, undefined);
  else if (av === undefined) out.add(path, path, 'extra-in-candidate', undefined, bv);
  else out.add(path, path, 'changed', av, bv);
}

function compareBody(
  type: string,
  a: Uint8Array,
  b: Uint8Array,
  out: DiffCollector,
): ComparedBodies | undefined {
  if (isJsonMediaType(type) && a.byteLength > 0) {
    const pa = parseJsonBody(a);
    if (pa !== undefined) {
      const pb = parseJsonBody(b);
      if (pb === undefined) {
        out.add('body', 'body', 'type', 'json', b.byteLength === 0 ? 'empty' : 'not json');
        return undefined;
      }
      diffJson(pa.value, pb.value, out);
      return { legacy: pa.value, candidate: pb.value };
    }
  }
  compareBytes(a, b, out);
  return undefined;
}

function compareBytes(a: Uint8Array, b: Uint8Array, out: DiffCollector): void {
  if (!Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(b)) {
    out.add('body', 'body', 'changed', `${a.byteLength} bytes`, `${b.byteLength} bytes`);
  }
}
