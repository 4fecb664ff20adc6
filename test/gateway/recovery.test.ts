// The recovery decision after an attempt that did not give the client its
// answer, as a table: what happened, where, how many tries so far, what the
// route allows, and whether the request can be sent again.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { FallbackReason } from '../../src/config/index.ts';
import {
  decideRecovery,
  type Recovery,
  type RecoveryPolicy,
  type Refusal,
} from '../../src/gateway/recovery.ts';
import type { Side } from '../../src/gateway/split.ts';
import { type AttemptBreak, classifyOutcome, type Outcome } from '../../src/telemetry/index.ts';

function fallbackOn(...on: FallbackReason[]): RecoveryPolicy['fallback'] {
  return { on: new Set(on), methods: new Set(['GET']), maxBodyBytes: 65_536 };
}
const RETRY2 = {
  attempts: 2,
  budget: 0.2,
  minConcurrent: 3,
  backoff: 25,
  maxBackoff: 250,
  grpcCodes: [14],
};
const ALL = fallbackOn('connect', 'timeout', 'reset', '5xx');

const NONE: RecoveryPolicy = { fallback: undefined, retry: undefined };
const FALLBACK: RecoveryPolicy = { fallback: ALL, retry: undefined };
const RETRY: RecoveryPolicy = { fallback: undefined, retry: RETRY2 };
const BOTH: RecoveryPolicy = { fallback: ALL, retry: RETRY2 };
const ONLY_CONNECT: RecoveryPolicy = { fallback: fallbackOn('connect'), retry: RETRY2 };

const status = (s: number): Outcome => classifyOutcome(s, undefined, undefined, undefined);
const broke = (b: AttemptBreak): Outcome => classifyOutcome(0, b, undefined, undefined);

type Row = [
  what: string,
  setback: Outcome | Refusal,
  side: Side,
  attempts: number,
  policy: RecoveryPolicy,
  resendable: boolean,
  expected: Recovery,
];

const TABLE: readonly Row[] = [
  // Refusals: nothing was sent, so any request may go to legacy.
  [
    'breaker open on candidate, fallback',
    'breaker-open',
    'candidate',
    0,
    FALLBACK,
    false,
    'fallback',
  ],
  [
    'breaker open on candidate, no fallback',
    'breaker-open',
    'candidate',
    0,
    RETRY,
    true,
    'give-up',
  ],
  ['breaker open on legacy', 'breaker-open', 'legacy', 0, BOTH, true, 'give-up'],
  ['shed on candidate', 'shed', 'candidate', 0, FALLBACK, false, 'fallback'],
  ['queue full on candidate', 'queue-full', 'candidate', 0, FALLBACK, false, 'fallback'],
  ['queue timeout on legacy', 'queue-timeout', 'legacy', 0, FALLBACK, true, 'give-up'],
  ['breaker open on a candidate retry', 'breaker-open', 'candidate', 1, BOTH, true, 'fallback'],
  // Failures of the candidate: fallback first when fallback.on lists the cause.
  ['candidate 503', status(503), 'candidate', 1, BOTH, true, 'fallback'],
  ['candidate 500', status(500), 'candidate', 1, BOTH, true, 'fallback'],
  ['candidate connect', broke('connect'), 'candidate', 1, FALLBACK, true, 'fallback'],
  ['candidate timeout', broke('timeout'), 'candidate', 1, FALLBACK, true, 'fallback'],
  ['candidate reset', broke('reset'), 'candidate', 1, FALLBACK, true, 'fallback'],
  ['candidate 503, body not kept', status(503), 'candidate', 1, BOTH, false, 'give-up'],
  [
    'candidate 503, fallback.on [connect]: retried',
    status(503),
    'candidate',
    1,
    ONLY_CONNECT,
    true,
    'retry',
  ],
  [
    'candidate 500, fallback.on [connect]: not transient',
    status(500),
    'candidate',
    1,
    ONLY_CONNECT,
    true,
    'give-up',
  ],
  [
    'candidate connect, fallback.on [connect]',
    broke('connect'),
    'candidate',
    1,
    ONLY_CONNECT,
    true,
    'fallback',
  ],
  // Retries: transient failures, while attempts allow, with a resendable request.
  ['legacy 502', status(502), 'legacy', 1, RETRY, true, 'retry'],
  ['legacy 504', status(504), 'legacy', 1, RETRY, true, 'retry'],
  ['legacy reset', broke('reset'), 'legacy', 1, RETRY, true, 'retry'],
  ['legacy timeout', broke('timeout'), 'legacy', 1, BOTH, true, 'retry'],
  ['legacy 500: the same again', status(500), 'legacy', 1, RETRY, true, 'give-up'],
  ['legacy 502, attempts used', status(502), 'legacy', 2, RETRY, true, 'give-up'],
  ['legacy 502, not resendable', status(502), 'legacy', 1, RETRY, false, 'give-up'],
  ['legacy 502, no retry', status(502), 'legacy', 1, FALLBACK, true, 'give-up'],
  ['after a fallback, legacy connect', broke('connect'), 'legacy', 1, BOTH, true, 'retry'],
  ['after a fallback and a retry', broke('connect'), 'legacy', 2, BOTH, true, 'give-up'],
  ['nothing configured', status(503), 'candidate', 1, NONE, true, 'give-up'],
  // Nothing of the backend's doing: never recovered.
  ['success', status(200), 'candidate', 1, BOTH, true, 'give-up'],
  ['4xx', status(404), 'candidate', 1, BOTH, true, 'give-up'],
  ['client gone', broke('client-gone'), 'candidate', 1, BOTH, true, 'give-up'],
  ['client error', broke('client-error'), 'candidate', 1, BOTH, true, 'give-up'],
  ['refused by the HTTP client', broke('refused'), 'candidate', 1, BOTH, true, 'give-up'],
  // An upgrade answered with another protocol: no fallback.on names it, and it is not transient.
  ['protocol mismatch', broke('protocol'), 'candidate', 1, BOTH, true, 'give-up'],
];

test('decideRecovery: fallback, retry or give up', () => {
  for (const [what, setback, side, attempts, policy, resendable, expected] of TABLE) {
    assert.equal(decideRecovery(setback, side, attempts, policy, resendable), expected, what);
  }
});
