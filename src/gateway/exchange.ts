// The pipeline every forwarded request follows, whatever carries it upstream:
// take an attempt on the side the split chose (breaker, concurrency cap),
// send it, release it with its outcome, recover (fall back to legacy, retry)
// or answer with the failure, and end with one access line. ProxyExchange
// (undici, streamed bodies) and UpgradeExchange (node:http, tunnels) are the
// two transports; a subclass supplies `send` and what only it holds.
import type { OutgoingHttpHeaders } from 'node:http';
import {
  BackendBusyError,
  BodyTooLargeError,
  BreakerOpenError,
  ClientTimeoutError,
  type CutoverError,
  GrpcBackendHttp1Error,
  OverloadedError,
} from '../errors.ts';
import { problemFromError, sendProblem } from '../problem.ts';
import type { AccessLog, Outcome } from '../telemetry/index.ts';
import { classifyOutcome, endProxySpan, NO_GRPC_STATUS } from '../telemetry/index.ts';
import { type Attempt, acquireAttempt } from './attempt.ts';
import { CLIENT_CLOSED, classifyAttemptError, refusalError } from './attempt-errors.ts';
import type { Backend } from './backends.ts';
import type { ForwardRequest } from './forward-request.ts';
import { decideRecovery, type Recovery, type Refusal } from './recovery.ts';
import type { ResponseBuffering } from './response-buffer.ts';
import type { Side } from './split.ts';

/** What the exchange needs from the gateway. */
export interface ExchangeHooks {
  readonly accessLog: AccessLog | undefined;
  readonly buffering: ResponseBuffering;
  finished(): void;
  /** A failure the gateway caused itself (counted apart from every backend's figures). */
  answeredItself(status: number): void;
}

export abstract class Exchange {
  protected readonly request: ForwardRequest;
  protected readonly hooks: ExchangeHooks;
  readonly #start: number;
  protected side: Side;
  /** The attempt in flight, or the last one (released). */
  protected attempt: Attempt | undefined;
  /** Attempts sent so far. */
  protected attempts: number;
  /** Why the request went to legacy instead of the candidate (the x-cutover-fallback value). */
  protected fallback: string | undefined;
  /** What the client is answered (or was, when it left). */
  protected status: number;
  protected bytesOut: number;
  protected clientGone: boolean;
  /** The grpc-status of the answer the client got (or the attempt's), for figures and the log; else NO_GRPC_STATUS. */
  protected grpcStatus: number;
  /** The outcome of the answer the client got: the last attempt's, or that of the gateway's own answer. */
  #outcome: Outcome | undefined;
  #done: boolean;

  constructor(request: ForwardRequest, hooks: ExchangeHooks) {
    this.request = request;
    this.hooks = hooks;
    this.#start = performance.now();
    this.side = request.side;
    this.attempt = undefined;
    this.attempts = 0;
    this.fallback = undefined;
    this.status = 0;
    this.bytesOut = 0;
    this.clientGone = false;
    this.grpcStatus = NO_GRPC_STATUS;
    this.#outcome = undefined;
    this.#done = false;
  }

  /** Send the attempt to the side the split chose, or to legacy when the candidate's guards refuse. */
  start(): void {
    this.dispatch();
  }

  /** Send `attempt` (its breaker permit and cap slot are held); release it when it ends. */
  protected abstract send(attempt: Attempt): void;

  /** Whether the request may be sent again (safe method or Idempotency-Key, body kept). */
  protected abstract resendable(): boolean;

  /** The exchange is over: let go of what only the transport holds. */
  protected abstract closed(): void;

  /** Whether a retry the route allows may go now (the route's retry budget); false: this transport does not retry. */
  protected mayRetry(): boolean {
    return false;
  }

  /** Send the next attempt of a retry. */
  protected retryLater(): void {
    this.dispatch();
  }

  protected get done(): boolean {
    return this.#done;
  }

  /** The backend of the side the request is on now. */
  protected get backend(): Backend {
    const route = this.request.route;
    return this.side === 'candidate' ? route.candidate! : route.legacy;
  }

  protected dispatch(): void {
    if (this.clientGone) {
      this.status = CLIENT_CLOSED;
      this.finish(undefined);
      return;
    }
    const route = this.request.route;
    if (this.request.grpcCall && this.backend.config.protocol === 'http1') {
      // Nothing is sent: the backend could not answer a gRPC call, and is not to blame.
      this.hooks.answeredItself(501);
      this.fail(new GrpcBackendHttp1Error(route.name, this.backend.name));
      return;
    }
    const attempt = acquireAttempt(route, this.side);
    if (typeof attempt === 'string') {
      this.refusedBefore(attempt);
      return;
    }
    this.attempt = attempt;
    this.send(attempt);
  }

  /** The gateway's own guards refused the attempt before sending: go to legacy, or answer 503. */
  protected refusedBefore(refusal: Refusal): void {
    if (!this.recover(refusal)) {
      this.fail(refusalError(refusal, this.request.route.name, this.backend));
    }
  }

  /** The current attempt is over: release it with `outcome` and the status it ended with. */
  protected attemptOver(outcome: Outcome): void {
    this.#outcome = outcome;
    this.attempt?.release(outcome, this.status, this.grpcStatus);
  }

  /** What to do after `setback`; a retry the budget does not allow is given up. */
  protected decide(setback: Outcome | Refusal): Recovery {
    const next = decideRecovery(
      setback,
      this.side,
      this.attempts,
      this.request.route.config,
      typeof setback === 'string' || this.resendable(),
    );
    return next === 'retry' && !this.mayRetry() ? 'give-up' : next;
  }

  /** Carry out a fallback (to legacy, for `reason`) or a retry. */
  protected act(next: 'fallback' | 'retry', reason: string): void {
    if (next === 'retry') {
      this.retryLater();
      return;
    }
    this.fallback = reason;
    this.side = 'legacy';
    this.request.route.guards.fallback(reason);
    this.dispatch();
  }

  /** Decide and act; false when the request gives up. */
  protected recover(setback: Outcome | Refusal): boolean {
    const next = this.decide(setback);
    if (next === 'give-up') return false;
    this.act(next, typeof setback === 'string' ? setback : setback.cause!);
    return true;
  }

  /** The attempt broke before any of its answer reached the client: recover, or answer with the failure. */
  protected attemptBroke(error: Error): void {
    const [failure, broke] = classifyAttemptError(
      error,
      this.request.route.name,
      this.attempt!.backend.name,
    );
    this.status = failure.status;
    const outcome = classifyOutcome(0, broke, undefined, undefined);
    this.attemptOver(outcome);
    // Refused by the HTTP client: never sent, so none of the backend's figures; the gateway's own.
    if (outcome.kind === 'refused') this.hooks.answeredItself(failure.status);
    if (!this.recover(outcome)) this.fail(failure);
  }

  /** x-request-id and the split's markers, as on every answer, set into `out`. */
  protected markAnswer(out: OutgoingHttpHeaders): void {
    if (this.request.route.config.backendHeader) out['x-cutover-backend'] = this.side;
    if (this.fallback !== undefined) out['x-cutover-fallback'] = this.fallback;
    out['x-request-id'] = this.request.requestId;
  }

  /** Answer with a problem: nothing of an upstream answer has been sent. */
  protected fail(failure: CutoverError): void {
    this.status = failure.status;
    // The answer is the gateway's own, not an attempt's.
    this.grpcStatus = NO_GRPC_STATUS;
    this.#outcome = classifyOutcome(failure.status, undefined, undefined, undefined);
    if (!this.clientGone) {
      const headers: Record<string, string> = {};
      this.markAnswer(headers);
      // The rest of the client's body is unread: the connection cannot carry another request.
      if (failure instanceof BodyTooLargeError || failure instanceof ClientTimeoutError) {
        headers.connection = 'close';
      }
      // The gateway's own refusals (breaker, shedding, connection queue) pass soon.
      if (
        failure instanceof BreakerOpenError ||
        failure instanceof OverloadedError ||
        failure instanceof BackendBusyError
      ) {
        headers['retry-after'] = '1';
      }
      const route = this.request.route;
      sendProblem(
        this.request.res,
        problemFromError(failure, {
          route: route.name,
          backend: this.backend.name,
          requestId: this.request.requestId,
        }),
        headers,
      );
    }
    this.finish(failure);
  }

  /** One access line, the route's slot freed, the span ended; once. */
  protected finish(error: Error | undefined): void {
    if (this.#done) return;
    this.#done = true;
    this.closed();
    const request = this.request;
    const route = request.route;
    const ms = performance.now() - this.#start;
    route.guards.finished(ms, this.#outcome?.kind !== 'failure');
    const log = this.hooks.accessLog;
    if (log) {
      log.write(
        request.requestId,
        this.side === 'candidate' ? route.candidateLogFragment : route.legacyLogFragment,
        request.req.method!,
        request.target,
        this.status,
        Math.round(ms * 10) / 10,
        this.bytesOut,
        this.attempts,
        this.fallback,
        error?.message,
        this.grpcStatus,
      );
    }
    if (request.span) endProxySpan(request.span, this.status, this.side, error);
    this.hooks.finished();
  }
}
