// One client request as an undici dispatch handler: the request transport of
// the exchange pipeline (exchange.ts). It may make several attempts before
// the first response byte reaches the client: a failed candidate attempt
// falls back to legacy, a failed attempt may be retried. Each lifecycle step
// is a method; per-request state lives in fields assigned in the constructor
// (stable shape); bodies stream both ways.
import type { Readable } from 'node:stream';
import type { Dispatcher } from 'undici';
import type { BodyTooLargeError, ClientTimeoutError } from '../errors.ts';
import { backoffDelay, retryAfterMs } from '../guard/index.ts';
import type { Outcome, ResponseFields } from '../telemetry/index.ts';
import { CLIENT_GONE, classifyOutcome, REFUSED } from '../telemetry/index.ts';
import type { Attempt } from './attempt.ts';
import { AttemptTimeoutError, CLIENT_CLOSED, ClientGoneError } from './attempt-errors.ts';
import { isResendable, keepBodyUpTo } from './body.ts';
import { Exchange, type ExchangeHooks } from './exchange.ts';
import type { ProxyRequest } from './forward-request.ts';
import { clientResponseHeaders, clientTrailers } from './headers.ts';
import { forwardInformational } from './informational.ts';
import type { Recovery } from './recovery.ts';
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
  implements Dispatcher.DispatchHandler, QueuedAttempt, UpstreamValve
{
  readonly #body: Buffer | Readable | null;
  readonly #shadow: ShadowCopy | undefined;
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
    attempt.sent();
    this.attempts++;
    this.#controller = null;
    this.#timedOut = false;
    this.#head = undefined;
    this.#discard = undefined;
    this.#retryAfter = undefined;
    this.status = 0;
    if (this.attempts > 1) route.guards.retried();
    const timeout = route.config.timeout;
    const precise = timeout < PRECISE_TIMEOUT_BELOW_MS;
    if (precise) attempt.arm(onHeadersTimeout, timeout, this);
    instance.pool.dispatch(
      {
        path: instance.basePath + request.target,
        method: request.req.method as 'GET',
        headers: request.headers,
        body: this.#body,
        headersTimeout: precise ? 0 : timeout,
        bodyTimeout: route.config.idleTimeout,
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
    const outcome = classifyOutcome(statusCode, undefined, headers, undefined);
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

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.#discard !== undefined) return;
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
    const discarded = this.#discard;
    if (discarded !== undefined) {
      this.attemptOver(discarded);
      this.act(this.#afterDiscard as 'fallback' | 'retry', discarded.cause!);
      return;
    }
    const res = this.request.res;
    const passOn = clientTrailers(trailers);
    if (passOn !== undefined) res.addTrailers(passOn);
    res.end();
    if (this.#shadow !== undefined) this.#shadow.legacyEnd(true);
    this.attemptOver(classifyOutcome(this.status, undefined, this.#head, trailers));
    this.finish(undefined);
  }

  onResponseError(_controller: Dispatcher.DispatchController, error: Error): void {
    this.attempt!.disarm();
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
   * fallback.maxBodyBytes, is not).
   */
  protected override resendable(): boolean {
    const body = this.#body;
    const { route, req } = this.request;
    if (body !== null && !(Buffer.isBuffer(body) && body.length <= keepBodyUpTo(route, req))) {
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
    if (this.#shadow !== undefined) this.#shadow.legacyEnd(false);
    this.request.res.off('close', onResponseClose);
  }
}
