// One proxied request as an undici dispatch handler: each lifecycle step is a
// method, per-request state lives in private fields assigned in the
// constructor (stable shape), and bodies stream both ways with backpressure.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Dispatcher } from 'undici';
import {
  BadRequestError,
  BodyTooLargeError,
  type CutoverError,
  UpstreamConnectError,
  UpstreamResetError,
  UpstreamTimeoutError,
} from '../errors.ts';
import { problemFromError, sendProblem } from '../problem.ts';
import type { Logger, ProxySpan, RouteSideMetrics } from '../telemetry/index.ts';
import { endProxySpan } from '../telemetry/index.ts';
import type { Backend } from './backends.ts';
import { clientResponseHeaders } from './headers.ts';
import type { Side } from './split.ts';
import type { CompiledRoute } from './table.ts';

/** Status logged when the client went away before the answer (NGINX's convention). */
const CLIENT_CLOSED = 499;

class ClientGoneError extends Error {
  constructor() {
    super('client closed the connection');
    this.name = 'ClientGoneError';
  }
}

/** What the exchange reports when it is over, for logs and metrics. */
export interface ExchangeHooks {
  readonly accessLog: Logger | undefined;
  finished(): void;
}

export class ProxyExchange implements Dispatcher.DispatchHandler {
  readonly #req: IncomingMessage;
  readonly #res: ServerResponse;
  readonly #route: CompiledRoute;
  readonly #side: Side;
  readonly #backend: Backend;
  readonly #metrics: RouteSideMetrics;
  readonly #hooks: ExchangeHooks;
  readonly #requestId: string;
  readonly #start: number;
  readonly #span: ProxySpan | undefined;
  readonly #maxBody: number;
  #controller: Dispatcher.DispatchController | null;
  #status: number;
  #bytesOut: number;
  #bytesIn: number;
  #done: boolean;
  #clientGone: boolean;
  #tooLarge: boolean;
  readonly #onClientClose: () => void;
  readonly #onDrain: () => void;

  constructor(
    req: IncomingMessage,
    res: ServerResponse,
    route: CompiledRoute,
    side: Side,
    requestId: string,
    span: ProxySpan | undefined,
    hooks: ExchangeHooks,
  ) {
    this.#req = req;
    this.#res = res;
    this.#route = route;
    this.#side = side;
    this.#backend = side === 'candidate' ? route.candidate! : route.legacy;
    this.#metrics = side === 'candidate' ? route.candidateMetrics! : route.legacyMetrics;
    this.#hooks = hooks;
    this.#requestId = requestId;
    this.#start = performance.now();
    this.#span = span;
    this.#maxBody = route.config.maxBodyBytes;
    this.#controller = null;
    this.#status = 0;
    this.#bytesOut = 0;
    this.#bytesIn = 0;
    this.#done = false;
    this.#clientGone = false;
    this.#tooLarge = false;
    this.#onClientClose = () => {
      if (this.#done) return;
      this.#clientGone = true;
      this.#controller?.abort(new ClientGoneError());
    };
    this.#onDrain = () => this.#controller?.resume();
    res.on('close', this.#onClientClose);
  }

  /**
   * The request body for a request without Content-Length, counted as it
   * streams: past the route's limit the upstream request is aborted and the
   * client gets 413 (when no answer has started yet).
   */
  async *countedBody(): AsyncGenerator<Buffer> {
    for await (const chunk of this.#req) {
      this.#bytesIn += (chunk as Buffer).length;
      if (this.#bytesIn > this.#maxBody) {
        this.#tooLarge = true;
        throw new BodyTooLargeError(this.#maxBody);
      }
      yield chunk as Buffer;
    }
  }

  get backend(): Backend {
    return this.#backend;
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.#controller = controller;
    if (this.#clientGone) controller.abort(new ClientGoneError());
  }

  onResponseStart(
    controller: Dispatcher.DispatchController,
    statusCode: number,
    headers: Record<string, string | string[] | undefined>,
  ): void {
    if (this.#clientGone) return;
    this.#status = statusCode;
    const out = clientResponseHeaders(headers);
    if (this.#route.config.backendHeader) out['x-cutover-backend'] = this.#side;
    out['x-request-id'] = this.#requestId;
    this.#res.writeHead(statusCode, out);
    void controller;
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    this.#bytesOut += chunk.length;
    if (!this.#res.write(chunk)) {
      controller.pause();
      this.#res.once('drain', this.#onDrain);
    }
  }

  onResponseEnd(): void {
    this.#res.end();
    this.#finish(undefined);
  }

  onResponseError(_controller: Dispatcher.DispatchController, error: Error): void {
    if (this.#clientGone || error instanceof ClientGoneError) {
      this.#status = CLIENT_CLOSED;
      this.#finish(undefined);
      return;
    }
    if (this.#res.headersSent) {
      // Part of the answer is already with the client: the only honest signal left is a cut connection.
      this.#res.destroy(error);
      this.#finish(error);
      return;
    }
    const failure = this.#tooLarge ? new BodyTooLargeError(this.#maxBody) : this.#classify(error);
    this.#status = failure.status;
    const headers: Record<string, string> = { 'x-request-id': this.#requestId };
    if (this.#route.config.backendHeader) headers['x-cutover-backend'] = this.#side;
    if (this.#tooLarge) headers.connection = 'close';
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

  /** undici's error codes → what the client is told (502 unreachable/reset, 504 timeout). */
  #classify(error: Error): CutoverError {
    const code = (error as { code?: string }).code;
    const route = this.#route.name;
    const backend = this.#backend.name;
    switch (code) {
      case 'UND_ERR_CONNECT_TIMEOUT':
        return new UpstreamTimeoutError(route, backend, 'connect', { cause: error });
      case 'UND_ERR_HEADERS_TIMEOUT':
        return new UpstreamTimeoutError(route, backend, 'waiting for response headers', {
          cause: error,
        });
      case 'UND_ERR_BODY_TIMEOUT':
        return new UpstreamTimeoutError(route, backend, 'idle response body', { cause: error });
      case 'UND_ERR_REQ_CONTENT_LENGTH_MISMATCH':
        return new BadRequestError('request body length does not match Content-Length');
      case 'ECONNREFUSED':
      case 'ENOTFOUND':
      case 'EHOSTUNREACH':
      case 'ENETUNREACH':
      case 'EAI_AGAIN':
        return new UpstreamConnectError(route, backend, { cause: error });
      default:
        return new UpstreamResetError(route, backend, { cause: error });
    }
  }

  #finish(error: Error | undefined): void {
    if (this.#done) return;
    this.#done = true;
    this.#res.off('close', this.#onClientClose);
    const seconds = (performance.now() - this.#start) / 1000;
    this.#metrics.observe(this.#status, seconds);
    const log = this.#hooks.accessLog;
    if (log) {
      log.info({
        reqId: this.#requestId,
        route: this.#route.name,
        side: this.#side,
        backend: this.#backend.name,
        method: this.#req.method,
        path: this.#req.url,
        status: this.#status,
        ms: Math.round(seconds * 1e4) / 10,
        bytes: this.#bytesOut,
        err: error?.message,
      });
    }
    if (this.#span) endProxySpan(this.#span, this.#status, this.#side, error);
    this.#hooks.finished();
  }
}
