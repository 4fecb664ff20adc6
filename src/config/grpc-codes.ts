// gRPC status codes (grpc/grpc doc/statuscodes.md): their canonical names,
// the config field that takes a name or a number, and the bitmask a list of
// codes compiles to, so the hot path asks "is this code in the list" with
// one shift and one AND instead of a set lookup.

/** Index = the code on the wire (`grpc-status: 14` is UNAVAILABLE). */
export const GRPC_STATUS_NAMES = [
  'OK',
  'CANCELLED',
  'UNKNOWN',
  'INVALID_ARGUMENT',
  'DEADLINE_EXCEEDED',
  'NOT_FOUND',
  'ALREADY_EXISTS',
  'PERMISSION_DENIED',
  'RESOURCE_EXHAUSTED',
  'FAILED_PRECONDITION',
  'ABORTED',
  'OUT_OF_RANGE',
  'UNIMPLEMENTED',
  'INTERNAL',
  'UNAVAILABLE',
  'DATA_LOSS',
  'UNAUTHENTICATED',
] as const;

export type GrpcStatusName = (typeof GRPC_STATUS_NAMES)[number];

export const GRPC_OK = 0;
/** What a client makes of a status it does not know, or of none (grpc-go's and grpc-js's rule). */
export const GRPC_UNKNOWN = 2;
export const GRPC_UNAVAILABLE = 14;

/** The code a config entry names: a name of GRPC_STATUS_NAMES (any case) or its number; undefined if neither. */
export function grpcCodeOf(entry: string | number): number | undefined {
  if (typeof entry === 'number') {
    return Number.isInteger(entry) && entry >= 0 && entry < GRPC_STATUS_NAMES.length
      ? entry
      : undefined;
  }
  const at = (GRPC_STATUS_NAMES as readonly string[]).indexOf(entry.toUpperCase());
  return at === -1 ? undefined : at;
}

/** Bit `code` set for every code listed (codes 0–16 fit one 32-bit integer). */
export function grpcCodeMask(codes: readonly number[]): number {
  let mask = 0;
  for (const code of codes) mask |= 1 << code;
  return mask;
}
