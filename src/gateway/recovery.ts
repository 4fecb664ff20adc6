// What to do after an attempt did not give the client its answer: send it to
// legacy instead, try the same side again, or give up and answer with the
// failure. A pure function of what happened and what the route allows, so
// both exchanges (requests and upgrades) follow one rule, tested as a table.
import type { FallbackConfig, RetryConfig } from '../config/index.ts';
import type { Outcome } from '../telemetry/index.ts';
import type { Side } from './split.ts';

/**
 * The gateway's own guards refused the attempt before a byte left: the
 * breaker is open, the backend's concurrency cap is full (shed), or no
 * connection of the instance came free (queue full, or queueTimeout passed).
 */
export type Refusal = 'breaker-open' | 'shed' | 'queue-full' | 'queue-timeout';

export type Recovery = 'fallback' | 'retry' | 'give-up';

/** The part of a route's config recovery reads (a RouteConfig is one). */
export interface RecoveryPolicy {
  readonly fallback: FallbackConfig | undefined;
  readonly retry: RetryConfig | undefined;
}

/**
 * - A refusal: nothing reached the candidate, so any request may go to
 *   legacy when the route falls back; on legacy there is nowhere else to go.
 * - A failure of the candidate whose cause `fallback.on` lists goes to legacy,
 *   if the request can be sent again.
 * - A transient failure (502/503/504, connect, reset, timeout) is retried on
 *   the same side while `retry.attempts` allows, if the request can be sent
 *   again. The retry budget is the caller's to check: it is state, not policy.
 * - Anything else (success, the client gone or at fault, the gateway's HTTP
 *   client refusing the request, a 500) is given up.
 *
 * `attempts`: attempts sent so far, this one included; `resendable`: the
 * method is safe to resend (or carries an Idempotency-Key) and the body was kept.
 */
export function decideRecovery(
  setback: Outcome | Refusal,
  side: Side,
  attempts: number,
  policy: RecoveryPolicy,
  resendable: boolean,
): Recovery {
  const fallback = policy.fallback;
  if (typeof setback === 'string') {
    return side === 'candidate' && fallback !== undefined ? 'fallback' : 'give-up';
  }
  if (setback.kind !== 'failure' || !resendable) return 'give-up';
  if (
    side === 'candidate' &&
    fallback !== undefined &&
    (fallback.on as ReadonlySet<string>).has(setback.cause!)
  ) {
    return 'fallback';
  }
  const retry = policy.retry;
  if (retry !== undefined && setback.transient && attempts < retry.attempts) return 'retry';
  return 'give-up';
}
