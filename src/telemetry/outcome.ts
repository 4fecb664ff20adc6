// Whether one upstream attempt succeeded, decided here and nowhere else.
// Breakers, outlier ejection, the backend's concurrency limit, retries,
// fallback, the per-side figures (requests_total, stats windows, hence every
// rollout gate) and breaker probes all read the Outcome this file returns.
// A gRPC call's success is not its HTTP status but its `grpc-status`, in the
// head of a trailers-only answer or in the trailers: the caller says the
// request is a gRPC call by handing over its route's code sets (bitmasks
// compiled at load), and only then are the fields read — a plain HTTP
// request pays one comparison.
//
// Outcomes are a few frozen constants, so classifying allocates nothing.
import type { FallbackReason } from '../config/index.ts';
import { grpcStatusFromHttp, grpcStatusOf, NO_GRPC_STATUS } from './grpc-status.ts';

/**
 * - success: the backend answered (any status below 500; a 4xx is the client's doing;
 *   for a gRPC call, a grpc-status its route does not count as a failure);
 * - failure: the backend failed (5xx, a gRPC failure code, could not be reached, reset,
 *   too slow, a wrong protocol);
 * - client-gone: the client left before the answer; says nothing about the backend;
 * - client-error: the client's own request broke the attempt (a body shorter than
 *   its Content-Length, too large, too slow); says nothing about the backend;
 * - refused: the gateway did not send it (its HTTP client refused it, or no
 *   connection came free); says nothing about the backend and is not one of its requests.
 */
export type OutcomeKind = 'success' | 'failure' | 'client-gone' | 'client-error' | 'refused';

/**
 * Why an attempt failed, in the words of `fallback.on` (`grpc`: a gRPC
 * failure code); `protocol`: an upgrade switched to a protocol nobody asked for.
 */
export type FailureCause = FallbackReason | 'protocol';

/** How a transport reports an attempt that ended without a whole answer (attempt-errors.ts maps error codes to these). */
export type AttemptBreak =
  | 'connect'
  | 'timeout'
  | 'reset'
  | 'protocol'
  | 'refused'
  | 'client-gone'
  | 'client-error';

/**
 * A route's gRPC codes as bitmasks (bit n: code n; config grpcCodeMask):
 * `failures` make an answer a failure, `retryable` make that failure transient.
 */
export interface GrpcCodeSets {
  readonly failures: number;
  readonly retryable: number;
}

/** Response header or trailer fields as both HTTP clients hand them over. */
export type ResponseFields = Readonly<Record<string, string | string[] | undefined>>;

export interface Outcome {
  readonly kind: OutcomeKind;
  /** Set for a failure only. */
  readonly cause: FailureCause | undefined;
  /** What the backend's records (breaker, outlier ejection) take: true, false, or undefined for nothing. */
  readonly backendOk: boolean | undefined;
  /**
   * A failure that another try may not meet (502, 503, 504, connect, reset,
   * timeout, a gRPC code of `retry.grpcCodes`): what retries are for.
   */
  readonly transient: boolean;
  /** Counted in the side's figures (requests, latency, windows): every kind but the gateway's own refusals. */
  readonly counted: boolean;
}

function outcome(
  kind: OutcomeKind,
  cause: FailureCause | undefined,
  backendOk: boolean | undefined,
  transient: boolean,
): Outcome {
  return Object.freeze({ kind, cause, backendOk, transient, counted: kind !== 'refused' });
}

export const SUCCESS: Outcome = outcome('success', undefined, true, false);
/** A 5xx that says the backend is unwell for now (RFC 9110 §15.6.3–5: bad gateway, unavailable, timeout). */
const FAILED_5XX_TRANSIENT = outcome('failure', '5xx', false, true);
/** Any other 5xx (500, 501, ...): the same request would fail the same way. */
const FAILED_5XX = outcome('failure', '5xx', false, false);
const FAILED_CONNECT = outcome('failure', 'connect', false, true);
const FAILED_TIMEOUT = outcome('failure', 'timeout', false, true);
const FAILED_RESET = outcome('failure', 'reset', false, true);
const FAILED_PROTOCOL = outcome('failure', 'protocol', false, false);
/** A gRPC answer whose grpc-status is one of the route's failure codes, and one of its retry codes. */
const FAILED_GRPC_TRANSIENT = outcome('failure', 'grpc', false, true);
/** What a gRPC failure that retry.grpcCodes lists looks like: asked "could one be recovered?" before it comes. */
export const GRPC_RETRYABLE_FAILURE: Outcome = FAILED_GRPC_TRANSIENT;
const FAILED_GRPC = outcome('failure', 'grpc', false, false);
export const CLIENT_GONE: Outcome = outcome('client-gone', undefined, undefined, false);
const CLIENT_ERROR = outcome('client-error', undefined, undefined, false);
export const REFUSED: Outcome = outcome('refused', undefined, undefined, false);

/**
 * The outcome of one attempt: `status` of the final answer (0 when none
 * came), `broke` when the attempt ended without a whole answer, the answer's
 * head fields and its trailers where the transport has them (undefined while
 * the answer has not ended), and `grpc` for a gRPC call: its route's codes.
 */
export function classifyOutcome(
  status: number,
  broke: AttemptBreak | undefined,
  headers: ResponseFields | undefined,
  trailers: ResponseFields | undefined,
  grpc?: GrpcCodeSets,
): Outcome {
  if (broke !== undefined) return brokenOutcome(broke);
  if (status >= 500 || status < 100) {
    return status === 502 || status === 503 || status === 504 ? FAILED_5XX_TRANSIENT : FAILED_5XX;
  }
  return grpc === undefined ? SUCCESS : grpcOutcome(status, headers, trailers, grpc);
}

/** A gRPC answer below 500: judged by its grpc-status. */
function grpcOutcome(
  status: number,
  headers: ResponseFields | undefined,
  trailers: ResponseFields | undefined,
  grpc: GrpcCodeSets,
): Outcome {
  let code = grpcStatusOf(headers, trailers);
  if (code === NO_GRPC_STATUS) {
    // A head whose status is still to come in the trailers: nothing failed yet.
    if (trailers === undefined) return SUCCESS;
    code = grpcStatusFromHttp(status);
  }
  if (((grpc.failures >>> code) & 1) === 0) return SUCCESS;
  return ((grpc.retryable >>> code) & 1) === 1 ? FAILED_GRPC_TRANSIENT : FAILED_GRPC;
}

function brokenOutcome(broke: AttemptBreak): Outcome {
  switch (broke) {
    case 'connect':
      return FAILED_CONNECT;
    case 'timeout':
      return FAILED_TIMEOUT;
    case 'reset':
      return FAILED_RESET;
    case 'protocol':
      return FAILED_PROTOCOL;
    case 'client-gone':
      return CLIENT_GONE;
    case 'client-error':
      return CLIENT_ERROR;
    case 'refused':
      return REFUSED;
  }
}

/**
 * The status class (0..4 for 1xx..5xx) a finished attempt is counted under:
 * a failure is 5xx whatever its status (a reset after a 200 head; a gRPC
 * error in a 200), so that "5xx" in every figure — requests_total, the stats
 * windows, the gates that read them — means failed attempts. A status outside
 * 100..599 counts as 5xx.
 */
export function countedClass(status: number, failed: boolean): number {
  if (failed) return 4;
  const cls = (status / 100) | 0;
  return cls >= 1 && cls <= 5 ? cls - 1 : 4;
}
