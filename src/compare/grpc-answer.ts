// What a gRPC answer says, for the comparison: its status (`grpc-status`, in
// the head of a trailers-only answer or in the trailers), its header values
// wherever they came, and its messages decoded with the route's descriptors
// as JSON documents — or why they cannot be (no descriptors, a method they do
// not describe, a cut, compressed or undecodable message), in which case the
// bodies are compared byte for byte.

import { GRPC_STATUS_NAMES } from '../config/index.ts';
import { splitGrpcMessages } from './grpc-frames.ts';
import { decodeMessageJson } from './proto-json.ts';
import type { ProtoMethod, ProtoSchema } from './proto-schema.ts';
import type { ResponseHeaders, ResponseSample } from './response.ts';

/** Which descriptors decode a call's messages: the route's, and the call's path. */
export interface ProtoContext {
  /** Undefined when the route has none (no `shadow.compare.protoset` / `protos`). */
  readonly schema: ProtoSchema | undefined;
  /** The request's path, `/pkg.Service/Method`. */
  readonly path: string;
}

/** How the messages of a gRPC pair were compared. */
export interface GrpcBodyComparison {
  /** `protobuf`: decoded and diffed as JSON; `bytes`: compared byte for byte. */
  readonly as: 'protobuf' | 'bytes';
  /** Why byte for byte. */
  readonly why?: string;
}

/** gRPC over HTTP/2: `application/grpc`, alone or with a `+format` (`+proto`, `+json`). */
export function isGrpcMediaType(type: string): boolean {
  return type === 'application/grpc' || type.startsWith('application/grpc+');
}

/** Messages in protobuf: the default format and `+proto`; `+json` and others are compared as bytes. */
function isProtobuf(type: string): boolean {
  return type === 'application/grpc' || type === 'application/grpc+proto';
}

/** The head and the trailers as one set of fields; the head wins (a trailers-only answer has only a head). */
export function grpcFields(sample: ResponseSample): ResponseHeaders {
  return sample.trailers === undefined ? sample.headers : { ...sample.trailers, ...sample.headers };
}

/** The status as its name (`NOT_FOUND`), a number it does not name as digits, or undefined when absent. */
export function grpcStatusName(fields: ResponseHeaders): string | undefined {
  const raw = fields['grpc-status'];
  if (raw === undefined) return undefined;
  const text = String(Array.isArray(raw) ? raw[raw.length - 1] : raw).trim();
  return /^\d+$/.test(text)
    ? ((GRPC_STATUS_NAMES as readonly string[])[Number(text)] ?? text)
    : text;
}

/** Both answers' messages as JSON documents, or why they are compared as bytes. */
export type GrpcDocuments =
  | { readonly legacy: unknown; readonly candidate: unknown }
  | { readonly why: string };

/**
 * Decode both bodies. When each side holds exactly one message (a unary
 * answer) the documents are those messages; otherwise they are the lists of
 * messages, so that a missing or extra message shows as `$[N]`.
 */
export function grpcDocuments(
  type: string,
  legacy: ResponseSample,
  candidate: ResponseSample,
  proto: ProtoContext | undefined,
): GrpcDocuments {
  if (!isProtobuf(type)) return { why: `${type} messages are not protobuf` };
  const schema = proto?.schema;
  if (schema === undefined || proto === undefined) {
    return { why: 'no descriptors for the route (shadow.compare.protoset or protos)' };
  }
  const method = schema.method(proto.path);
  if (method === undefined) return { why: `${proto.path} is not a method of the descriptors` };
  const a = sideMessages('legacy', legacy, method.responseType);
  if ('why' in a) return a;
  const b = sideMessages('candidate', candidate, method.responseType);
  if ('why' in b) return b;
  if (a.list.length === 1 && b.list.length === 1)
    return { legacy: a.list[0], candidate: b.list[0] };
  return { legacy: a.list, candidate: b.list };
}

function sideMessages(
  side: 'legacy' | 'candidate',
  sample: ResponseSample,
  type: ProtoMethod['responseType'],
): { readonly list: unknown[] } | { readonly why: string } {
  const encoding = sample.headers['grpc-encoding'];
  const split = splitGrpcMessages(
    sample.body,
    encoding === undefined ? undefined : String(encoding).trim().toLowerCase(),
  );
  if (split.problem !== undefined) return { why: `${side} answer: ${split.problem}` };
  const list: unknown[] = [];
  for (const [i, message] of split.messages.entries()) {
    try {
      list.push(decodeMessageJson(type, message));
    } catch (err) {
      const name = type.fullName.slice(1);
      return {
        why: `${side} message ${i} does not decode as ${name}: ${(err as Error).message}`,
      };
    }
  }
  return { list };
}
