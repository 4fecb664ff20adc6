// One client request as an undici dispatch handler. It may make several
// attempts before the first response byte reaches the client: a failed
// candidate attempt falls back to legacy, a failed attempt may be retried.
// Each lifecycle step is a method; per-request state lives in private fields
// assigned in the constructor (stable shape); bodies stream both ways.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';
import type { Dispatcher } from 'undici';
import type { FallbackReason } from '../config/index.ts';
import {
  BackendBusyError,
  type BodyTooLargeError,
  BreakerOpenError,
  type ClientTimeoutError,
  type CutoverError,
  ForwardRefusedError,
  OverloadedError,
} from '../errors.ts';
import type { CircuitBreaker, ConcurrencyLimiter } from '../guard/index.ts';
import { backoffDelay, retryAfterMs } from '../guard/index.ts';
import { problemFromError, sendProblem } from '../problem.ts';
import type { AccessLog, ProxySpan, RouteSideMetrics } from '../telemetry/index.ts';
import { endProxySpan } from '../telemetry/index.ts';
import {
  AttemptTimeoutError,
  CLIENT_CLOSED,
  ClientGoneError,
  classifyAttemptError,
} from './attempt-errors.ts';
import type { Backend, BackendInstance } from './backends.ts';
import { isResendable, keepBodyUpTo } from './body.ts';
import { clientResponseHeaders } from './headers.ts';
import { forwardInformational } from './informational.ts';
import { type ResponseBuffering, SlowClient, type UpstreamValve } from './response-buffer.ts';
import type { ShadowCopy } from './shadow.ts';
import type { Side } from './split.ts';
import type { CompiledRoute } from './table.ts';
import type { QueuedAttempt, UpstreamQueue } from './upstream-queue.ts';

const EXCHANGE = Symbol('cutover.exchange');
type ExchangeResponse = ServerResponse & { [EXCHANGE]?: ProxyExchange };

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

/** Why an attempt failed, in the words of `fallback.on`, or undefined for other failures. */
type FailureKind = FallbackReason | undefined;

/** What the exchange needs from the gateway. */
export interface ExchangeHooks {
  readonly accessLog: AccessLog | undefined;
  readonly buffering: ResponseBuffering;
  finished(): void;
  /** A failure the gateway caused itself (counted apart from every backend's figures). */
  answeredItself(status: number): void;
}

export class ProxyExchange implements Dispatcher.DispatchHandler, QueuedAttempt, UpstreamValve {
  readonly #req: IncomingMessage;
  readonly #res: ServerResponse;
  readonly #route: CompiledRoute;
  readonly #hooks: ExchangeHooks;
  readonly #requestId: string;
  readonly #start: number;
  readonly #span: ProxySpan | undefined;
  /** The normalised path and original query (src/gateway/request-target.ts): forwarded and logged. */
  readonly #target: string;
  readonly #headers: string[];
  /** Index in #headers of the Host value, rewritten per instance; -1 with preserveHost. */
  readonly #hostAt: number;
  /** The request body: null (none), a Buffer (kept, can be resent) or a stream (sent once). */
  readonly #body: Buffer | Readable | null;
  /** The candidate copy of this request, fed with legacy's answer as it streams. */
  readonly #shadow: ShadowCopy | undefined;
  #side: Side;
  #backend: Backend;
  #instance: BackendInstance | undefined;
  #metrics: RouteSideMetrics;
  #breaker: CircuitBreaker | undefined;
  #cap: ConcurrencyLimiter | undefined;
  #attemptStart: number;
  #attempts: number;
  #fallback: string | undefined;
  #controller: Dispatcher.DispatchController | null;
  #status: number;
  #bytesOut: number;
  #done: boolean;
  #clientGone: boolean;
  /** The client's request body failed while streaming (too large, too slow): answered as the client's fault. */
  #bodyError: BodyTooLargeError | ClientTimeoutError | undefined;
  /** The instance connection this attempt holds, released when the attempt ends. */
  #slot: UpstreamQueue | undefined;
  /** The instance queue this attempt waits in for a connection. */
  #queued: UpstreamQueue | undefined;
  /** Created when the client first falls behind the upstream. */
  #slow: SlowClient | undefined;
  /** A failed attempt's response being drained before the next attempt. */
  #discard: FailureKind | 'retry';
  #retryAfter: number | undefined;
  #retryActive: boolean;
  #headersTimer: NodeJS.Timeout | undefined;
  #timedOut: boolean;

  constructor(
    req: IncomingMessage,
    res: ServerResponse,
    route: CompiledRoute,
    side: Side,
    requestId: string,
    span: ProxySpan | undefined,
    hooks: ExchangeHooks,
    target: string,
    headers: string[],
    hostAt: number,
    body: Buffer | Readable | null,
    shadow: ShadowCopy | undefined,
  ) {
    this.#req = req;
    this.#res = res;
    this.#route = route;
    this.#hooks = hooks;
    this.#requestId = requestId;
    this.#start = performance.now();
    this.#span = span;
    this.#target = target;
    this.#headers = headers;
    this.#hostAt = hostAt;
    this.#body = body;
    this.#shadow = shadow;
    this.#side = side;
    this.#backend = side === 'candidate' ? route.candidate! : route.legacy;
    this.#instance = undefined;
    this.#metrics = side === 'candidate' ? route.candidateMetrics! : route.legacyMetrics;
    this.#breaker = undefined;
    this.#cap = undefined;
    this.#attemptStart = 0;
    this.#attempts = 0;
    this.#fallback = undefined;
    this.#controller = null;
    this.#status = 0;
    this.#bytesOut = 0;
    this.#done = false;
    this.#clientGone = false;
    this.#bodyError = undefined;
    this.#slot = undefined;
    this.#queued = undefined;
    this.#slow = undefined;
    this.#discard = undefined;
    this.#retryAfter = undefined;
    this.#retryActive = false;
    this.#headersTimer = undefined;
    this.#timedOut = false;
    (res as ExchangeResponse)[EXCHANGE] = this;
    res.on('close', onResponseClose);
  }

  /** The client connection closed; before the answer was complete, that cancels the upstream request. */
  clientClosed(): void {
    if (this.#done) return;
    this.#clientGone = true;
    if (this.#queued !== undefined) {
      this.#queued.leave(this);
      this.#queued = undefined;
      this.#status = CLIENT_CLOSED;
      this.#attemptOver(undefined);
      this.#finish(undefined);
      return;
    }
    this.#controller?.abort(new ClientGoneError());
    if (this.#controller === null && this.#attempts > 0) this.#finish(undefined);
  }

  /** Send the first attempt to the side the split chose (legacy when its breaker is open). */
  start(): void {
    const breaker = this.#side === 'candidate' ? this.#route.candidateBreaker : undefined;
    if (breaker && !breaker.tryAcquire()) {
      if (!this.#route.config.fallback) {
        this.#fail(new BreakerOpenError(this.#route.name, this.#backend.name));
        return;
      }
      // Nothing reached the candidate, so any method may go to legacy.
      this.#switchToLegacy('breaker-open');
    }
    this.#dispatch();
  }

  #switchToLegacy(reason: string): void {
    this.#fallback = reason;
    this.#side = 'legacy';
    this.#backend = this.#route.legacy;
    this.#metrics = this.#route.legacyMetrics;
    this.#route.guards.fallback(reason);
  }

  #dispatch(): void {
    if (this.#clientGone) {
      this.#finish(undefined);
      return;
    }
    const breaker =
      this.#side === 'candidate' ? this.#route.candidateBreaker : this.#route.legacyBreaker;
    if (breaker && !(this.#attempts === 0 && this.#side === 'candidate') && !breaker.tryAcquire()) {
      this.#fail(new BreakerOpenError(this.#route.name, this.#backend.name));
      return;
    }
    const cap = this.#backend.concurrency;
    if (cap && !cap.tryAcquire()) {
      // Nothing was sent: no breaker record (a permit it handed out is released
      // by the breaker itself); go to legacy or answer 503.
      this.#route.guards.shed();
      if (this.#side === 'candidate' && this.#route.config.fallback) {
        this.#switchToLegacy('shed');
        this.#dispatch();
      } else this.#fail(new OverloadedError(this.#route.name, cap.limit));
      return;
    }
    this.#cap = cap;
    this.#breaker = breaker;
    const instance = this.#backend.pick();
    this.#instance = instance;
    // Until #send, this times the wait for a connection (refused() reports it).
    this.#attemptStart = performance.now();
    const queue = instance.queue;
    if (queue.tryTake()) {
      this.#slot = queue;
      this.#send(instance);
    } else {
      this.#queued = queue;
      queue.wait(this);
    }
  }

  /** A connection of the instance came free for this queued attempt. */
  admitted(): void {
    this.#slot = this.#queued;
    this.#queued = undefined;
    this.#send(this.#instance!);
  }

  /**
   * No connection came free (queue full, or queueTimeout passed). Nothing was
   * sent, so nothing is recorded against the backend: a candidate's request
   * goes to legacy when the route falls back, as when shedding; else 503.
   */
  refused(reason: 'full' | 'timeout'): void {
    this.#queued = undefined;
    // The wait is latency the adaptive concurrency limit should see; not a success.
    this.#cap?.release(performance.now() - this.#attemptStart, false);
    this.#cap = undefined;
    this.#breaker = undefined;
    if (this.#side === 'candidate' && this.#route.config.fallback) {
      this.#switchToLegacy(reason === 'full' ? 'queue-full' : 'queue-timeout');
      this.#dispatch();
    } else this.#fail(new BackendBusyError(this.#route.name, this.#backend.name, reason));
  }

  /** The client drained what was held: let the upstream answer flow again. */
  resumeUpstream(): void {
    this.#controller?.resume();
  }

  #send(instance: BackendInstance): void {
    if (this.#hostAt !== -1) this.#headers[this.#hostAt] = instance.host;
    // The attempt's latency (breaker slow calls, per-side stats) starts now: time
    // spent queued for a connection is bounded by queueTimeout and is not the backend's.
    this.#attemptStart = performance.now();
    this.#attempts++;
    this.#controller = null;
    this.#timedOut = false;
    this.#status = 0;
    this.#discard = undefined;
    this.#retryAfter = undefined;
    const body = this.#body;
    if (this.#attempts > 1) this.#route.guards.retried();
    const timeout = this.#route.config.timeout;
    const precise = timeout < PRECISE_TIMEOUT_BELOW_MS;
    if (precise) this.#headersTimer = setTimeout(onHeadersTimeout, timeout, this);
    instance.pool.dispatch(
      {
        path: instance.basePath + this.#target,
        method: this.#req.method as 'GET',
        headers: this.#headers,
        body,
        headersTimeout: precise ? 0 : timeout,
        bodyTimeout: this.#route.config.idleTimeout,
        idempotent: false,
        blocking: false,
      },
      this,
    );
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.#controller = controller;
    if (this.#clientGone) controller.abort(new ClientGoneError());
    else if (this.#timedOut) controller.abort(new AttemptTimeoutError('headers'));
  }

  /** The route's timeout passed with no response headers (precise timer); also while queued for a connection. */
  headersTimedOut(): void {
    this.#headersTimer = undefined;
    if (this.#controller) this.#controller.abort(new AttemptTimeoutError('headers'));
    else this.#timedOut = true;
  }

  #clearHeadersTimer(): void {
    if (this.#headersTimer !== undefined) {
      clearTimeout(this.#headersTimer);
      this.#headersTimer = undefined;
    }
  }

  onResponseStart(
    _controller: Dispatcher.DispatchController,
    statusCode: number,
    headers: Record<string, string | string[] | undefined>,
  ): void {
    if (statusCode < 200) {
      // Interim: the final answer (and the route timeout, which waits for it) is still to come.
      if (!this.#clientGone && this.#discard === undefined) {
        forwardInformational(this.#res, statusCode, headers);
      }
      return;
    }
    this.#clearHeadersTimer();
    if (this.#clientGone) return;
    this.#status = statusCode;
    if (statusCode >= 500) {
      // This attempt is over as far as the budget goes; its own slot must not block its retry.
      this.#endRetry();
      const next = this.#recovery(
        statusCode === 502 || statusCode === 503 || statusCode === 504 ? 'retryable-5xx' : '5xx',
      );
      if (next !== undefined) {
        // Drain this answer (keeps the connection) and try again when it ends.
        this.#discard = next;
        this.#retryAfter =
          statusCode === 503
            ? retryAfterMs(
                headers['retry-after'],
                Date.now(),
                this.#route.config.retry?.maxBackoff ?? 0,
              )
            : undefined;
        return;
      }
    }
    if (this.#shadow !== undefined) this.#shadow.legacyStart(statusCode, headers);
    const out = clientResponseHeaders(headers);
    if (this.#route.config.backendHeader) out['x-cutover-backend'] = this.#side;
    if (this.#fallback !== undefined) out['x-cutover-fallback'] = this.#fallback;
    out['x-request-id'] = this.#requestId;
    this.#res.writeHead(statusCode, out);
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.#discard !== undefined) return;
    if (this.#shadow !== undefined) this.#shadow.legacyData(chunk);
    this.#bytesOut += chunk.length;
    if (this.#res.write(chunk)) return;
    // The client is slower than the upstream: hold the answer in memory up to
    // the response buffer, and pause the upstream only past it.
    this.#slow ??= new SlowClient(this.#res, this.#hooks.buffering, this);
    if (!this.#slow.hold(chunk.length)) controller.pause();
  }

  onResponseEnd(): void {
    if (this.#discard !== undefined) {
      this.#attemptOver(false);
      this.#recover(this.#discard);
      return;
    }
    this.#res.end();
    if (this.#shadow !== undefined) this.#shadow.legacyEnd(true);
    this.#attemptOver(this.#status < 500);
    this.#finish(undefined);
  }

  onResponseError(_controller: Dispatcher.DispatchController, error: Error): void {
    this.#clearHeadersTimer();
    if (this.#clientGone || error instanceof ClientGoneError) {
      // A cancel says nothing about the backend: no breaker or outlier record.
      this.#status = CLIENT_CLOSED;
      this.#attemptOver(undefined);
      this.#finish(undefined);
      return;
    }
    if (this.#res.headersSent) {
      // Part of the answer is already with the client: the only honest signal left is a cut connection.
      // The backend is blamed unless the client's own body failed (too slow, too large).
      this.#attemptOver(this.#bodyError === undefined ? false : undefined);
      this.#res.destroy(error);
      this.#finish(error);
      return;
    }
    if (this.#bodyError !== undefined) {
      // The client's fault (too large, too slow): recorded as its own status
      // (a status of 0 would count as a backend 5xx).
      this.#status = this.#bodyError.status;
      this.#attemptOver(undefined);
      this.#fail(this.#bodyError);
      return;
    }
    const [failure, kind] = classifyAttemptError(error, this.#route.name, this.#backend.name);
    this.#status = failure.status;
    // A request body shorter than its Content-Length is the client's fault, and
    // a request the HTTP client refused never left the gateway: neither is the backend's.
    this.#attemptOver(
      failure.status < 500 || failure instanceof ForwardRefusedError ? undefined : false,
    );
    const next = kind === undefined ? undefined : this.#recovery(kind);
    if (next !== undefined) {
      this.#recover(next);
      return;
    }
    this.#fail(failure);
  }

  /** How to go on after a failed attempt: fall back (with the reason), retry, or undefined to give up. */
  #recovery(kind: FallbackReason | 'retryable-5xx'): FailureKind | 'retry' | undefined {
    const resendable = this.#resendable();
    const reason: FallbackReason = kind === 'retryable-5xx' ? '5xx' : kind;
    const fb = this.#route.config.fallback;
    if (this.#side === 'candidate' && fb && fb.on.has(reason) && resendable) {
      return reason;
    }
    const retry = this.#route.config.retry;
    if (
      retry &&
      resendable &&
      kind !== '5xx' &&
      this.#attempts < retry.attempts &&
      this.#route.guards.canRetry()
    ) {
      return 'retry';
    }
    return undefined;
  }

  /**
   * Safe to send again: a method the route lists (or an Idempotency-Key) and
   * a body kept for that (a body buffered only against slow uploads, over
   * fallback.maxBodyBytes, is not).
   */
  #resendable(): boolean {
    const body = this.#body;
    if (
      body !== null &&
      !(Buffer.isBuffer(body) && body.length <= keepBodyUpTo(this.#route, this.#req))
    )
      return false;
    return isResendable(this.#route, this.#req);
  }

  #recover(next: FailureKind | 'retry'): void {
    if (next === 'retry') {
      const retry = this.#route.config.retry!;
      const delay =
        this.#retryAfter ?? backoffDelay(this.#attempts, retry.backoff, retry.maxBackoff);
      // The retry counts against the budget from now until its attempt ends.
      this.#route.guards.retryStarted();
      this.#retryActive = true;
      this.#controller = null;
      setTimeout(() => this.#dispatch(), delay);
      return;
    }
    this.#switchToLegacy(next!);
    this.#dispatch();
  }

  /**
   * Account for the attempt that just ended: breaker, outlier ejection,
   * per-side metrics. `ok` undefined: the outcome says nothing about the
   * backend (client cancelled, client's bad body) and is not recorded.
   */
  #attemptOver(ok: boolean | undefined): void {
    const ms = performance.now() - this.#attemptStart;
    if (ok !== undefined) {
      this.#breaker?.record(ok, ms);
      if (this.#instance) this.#backend.recordOutcome(this.#instance, ok);
    } else this.#breaker?.release();
    this.#breaker = undefined;
    if (this.#cap) {
      this.#cap.release(ms, ok !== false);
      this.#cap = undefined;
    }
    if (this.#slot) {
      this.#slot.release();
      this.#slot = undefined;
    }
    this.#endRetry();
    if (ok === undefined && this.#status >= 500) {
      // The gateway's own failure: kept out of the side figures the rollout gates read.
      this.#hooks.answeredItself(this.#status);
      return;
    }
    this.#metrics.observe(ok === false && this.#status < 500 ? 502 : this.#status, ms / 1000);
  }

  #endRetry(): void {
    if (this.#retryActive) {
      this.#retryActive = false;
      this.#route.guards.retryFinished();
    }
  }

  /** Answer with a problem: nothing of an upstream answer has been sent. */
  #fail(failure: CutoverError): void {
    this.#status = failure.status;
    const headers: Record<string, string> = { 'x-request-id': this.#requestId };
    if (this.#route.config.backendHeader) headers['x-cutover-backend'] = this.#side;
    if (this.#fallback !== undefined) headers['x-cutover-fallback'] = this.#fallback;
    // The rest of the client's body is unread: the connection cannot carry another request.
    if (failure === this.#bodyError) headers.connection = 'close';
    if (
      failure instanceof BreakerOpenError ||
      failure instanceof OverloadedError ||
      failure instanceof BackendBusyError
    ) {
      headers['retry-after'] = '1';
    }
    sendProblem(
      this.#res,
      problemFromError(failure, {
        route: this.#route.name,
        backend: this.#backend.name,
        requestId: this.#requestId,
      }),
      headers,
    );
    this.#finish(failure);
  }

  /** The client's streamed body failed (over maxBodyBytes, or too slow); the stream feeding undici throws next. */
  requestBodyFailed(error: BodyTooLargeError | ClientTimeoutError): void {
    this.#bodyError = error;
  }

  #finish(error: Error | undefined): void {
    if (this.#done) return;
    this.#done = true;
    this.#clearHeadersTimer();
    this.#endRetry();
    if (this.#shadow !== undefined) this.#shadow.legacyEnd(false);
    this.#res.off('close', onResponseClose);
    const seconds = (performance.now() - this.#start) / 1000;
    this.#route.guards.finished(seconds * 1000, this.#status < 500);
    const log = this.#hooks.accessLog;
    if (log) {
      log.write(
        this.#requestId,
        this.#side === 'candidate'
          ? this.#route.candidateLogFragment
          : this.#route.legacyLogFragment,
        this.#req.method!,
        this.#target,
        this.#status,
        Math.round(seconds * 1e4) / 10,
        this.#bytesOut,
        this.#attempts,
        this.#fallback,
        error?.message,
      );
    }
    if (this.#span) endProxySpan(this.#span, this.#status, this.#side, error);
    this.#hooks.finished();
  }
}
