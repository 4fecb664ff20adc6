// The confirm-webhook protocol of one run: before a step up, every `confirm`
// hook is asked once; while the ask is in flight nothing else is asked, and
// after a refusal the run asks again only once `retryAfterMs` (the rollout's
// interval) has passed. The answer is handed back to the controller, which
// alone decides whether it still applies (the run may have moved meanwhile).
import type { ConfirmRequest, GateResult, WebhookConfig } from './types.ts';
import type { ConfirmOutcome, Webhooks } from './webhooks.ts';

export interface ConfirmFlowOptions {
  readonly webhooks: Webhooks;
  readonly clock: () => number;
  /** How long a refusal stands before the hooks are asked again. */
  readonly retryAfterMs: number;
}

/** What `request` did: what the run now waits for, and the answer when it asked. */
export interface ConfirmAsk {
  readonly waitingFor: string;
  /** Present only when this call sent the ask; resolves once every hook answered (never rejects). */
  readonly answer?: Promise<ConfirmOutcome>;
}

export const WAITING_FOR_CONFIRM = 'waiting for the confirm webhook';
export const REFUSED_RECENTLY = 'the confirm webhook said no; asking again after the interval';

/** What the hooks are asked before the step from `fromWeight` to `toWeight`. */
export function confirmRequest(
  route: string,
  step: number,
  fromWeight: number,
  toWeight: number,
  gates: readonly GateResult[],
  now: number,
): ConfirmRequest {
  return {
    type: 'confirm',
    route,
    step,
    fromWeight,
    toWeight,
    gates,
    at: new Date(now).toISOString(),
  };
}

export class ConfirmFlow {
  readonly #webhooks: Webhooks;
  readonly #clock: () => number;
  readonly #retryAfterMs: number;
  #asking = false;
  #refusedAt: number | undefined = undefined;

  constructor(options: ConfirmFlowOptions) {
    this.#webhooks = options.webhooks;
    this.#clock = options.clock;
    this.#retryAfterMs = options.retryAfterMs;
  }

  /** True while an ask is in flight. */
  get asking(): boolean {
    return this.#asking;
  }

  /** Asks `hooks` unless an ask is in flight or a refusal is younger than the retry pause. */
  request(hooks: readonly WebhookConfig[], ask: ConfirmRequest): ConfirmAsk {
    if (this.#asking) return { waitingFor: WAITING_FOR_CONFIRM };
    if (this.#refusedAt !== undefined && this.#clock() - this.#refusedAt < this.#retryAfterMs) {
      return { waitingFor: REFUSED_RECENTLY };
    }
    this.#asking = true;
    const answer = this.#webhooks.confirm(hooks, ask).then(
      (outcome) => this.#answered(outcome),
      (error: Error) => this.#answered({ approved: false, reason: error.message }),
    );
    return { waitingFor: WAITING_FOR_CONFIRM, answer };
  }

  #answered(outcome: ConfirmOutcome): ConfirmOutcome {
    this.#asking = false;
    this.#refusedAt = outcome.approved ? undefined : this.#clock();
    return outcome;
  }
}
