// What Cutover knows of the gRPC wire protocol that more than one module
// needs (gRPC over HTTP/2, grpc/grpc doc/PROTOCOL-HTTP2.md): which content
// type marks a call, the status codes (doc/statuscodes.md), how an HTTP
// status of Cutover's own answers becomes one, and how `grpc-message` is
// encoded. A leaf: the gateway, telemetry and problem.ts read it.

const GRPC_TYPE = 'application/grpc';

/**
 * Whether a content type is gRPC's: application/grpc, application/grpc+proto,
 * application/grpc;… (case-insensitive, RFC 9110 §8.3.1). Every request asks:
 * the 'g' of "grpc" turns most other types away before any string is compared.
 */
export function isGrpcContentType(value: string | undefined): boolean {
  if (value === undefined || value.length < GRPC_TYPE.length) return false;
  if ((value.charCodeAt(12) | 0x20) !== 0x67) return false;
  if (
    !value.startsWith(GRPC_TYPE) &&
    value.slice(0, GRPC_TYPE.length).toLowerCase() !== GRPC_TYPE
  ) {
    return false;
  }
  const next = value.charCodeAt(GRPC_TYPE.length);
  // End, '+', ';' or a space: not application/grpc-web (another protocol).
  return Number.isNaN(next) || next === 43 || next === 59 || next === 32;
}

/** The status codes of grpc/grpc doc/statuscodes.md, by name. */
export const GRPC_STATUS = Object.freeze({
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  OUT_OF_RANGE: 11,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  DATA_LOSS: 15,
  UNAUTHENTICATED: 16,
});

export type GrpcStatusName = keyof typeof GRPC_STATUS;

/**
 * The gRPC status of an answer Cutover gives a call itself, from the HTTP
 * status it would give an HTTP request. Starts from grpc/grpc
 * doc/http-grpc-status-mapping.md (400 → INTERNAL: the request's framing,
 * not the call's arguments, was wrong; 404 → UNIMPLEMENTED; 401, 403) and
 * departs from it where Cutover knows more than "some HTTP error": its 429
 * and 413 say a quota or size limit, RESOURCE_EXHAUSTED (the code gRPC
 * servers use for both); its 504 and 408 say a deadline passed,
 * DEADLINE_EXCEEDED; 499 is a call the client cancelled. 502 and 503 stay
 * UNAVAILABLE, the one code clients retry by themselves. docs/decisions.md
 * "gRPC status of Cutover's own answers (issue 12)".
 */
export function grpcStatusOfHttp(status: number): number {
  switch (status) {
    case 400:
      return GRPC_STATUS.INTERNAL;
    case 401:
      return GRPC_STATUS.UNAUTHENTICATED;
    case 403:
      return GRPC_STATUS.PERMISSION_DENIED;
    case 404:
    case 501:
      return GRPC_STATUS.UNIMPLEMENTED;
    case 408:
    case 504:
      return GRPC_STATUS.DEADLINE_EXCEEDED;
    case 413:
    case 429:
    case 431:
      return GRPC_STATUS.RESOURCE_EXHAUSTED;
    case 499:
      return GRPC_STATUS.CANCELLED;
    case 500:
      return GRPC_STATUS.INTERNAL;
    case 502:
    case 503:
      return GRPC_STATUS.UNAVAILABLE;
    default:
      return GRPC_STATUS.UNKNOWN;
  }
}

const HEX = '0123456789ABCDEF';

/**
 * `grpc-message` is percent-encoded (PROTOCOL-HTTP2.md "Status-Message"):
 * the UTF-8 bytes of the text, each byte outside 0x20–0x7E, and `%`
 * itself, written as `%XX`; everything else as is.
 */
export function encodeGrpcMessage(text: string): string {
  let plain = true;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x20 || c > 0x7e || c === 0x25) {
      plain = false;
      break;
    }
  }
  if (plain) return text;
  let out = '';
  for (const byte of Buffer.from(text, 'utf8')) {
    out +=
      byte < 0x20 || byte > 0x7e || byte === 0x25
        ? `%${HEX[byte >> 4]}${HEX[byte & 15]}`
        : String.fromCharCode(byte);
  }
  return out;
}
