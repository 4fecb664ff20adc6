// The gRPC status of an answer (gRPC over HTTP/2 protocol spec, "Responses"):
// `grpc-status` in the head of a trailers-only answer, else in the trailers;
// an answer that ends without one is read as the HTTP status maps to
// (grpc/grpc doc/http-grpc-status-mapping.md), as clients do.
import { GRPC_UNAVAILABLE, GRPC_UNKNOWN } from '../config/index.ts';
import type { ResponseFields } from './outcome.ts';

/** No status seen (yet): the head of an answer whose status comes in its trailers. */
export const NO_GRPC_STATUS = -1;

/**
 * The code a `grpc-status` value says (1*DIGIT). A code outside 0–16 or a
 * value that is not a number is UNKNOWN, as grpc-js and grpc-go read it: it
 * also bounds every label and field the code reaches.
 */
function parseCode(value: string | string[]): number {
  const text = typeof value === 'string' ? value : (value[0] ?? '');
  const d0 = text.charCodeAt(0) - 48;
  if (text.length === 1) return d0 >= 0 && d0 <= 9 ? d0 : GRPC_UNKNOWN;
  const d1 = text.charCodeAt(1) - 48;
  if (text.length === 2 && d0 === 1 && d1 >= 0 && d1 <= 6) return 10 + d1;
  return GRPC_UNKNOWN;
}

/** The grpc-status of an answer: in its head (trailers-only), else in its trailers; NO_GRPC_STATUS when neither has one. */
export function grpcStatusOf(
  head: ResponseFields | undefined,
  trailers: ResponseFields | undefined,
): number {
  const inHead = head?.['grpc-status'];
  if (inHead !== undefined) return parseCode(inHead);
  const inTrailers = trailers?.['grpc-status'];
  return inTrailers === undefined ? NO_GRPC_STATUS : parseCode(inTrailers);
}

/**
 * The code of a gRPC answer that ended without grpc-status: what its HTTP
 * status maps to (a 200 that ends without a status is UNKNOWN, "no status
 * received", in grpc-js and grpc-go alike).
 */
export function grpcStatusFromHttp(status: number): number {
  switch (status) {
    case 400:
      return 13; // INTERNAL
    case 401:
      return 16; // UNAUTHENTICATED
    case 403:
      return 7; // PERMISSION_DENIED
    case 404:
      return 12; // UNIMPLEMENTED
    case 429:
    case 502:
    case 503:
    case 504:
      return GRPC_UNAVAILABLE;
    default:
      return GRPC_UNKNOWN;
  }
}

/** The code of a finished gRPC answer (head, trailers and HTTP status seen): never NO_GRPC_STATUS. */
export function finalGrpcStatus(
  status: number,
  head: ResponseFields | undefined,
  trailers: ResponseFields | undefined,
): number {
  const code = grpcStatusOf(head, trailers);
  return code === NO_GRPC_STATUS ? grpcStatusFromHttp(status) : code;
}
