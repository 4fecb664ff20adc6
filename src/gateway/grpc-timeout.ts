// A gRPC call's deadline, `grpc-timeout` (PROTOCOL-HTTP2.md: "Timeout →
// TimeoutValue TimeoutUnit", at most 8 digits, unit H M S m u n). It bounds
// each upstream attempt: the attempt waits for its answer no longer than
// min(route timeout, what remains of the deadline), and the upstream is told
// what remains, so the deadline counts from the client's send, not from each
// hop's. docs/decisions.md "grpc-timeout (issue 12)".

/** Milliseconds per unit. */
const UNIT_MS: Readonly<Record<string, number>> = {
  H: 3_600_000,
  M: 60_000,
  S: 1_000,
  m: 1,
  u: 0.001,
  n: 0.000_001,
};

const TIMEOUT = /^(\d{1,8})([HMSmun])$/;

/** The timeout in milliseconds (fractions kept), or undefined when the value is not one. */
export function parseGrpcTimeout(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const m = TIMEOUT.exec(value);
  return m === null ? undefined : Number(m[1]) * UNIT_MS[m[2]];
}

/** The largest TimeoutValue: 8 digits. */
const MAX_VALUE = 99_999_999;

/**
 * `ms` (whole, ≥ 1) as a grpc-timeout value: in milliseconds while it fits 8
 * digits (27.7 hours), else in whole seconds, minutes or hours rounded down,
 * so the next hop never gets more time than there is.
 */
export function formatGrpcTimeout(ms: number): string {
  if (ms <= MAX_VALUE) return `${ms}m`;
  if (ms / 1_000 <= MAX_VALUE) return `${Math.floor(ms / 1_000)}S`;
  if (ms / 60_000 <= MAX_VALUE) return `${Math.floor(ms / 60_000)}M`;
  return `${Math.min(MAX_VALUE, Math.floor(ms / 3_600_000))}H`;
}

/** Where `grpc-timeout`'s value sits in a flat upstream header list (names at even indexes); -1 if absent. */
function timeoutValueIndex(headers: readonly string[]): number {
  for (let i = 0; i < headers.length; i += 2) {
    if (headers[i].length === 12 && headers[i].toLowerCase() === 'grpc-timeout') return i + 1;
  }
  return -1;
}

/** The deadline of one gRPC call, from the moment its head arrived. */
export class GrpcDeadline {
  /** performance.now() when the deadline passes. */
  readonly #at: number;
  /** The grpc-timeout value in the upstream header list, rewritten per attempt. */
  readonly #valueAt: number;

  /** The call's deadline, or undefined when it sets none (or an unreadable one, forwarded as it came). */
  static of(headers: readonly string[], now: number): GrpcDeadline | undefined {
    const at = timeoutValueIndex(headers);
    if (at === -1) return undefined;
    const ms = parseGrpcTimeout(headers[at]);
    return ms === undefined ? undefined : new GrpcDeadline(now + ms, at);
  }

  constructor(at: number, valueAt: number) {
    this.#at = at;
    this.#valueAt = valueAt;
  }

  /**
   * The wait for this attempt's answer: the route's timeout, or what remains
   * of the deadline when that is shorter. The remainder (at least 1 ms: a
   * deadline passed during a retry's backoff still times out, on our timer)
   * goes upstream in `headers`.
   */
  bound(routeTimeout: number, headers: string[]): number {
    const left = Math.max(1, Math.floor(this.#at - performance.now()));
    headers[this.#valueAt] = formatGrpcTimeout(left);
    return Math.min(routeTimeout, left);
  }
}
