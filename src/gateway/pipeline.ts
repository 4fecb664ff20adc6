// The request pipeline over the route table: what every request and every
// upgrade goes through once a listener hands it over — target checks, the
// route, admission by the route's guards, the split, trace headers, the
// shadow decision, the body (read whole or streamed) and the dispatch to a
// ProxyExchange or an UpgradeExchange. It reads only the request/response
// pair, never a listener's server, so an HTTP/2 listener can feed it too.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Http2ServerRequest } from 'node:http2';
import type { Socket } from 'node:net';
import type { Readable } from 'node:stream';
import type { Config } from '../config/index.ts';
import {
  BodyTooLargeError,
  ClientSendTimeoutError,
  ClientTimeoutError,
  CutoverError,
  NoRouteError,
} from '../errors.ts';
import { problemFromError, sendProblem } from '../problem.ts';
import type { Logger, Metrics, ProxySpan } from '../telemetry/index.ts';
import { AccessLog, injectTraceHeaders, startProxySpan } from '../telemetry/index.ts';
import { keepBodyUpTo } from './body.ts';
import { BufferBudget } from './buffer-budget.ts';
import { isGrpc } from './grpc.ts';
import { isHttp2 } from './h2-server.ts';
import { upstreamRequestHeaders } from './headers.ts';
import type { InFlight } from './in-flight.ts';
import { takeBody } from './intake.ts';
import type { RequestHandler } from './listener.ts';
import { type ExchangeHooks, ProxyExchange } from './proxy.ts';
import { RequestIds } from './request-id.ts';
import { type RequestTarget, resolveRequestTarget } from './request-target.ts';
import type { ResponseBuffering } from './response-buffer.ts';
import { type RouteShadow, ShadowCopy } from './shadow.ts';
import { chooseSide, type Side, type SplitInput } from './split.ts';
import type { CompiledRoute, RouteTable } from './table.ts';
import { plainAddress, TrustedProxies } from './trusted-proxies.ts';
import { tunnelProtocol, upgradeResponse } from './tunnel.ts';
import { UpgradeExchange } from './upgrade.ts';

/** Where the Host value sits in a flat header list (names at even indexes). */
function hostValueIndex(headers: string[]): number {
  for (let i = headers.length - 2; i >= 0; i -= 2) if (headers[i] === 'host') return i + 1;
  return -1;
}

/** A client-supplied request id is kept when it is short and printable. */
const REQUEST_ID = /^[\x21-\x7e]{1,200}$/;

/** The target, or the 400 to answer: resolveRequestTarget throws only CutoverErrors. */
function targetOf(req: IncomingMessage, config: Config): RequestTarget | CutoverError {
  try {
    return resolveRequestTarget(req.url ?? '', req.rawHeaders, config.server.escapedSlashes);
  } catch (error) {
    if (error instanceof CutoverError) return error;
    throw error;
  }
}

/** A request or upgrade the gateway has decided to send (RequestPipeline.#admit). */
interface Admitted {
  readonly requestId: string;
  readonly target: RequestTarget;
  readonly route: CompiledRoute;
  readonly side: Side;
  /** The upstream header list; its Host value at `hostAt` (-1 with preserveHost). */
  readonly headers: string[];
  readonly hostAt: number;
  /** The protocol an upgrade switches to; undefined for a request. */
  readonly protocol: string | undefined;
}

export interface PipelineOptions {
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly inFlight: InFlight;
}

export class RequestPipeline implements RequestHandler {
  readonly #logger: Logger;
  readonly #metrics: Metrics;
  readonly #inFlight: InFlight;
  #table: RouteTable;
  #accessLog: AccessLog | undefined;
  #tracing: boolean;
  readonly #hooks: ExchangeHooks;
  #trustedProxies: TrustedProxies;
  /** Buffered body bytes of the whole process (server.bufferMemory). */
  readonly #budget: BufferBudget;
  #buffering: ResponseBuffering;
  readonly #ids = new RequestIds();

  constructor(table: RouteTable, options: PipelineOptions) {
    this.#logger = options.logger;
    this.#metrics = options.metrics;
    this.#inFlight = options.inFlight;
    this.#table = table;
    const config = table.config;
    this.#accessLog = this.#accessLogFor(config);
    this.#tracing = config.tracing.enabled;
    this.#trustedProxies = new TrustedProxies(config.server.trustedProxies);
    this.#budget = new BufferBudget(config.server.bufferMemory);
    this.#buffering = this.#responseBuffering(config);
    const pipeline = this;
    this.#hooks = {
      get accessLog() {
        return pipeline.#accessLog;
      },
      get buffering() {
        return pipeline.#buffering;
      },
      finished: () => this.#inFlight.requestFinished(),
      answeredItself: (status: number) => this.#metrics.unrouted(status),
    };
  }

  /** The table new requests are routed on. */
  get table(): RouteTable {
    return this.#table;
  }

  /** Route new requests on `table`; requests in flight finish on the one they started with. */
  reload(table: RouteTable): void {
    this.#table = table;
    const config = table.config;
    this.#accessLog = this.#accessLogFor(config);
    this.#tracing = config.tracing.enabled;
    this.#trustedProxies = new TrustedProxies(config.server.trustedProxies);
    this.#budget.limit = config.server.bufferMemory;
    this.#buffering = this.#responseBuffering(config);
  }

  #accessLogFor(config: Config): AccessLog | undefined {
    return config.log.access && this.#logger.isLevelEnabled('info')
      ? new AccessLog(this.#logger)
      : undefined;
  }

  #responseBuffering(config: Config): ResponseBuffering {
    const { responseBuffer, sendTimeout } = config.server;
    return {
      responseBuffer,
      sendTimeout,
      budget: this.#budget,
      sendTimedOut: (res) => {
        this.#metrics.clientTimeout('send');
        const e = new ClientSendTimeoutError(sendTimeout);
        this.#logger.info(
          { code: e.code, method: res.req.method, url: res.req.url },
          `${e.message}; connection closed`,
        );
      },
    };
  }

  #route(req: IncomingMessage, target: RequestTarget): CompiledRoute | undefined {
    return this.#table.router.find(req.method!, target.host, target.path, req.headers)?.route;
  }

  /**
   * What every request and every upgrade goes through before it is sent:
   * request id, target, route, (for a request) its announced body size, (for
   * an upgrade) a protocol its route tunnels, admission by the route's guards,
   * the split and the upstream header list. Undefined when it was answered here.
   */
  #admit(req: IncomingMessage, res: ServerResponse, upgrade: boolean): Admitted | undefined {
    const headerId = req.headers['x-request-id'];
    const requestId =
      typeof headerId === 'string' && REQUEST_ID.test(headerId) ? headerId : this.#ids.next();
    const target = targetOf(req, this.#table.config);
    if (target instanceof CutoverError) {
      // Two Hosts or a path that means another thing upstream is how smuggling
      // starts: nothing more is read from this connection (nginx closes after a 400 too).
      this.#refuse(res, target, requestId, true);
      return undefined;
    }
    const route = this.#route(req, target);
    // tunnels() said yes for an upgrade on this same table a moment ago; checked again for safety.
    const protocol = upgrade && route ? tunnelProtocol(req, route.config.upgrades) : undefined;
    if (!route || (upgrade && !protocol)) {
      this.#refuse(res, new NoRouteError(req.method ?? '', target.path), requestId);
      return undefined;
    }
    const cfg = route.config;
    const lengthHeader = req.headers['content-length'];
    if (lengthHeader !== undefined && Number(lengthHeader) > cfg.maxBodyBytes) {
      this.#refuse(res, new BodyTooLargeError(cfg.maxBodyBytes), requestId, true);
      return undefined;
    }
    const peerIp = plainAddress(req.socket.remoteAddress ?? '');
    const input: SplitInput = {
      headers: req.headers,
      query: target.query,
      ip: this.#trustedProxies.clientIp(peerIp, req.headers['x-forwarded-for']),
    };
    if (!route.guards.admit(input, res, requestId)) {
      this.#metrics.unrouted(res.statusCode);
      this.#logAnswered(req, requestId, route.name, res.statusCode, undefined);
      return undefined;
    }
    const side = chooseSide(
      route.split,
      route.candidate !== undefined,
      route.weight.candidateBuckets,
      input,
    );
    const headers = upstreamRequestHeaders(req.rawHeaders, {
      peerIp,
      clientIp: input.ip,
      trustedPeer: this.#trustedProxies.trusts(peerIp),
      proto: (req.socket as { encrypted?: boolean }).encrypted ? 'https' : 'http',
      requestId,
      upstreamHost: cfg.preserveHost ? undefined : '',
    });
    const hostAt = cfg.preserveHost ? -1 : hostValueIndex(headers);
    return { requestId, target, route, side, headers, hostAt, protocol };
  }

  request(req: IncomingMessage, res: ServerResponse, expectsContinue: boolean): void {
    const admitted = this.#admit(req, res, false);
    if (!admitted) return;
    const { requestId, route, side, headers } = admitted;
    const lengthHeader = req.headers['content-length'];
    const h2 = isHttp2(req);
    // An HTTP/2 request has a body unless its HEADERS ended the stream; its
    // length is known only from content-length (RFC 9113 §8.1.1).
    const chunked = h2
      ? lengthHeader === undefined && !(req as unknown as Http2ServerRequest).stream.endAfterHeaders
      : req.headers['transfer-encoding'] !== undefined;
    let span: ProxySpan | undefined;
    if (this.#tracing) span = startProxySpan(req.headers, req.method!, route.name);
    if (span) {
      const trace: Record<string, string> = {};
      injectTraceHeaders(span, trace);
      for (const [k, v] of Object.entries(trace)) {
        const at = headers.indexOf(k);
        if (at !== -1 && at % 2 === 0) headers[at + 1] = v;
        else headers.push(k, v);
      }
    }
    this.#inFlight.requestStarted();
    const length = lengthHeader === undefined ? 0 : Number(lengthHeader);
    // A shadow copy only for what legacy serves, and only with a body we keep.
    let shadow = side === 'legacy' && route.shadow?.wants(req.method!) ? route.shadow : undefined;
    if (shadow && (chunked || length > shadow.config.maxBodyBytes)) {
      shadow.recordSkip('too_large');
      shadow = undefined;
    }
    if (!chunked && length === 0) {
      this.#launch(req, res, admitted, span, null, shadow);
      return;
    }
    // Only a request with a body pays for these closures.
    const launch = (body: Buffer | Readable | null) =>
      this.#launch(req, res, admitted, span, body, shadow);
    takeBody({
      req,
      res,
      route,
      length,
      chunked,
      // A gRPC call's messages go on as they come: a stream may wait for an
      // answer before it sends more, so holding its body could deadlock it.
      streamOnly: chunked && isGrpc(req),
      keep: Math.max(keepBodyUpTo(route, req), shadow ? shadow.config.maxBodyBytes : -1),
      expectsContinue,
      server: this.#table.config.server,
      budget: this.#budget,
      launch,
      failed: (e: Error) => {
        this.#bodyFailed(req, res, route, requestId, e);
      },
      timedOut: () => this.#metrics.clientTimeout('body'),
    });
  }

  /**
   * Reading a body to buffer failed before anything was sent upstream: the
   * client went away (nothing to answer), was too slow (408) or sent too
   * much (413). Never a backend's outcome.
   */
  #bodyFailed(
    req: IncomingMessage,
    res: ServerResponse,
    route: CompiledRoute,
    requestId: string,
    error: Error,
  ): void {
    this.#inFlight.requestFinished();
    route.guards.finished(0, true);
    if (error instanceof ClientTimeoutError) this.#metrics.clientTimeout('body');
    if (!(error instanceof ClientTimeoutError || error instanceof BodyTooLargeError)) return;
    if (res.headersSent || res.destroyed) return;
    this.#metrics.unrouted(error.status);
    // The rest of the body is unread: the connection cannot carry another request.
    sendProblem(res, problemFromError(error, { route: route.name, requestId }), {
      'x-request-id': requestId,
      connection: 'close',
    });
    this.#logAnswered(req, requestId, route.name, error.status, error.code);
  }

  #launch(
    req: IncomingMessage,
    res: ServerResponse,
    admitted: Admitted,
    span: ProxySpan | undefined,
    body: Buffer | Readable | null,
    shadow: RouteShadow | undefined,
  ): ProxyExchange {
    const { requestId, route, side, headers, hostAt } = admitted;
    const target = admitted.target.target;
    let copy: ShadowCopy | undefined;
    if (shadow && (body === null || Buffer.isBuffer(body)) && shadow.acquire(body?.length ?? 0)) {
      copy = new ShadowCopy(shadow, {
        method: req.method!,
        url: target,
        requestHeaders: req.headers,
        headers: headers.slice(),
        hostAt,
        body,
        timeout: route.config.timeout,
        idleTimeout: route.config.idleTimeout,
      });
    }
    const exchange = new ProxyExchange(
      { req, res, route, side, requestId, span, target, headers, hostAt, body, shadow: copy },
      this.#hooks,
    );
    exchange.start();
    // After the legacy request is on its way: the client never waits for the copy.
    if (copy) copy.send(route.candidate!, route.legacy);
    return exchange;
  }

  /** The access line of a request the gateway answered itself. */
  #logAnswered(
    req: IncomingMessage,
    requestId: string,
    route: string | undefined,
    status: number,
    err: string | undefined,
  ): void {
    this.#accessLog?.write(
      requestId,
      AccessLog.fragment(route),
      req.method ?? '',
      req.url ?? '',
      status,
      0,
      0,
      0,
      undefined,
      err,
    );
  }

  #refuse(res: ServerResponse, error: CutoverError, requestId: string, close = false): void {
    this.#metrics.unrouted(error.status);
    const headers: Record<string, string> = { 'x-request-id': requestId };
    if (close) headers.connection = 'close';
    sendProblem(res, problemFromError(error, { requestId }), headers);
    this.#logAnswered(res.req, requestId, undefined, error.status, error.code);
  }

  /**
   * Whether an Upgrade request becomes a tunnel attempt: its route lists the
   * protocol, and no earlier response on the connection is still pending (an
   * upgrade pipelined behind a request would answer out of order; it is
   * served as a plain request, in turn). A target that does not resolve is
   * refused by request() like any request.
   */
  tunnels(req: IncomingMessage): boolean {
    // `_httpMessage` is the response holding the socket (Node's _http_server.js
    // sets it); tunnelling now would also throw ERR_HTTP_SOCKET_ASSIGNED.
    if ((req.socket as Socket & { _httpMessage?: unknown })._httpMessage) return false;
    const target = targetOf(req, this.#table.config);
    if (target instanceof CutoverError) return false;
    const route = this.#route(req, target);
    return route !== undefined && tunnelProtocol(req, route.config.upgrades) !== undefined;
  }

  /**
   * An upgrade goes through what any request goes through (target, route,
   * admission, split, X-Forwarded-*, access log) on a response bound to the
   * raw socket. The bytes after its head (Node's `head`) are dropped: see upgrade.ts.
   */
  upgrade(req: IncomingMessage, socket: Socket): void {
    const res = upgradeResponse(req, socket);
    const admitted = this.#admit(req, res, true);
    if (!admitted) return;
    const { requestId, target, route, side, headers, hostAt, protocol } = admitted;
    // upgrade.ts forwards and logs req.url: it must be the path that was routed.
    req.url = target.target;
    this.#inFlight.requestStarted();
    new UpgradeExchange(
      {
        req,
        res,
        route,
        side,
        requestId,
        span: undefined,
        target: target.target,
        headers,
        hostAt,
        protocol: protocol!,
      },
      this.#hooks,
    ).start();
  }
}
