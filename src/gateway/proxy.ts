// One client request as an undici dispatch handler: the request transport of
// the exchange pipeline (exchange.ts). It may make several attempts before
// the first response byte reaches the client: a failed candidate attempt
// falls back to legacy, a failed attempt may be retried. Each lifecycle step
// is a method; per-request state lives in fields assigned in the constructor
// (stable shape); bodies stream both ways.
//
// A gRPC call fails in its trailers, usually after a 200 head: when the call
// could be resent, its answer's head is held until the first message or the
// end, so a failure with no message sent can still be retried or fall back.
import type { Readable } from 'node:stream';
import type { Dispatcher } from 'undici';
import type { BodyTooLargeError, ClientTimeoutError } from '../errors.ts';
import { backoffDelay, retryAfterMs } from '../guard/index.ts';
import type { GrpcCodeSets, Outcome, ResponseFields } from '../telemetry/index.ts';
import {
  CLIENT_GONE,
  classifyOutcome,
  finalGrpcStatus,
  GRPC_RETRYABLE_FAILURE,
  NO_GRPC_STATUS,
  REFUSED,
} from '../telemetry/index.ts';
import type { Attempt } from './attempt.ts';
import { AttemptTimeoutError, CLIENT_CLOSED, ClientGoneError } from './attempt-errors.ts';
import { isResendable, keepBodyUpTo } from './body.ts';
import type { BodyCopyWatcher, StreamedBodyCopy } from './body-copy.ts';
import { Exchange, type ExchangeHooks } from './exchange.ts';
import type { ProxyRequest } from './forward-request.ts';
import { clientResponseHeaders, clientTrailers } from './headers.ts';
import { forwardInformational } from './informational.ts';
import { decideRecovery, type Recovery } from './recovery.ts';
import { SlowClient, type UpstreamValve } from './response-buffer.ts';
import type { ShadowCopy } from './shadow.ts';
import type { QueuedAttempt, UpstreamQueue } from './upstream-queue.ts';

export type { ExchangeHooks } from './exchange.ts';

const EXCHANGE = Symbol('cutover.exchange');
type ExchangeResponse = ProxyRequest['res'] & { [EXCHANGE]?: ProxyExchange };

/** One listener function for every response (no closure per request). */
function onResponseClose(this: ExchangeResponse): void {
  this[EXCHANGE]?.clientClosed();
}

/**
 * undici times response headers with its coarse timers (about 0.5–1 s
 * resolution, undici lib/util/timers.js); a shorter route timeout would fire
 * up to a second late. Below this, each attempt runs a native timer instead.
 */
const PRECISE_TIMEOUT_BELOW_MS = 2000;

function onHeadersTimeout(exchange: ProxyExchange): void {
  exchange.headersTimedOut();
}

function onRetryDue(exchange: ProxyExchange): void {
  exchange.retryDue();
}

export class ProxyExchange
  extends Exchange
  implements Dispatcher.DispatchHandler, QueuedAttempt, UpstreamValve, BodyCopyWatcher
{
  /** The body each attempt sends: a resend of a streamed body sends its copy instead. */
  #body: Buffer | Readable | null;
  readonly #shadow: ShadowCopy | undefined;
  /** A gRPC call: its route's failure and retry codes. */
  readonly #grpc: GrpcCodeSets | undefined;
  /** What passed of a streamed body, for a resend. */
  readonly #copy: StreamedBodyCopy | undefined;
  /** A gRPC answer's head, held (not yet sent) until its first message or its end. */
  #held: boolean;
  #controller: Dispatcher.DispatchController | null;
  /** The head of the final answer, for the outcome at its end (a protocol may put its status there). */
  #head: ResponseFields | undefined;
  /** The client's request body failed while streaming (too large, too slow): answered as the client's fault. */
  #bodyError: BodyTooLargeError | ClientTimeoutError | undefined;
  /** The instance queue this attempt waits in for a connection. */
  #queued: UpstreamQueue | undefined;
  /** Created when the client first falls behind the upstream. */
  #slow: SlowClient | undefined;
  /** A failed answer being drained (its connection kept) before the next attempt, and what comes next. */
  #discard: Outcome | undefined;
  #afterDiscard: Recovery;
  /** A 503's Retry-After, in ms: the next attempt waits that long instead of the backoff. */
  #retryAfter: number | undefined;
  /** A retry holds the route's retry budget from its scheduling until its attempt ends. */
  #retryActive: boolean;
  /** The route's timeout passed before undici handed over the request's controller. */
  #timedOut: boolean;

  constructor(request: ProxyRequest, hooks: ExchangeHooks) {
    super(request, hooks);
    this.#body = request.body;
    this.#shadow = request.shadow;
    this.#grpc = request.grpc;
    this.#copy = request.bodyCopy;
    this.#held = false;
    this.#controller = null;
    this.#head = undefined;
    this.#bodyError = undefined;
    this.#queued = undefined;
    this.#slow = undefined;
    this.#discard = undefined;
    this.#afterDiscard = 'give-up';
    this.#retryAfter = undefined;
    this.#retryActive = false;
    this.#timedOut = false;
    const res = request.res as ExchangeResponse;
    res[EXCHANGE] = this;
    res.on('close', onResponseClose);
    this.#copy?.watch(this);
  }

  /** The client connection closed; before the answer was complete, that cancels the upstream request. */
  clientClosed(): void {
    if (this.done) return;
    this.clientGone = true;
    if (this.#queued !== undefined) {
      this.#queued.leave(this);
      this.#queued = undefined;
      this.status = CLIENT_CLOSED;
      this.attemptOver(CLIENT_GONE);
      this.finish(undefined);
      return;
    }
    this.#controller?.abort(new ClientGoneError());
    // Between attempts (a retry's backoff): nothing upstream to cancel.
    if (this.#controller === null && this.attempts > 0) this.finish(undefined);
  }

  protected override send(attempt: Attempt): void {
    const queue = attempt.instance.queue;
    if (queue.tryTake()) {
      attempt.holdSlot(queue);
      this.#forward(attempt);
    } else {
      this.#queued = queue;
      queue.wait(this);
    }
  }

  /** A connection of the instance came free for this queued attempt. */
  admitted(): void {
    const attempt = this.attempt!;
    attempt.holdSlot(this.#queued!);
    this.#queued = undefined;
    this.#forward(attempt);
  }

  /**
   * No connection came free (queue full, or queueTimeout passed). Nothing was
   * sent, so nothing is recorded against the backend: a candidate's request
   * goes to legacy when the route falls back, as when shedding; else 503.
   */
  refused(reason: 'full' | 'timeout'): void {
    this.#queued = undefined;
    // The wait is latency the adaptive concurrency limit sees, not as a success.
    this.attemptOver(REFUSED);
    this.refusedBefore(reason === 'full' ? 'queue-full' : 'queue-timeout');
  }

  /** The client drained what was held: let the upstream answer flow again. */
  resumeUpstream(): void {
    this.#controller?.resume();
  }

  #forward(attempt: Attempt): void {
    const request = this.request as ProxyRequest;
    const route = request.route;
    const instance = attempt.instance;
    if (request.hostAt !== -1) request.headers[request.hostAt] = instance.host;
    // The stream went with the first attempt; a resend sends the copy (resendable() saw it whole).
    if (this.attempts > 0 && this.#copy !== undefined) this.#body = this.#copy.whole() ?? null;
    attempt.sent();
    this.attempts++;
    this.#controller = null;
    this.#timedOut = false;
    this.#head = undefined;
    this.#held = false;
    this.#discard = undefined;
    this.#retryAfter = undefined;
    this.status = 0;
    this.grpcStatus = NO_GRPC_STATUS;
    if (this.attempts > 1) route.guards.retried();
    const timeout =
      request.deadline?.bound(route.config.timeout, request.headers) ?? route.config.timeout;
    const precise = timeout < PRECISE_TIMEOUT_BELOW_MS;
    if (precise) attempt.arm(onHeadersTimeout, timeout, this);
    instance.pool.dispatch(
      {
        path: instance.basePath + request.target,
        method: request.req.method as 'GET',
        headers: request.headers,
        body: this.#body,
        headersTimeout: precise ? 0 : timeout,
        // A call with a deadline is bounded by it, not by silences between its messages.
        bodyTimeout: request.deadline === undefined ? route.config.idleTimeout : 0,
        idempotent: false,
        blocking: false,
      },
      this,
    );
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.#controller = controller;
    if (this.clientGone) controller.abort(new ClientGoneError());
    else if (this.#timedOut) controller.abort(new AttemptTimeoutError('headers'));
  }

  /** The route's timeout passed with no response headers (precise timer). */
  headersTimedOut(): void {
    if (this.#controller) this.#controller.abort(new AttemptTimeoutError('headers'));
    else this.#timedOut = true;
  }

  onResponseStart(
    _controller: Dispatcher.DispatchController,
    statusCode: number,
    headers: Record<string, string | string[] | undefined>,
  ): void {
    if (statusCode < 200) {
      // Interim: the final answer (and the route timeout, which waits for it) is still to come.
      if (!this.clientGone && this.#discard === undefined) {
        forwardInformational(this.request.res, statusCode, headers);
      }
      return;
    }
    this.attempt!.disarm();
    if (this.clientGone) return;
    this.status = statusCode;
    this.#head = headers;
    const outcome = classifyOutcome(statusCode, undefined, headers, undefined, this.#grpc);
    if (outcome.kind === 'failure') {
      // This attempt is over as far as the budget goes; its own slot must not block its retry.
      this.#endRetry();
      const next = this.decide(outcome);
      if (next !== 'give-up') {
        // Drain this answer (keeps the connection) and try again when it ends.
        this.#discard = outcome;
        this.#afterDiscard = next;
        this.#retryAfter =
          statusCode === 503
            ? retryAfterMs(
                headers['retry-after'],
                Date.now(),
                this.request.route.config.retry?.maxBackoff ?? 0,
              )
            : undefined;
        return;
      }
    }
    if (this.#grpc !== undefined && headers['grpc-status'] === undefined && this.#mayResend()) {
      // The status comes in the trailers: hold the head until a message or the end.
      this.#held = true;
      return;
    }
    this.#sendHead(statusCode, headers);
  }

  /**
   * Whether a gRPC failure of this attempt could still be retried or fall
   * back: its body is kept (it may yet end whole), and the route would
   * recover from a retryable gRPC failure here (the budget is asked later).
   */
  #mayResend(): boolean {
    const copy = this.#copy;
    if (copy !== undefined ? !copy.kept : !this.resendable()) return false;
    const route = this.request.route;
    return (
      decideRecovery(GRPC_RETRYABLE_FAILURE, this.side, this.attempts, route.config, true) !==
      'give-up'
    );
  }

  /** The answer's head goes to the client: from here on nothing is resent. */
  #sendHead(statusCode: number, headers: ResponseFields): void {
    if (this.#shadow !== undefined) this.#shadow.legacyStart(statusCode, headers);
    const out = clientResponseHeaders(headers);
    this.markAnswer(out);
    const res = this.request.res;
    if (headers['grpc-status'] !== undefined) {
      // A trailers-only gRPC answer: its head must end the stream (HEADERS
      // with END_STREAM), which the HTTP/2 compat API does only for headers
      // set but not yet written when end() comes; writeHead would leave it open.
      res.statusCode = statusCode;
      for (const name in out) res.setHeader(name, out[name]!);
    } else res.writeHead(statusCode, out);
  }

  /** The body copy outgrew its limit: nothing will be resent, so a held head need wait no longer. */
  bodyCopyDropped(): void {
    if (this.#held && !this.done) {
      this.#held = false;
      this.#sendHead(this.status, this.#head!);
    }
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.#discard !== undefined) return;
    if (this.#held) {
      // A message reaches the client: the call can no longer be resent.
      this.#held = false;
      this.#sendHead(this.status, this.#head!);
    }
    if (this.#shadow !== undefined) this.#shadow.legacyData(chunk);
    this.bytesOut += chunk.length;
    const res = this.request.res;
    if (res.write(chunk)) return;
    // The client is slower than the upstream: hold the answer in memory up to
    // the response buffer, and pause the upstream only past it.
    this.#slow ??= new SlowClient(res, this.hooks.buffering, this);
    if (!this.#slow.hold(chunk.length)) controller.pause();
  }

  onResponseEnd(
    _controller: Dispatcher.DispatchController,
    trailers: Record<string, string | string[] | undefined>,
  ): void {
    const grpc = this.#grpc;
    if (grpc !== undefined) this.grpcStatus = finalGrpcStatus(this.status, this.#head, trailers);
    const discarded = this.#discard;
    if (discarded !== undefined) {
      this.attemptOver(discarded);
      this.act(this.#afterDiscard as 'fallback' | 'retry', discarded.cause!);
      return;
    }
    const outcome = classifyOutcome(this.status, undefined, this.#head, trailers, grpc);
    if (this.#held) {
      this.#held = false;
      // The call failed before any message reached the client: it may go again.
      if (outcome.kind === 'failure') {
        this.#endRetry();
        const next = this.decide(outcome);
        if (next !== 'give-up') {
          this.attemptOver(outcome);
          this.act(next, outcome.cause!);
          return;
        }
      }
      this.#sendHead(this.status, this.#head!);
    }
    const res = this.request.res;
    const passOn = clientTrailers(trailers);
    if (passOn !== undefined) res.addTrailers(passOn);
    res.end();
    if (this.#shadow !== undefined) this.#shadow.legacyEnd(true, trailers);
    this.attemptOver(outcome);
    this.finish(undefined);
  }

  onResponseError(_controller: Dispatcher.DispatchController, error: Error): void {
    this.attempt!.disarm();
    // A held head never reached the client: the attempt broke before its answer did.
    this.#held = false;
    if (this.clientGone || error instanceof ClientGoneError) {
      // A cancel says nothing about the backend: no breaker or outlier record.
      this.status = CLIENT_CLOSED;
      this.attemptOver(CLIENT_GONE);
      this.finish(undefined);
      return;
    }
    if (this.request.res.headersSent) {
      // Part of the answer is already with the client: the only honest signal left is a cut connection.
      // The backend is blamed unless the client's own body failed (too slow, too large).
      this.attemptOver(
        classifyOutcome(
          this.status,
          this.#bodyError === undefined ? 'reset' : 'client-error',
          this.#head,
          undefined,
        ),
      );
      this.request.res.destroy(error);
      this.finish(error);
      return;
    }
    if (this.#bodyError !== undefined) {
      // The client's fault (too large, too slow), recorded with its own status.
      this.status = this.#bodyError.status;
      this.attemptOver(classifyOutcome(this.status, 'client-error', undefined, undefined));
      this.fail(this.#bodyError);
      return;
    }
    this.attemptBroke(error);
  }

  /**
   * Safe to send again: a method the route lists (or an Idempotency-Key) and
   * a body kept for that (a body buffered only against slow uploads, over
   * fallback.maxBodyBytes, is not; a streamed one only when its copy ended
   * within that limit before now).
   */
  protected override resendable(): boolean {
    const body = this.#body;
    const { route, req } = this.request;
    if (this.#copy !== undefined) {
      if (this.#copy.whole() === undefined) return false;
    } else if (
      body !== null &&
      !(Buffer.isBuffer(body) && body.length <= keepBodyUpTo(route, req))
    ) {
      return false;
    }
    return isResendable(route, req);
  }

  protected override mayRetry(): boolean {
    return this.request.route.guards.canRetry();
  }

  protected override retryLater(): void {
    const retry = this.request.route.config.retry!;
    const delay = this.#retryAfter ?? backoffDelay(this.attempts, retry.backoff, retry.maxBackoff);
    // The retry counts against the budget from now until its attempt ends.
    this.request.route.guards.retryStarted();
    this.#retryActive = true;
    this.#controller = null;
    setTimeout(onRetryDue, delay, this);
  }

  /** A retry's backoff has passed. */
  retryDue(): void {
    if (this.done) return;
    this.dispatch();
  }

  protected override attemptOver(outcome: Outcome): void {
    super.attemptOver(outcome);
    this.#endRetry();
  }

  #endRetry(): void {
    if (this.#retryActive) {
      this.#retryActive = false;
      this.request.route.guards.retryFinished();
    }
  }

  /** The client's streamed body failed (over maxBodyBytes, or too slow); the stream feeding undici throws next. */
  requestBodyFailed(error: BodyTooLargeError | ClientTimeoutError): void {
    this.#bodyError = error;
  }

  protected override closed(): void {
    this.attempt?.disarm();
    this.#endRetry();
    this.#copy?.release();
    if (this.#shadow !== undefined) this.#shadow.legacyEnd(false);
    this.request.res.off('close', onResponseClose);
  }
}
