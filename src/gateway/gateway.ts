// The gateway: listener, routing, split and proxying, plus the operations the
// admin API needs (weights, readiness, reload, graceful close).
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { createServer } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { PassThrough, type Readable } from 'node:stream';
import { type Config, isWeight } from '../config/index.ts';
import {
  BodyTooLargeError,
  ClientSendTimeoutError,
  ClientTimeoutError,
  CutoverError,
  InvalidArgumentError,
  NoRouteError,
  NotFoundError,
} from '../errors.ts';
import { type CircuitBreaker, HealthChecker } from '../guard/index.ts';
import { problemFromError, sendProblem } from '../problem.ts';
import type { StateStore } from '../state/index.ts';
import type { Logger, Metrics, ProxySpan, SlidingWindow } from '../telemetry/index.ts';
import {
  AccessLog,
  classifyOutcome,
  injectTraceHeaders,
  startProxySpan,
} from '../telemetry/index.ts';
import { closeUnused } from './backends.ts';
import { type BodyOverflow, bufferChunkedBody, keepBodyUpTo, readBody, watchBody } from './body.ts';
import { BufferBudget } from './buffer-budget.ts';
import { ClientErrors } from './client-errors.ts';
import { checkingInterval } from './connection-checks.ts';
import { askForBody } from './continue.ts';
import { type ForcedState, GuardRegistry, SAMPLES_NAMESPACE } from './guard-registry.ts';
import { upstreamRequestHeaders } from './headers.ts';
import { type ExchangeHooks, ProxyExchange } from './proxy.ts';
import { type RequestTarget, resolveRequestTarget } from './request-target.ts';
import type { ResponseBuffering } from './response-buffer.ts';
import { type RouteShadow, ShadowCopy } from './shadow.ts';
import { ShadowMemory } from './shadow-memory.ts';
import { chooseSide, type Side, type SplitInput } from './split.ts';
import { type CompiledRoute, RouteTable, WeightCell } from './table.ts';
import { plainAddress, TrustedProxies } from './trusted-proxies.ts';
import { tunnelProtocol, upgradeResponse } from './tunnel.ts';
import { UpgradeExchange } from './upgrade.ts';

const WEIGHT_NAMESPACE = 'weight';
const BREAKER_NAMESPACE = 'breaker';

export interface GatewayOptions {
  readonly config: Config;
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly store: StateStore;
}

export interface RouteStatus {
  name: string;
  match: { host?: string; path: string; methods?: readonly string[] };
  legacy: string;
  candidate: string | null;
  weight: number;
  configWeight: number;
  /** `runtime` when a weight set through the API or CLI overrides the file. */
  weightSource: 'config' | 'runtime';
}

export interface BackendBreakers {
  backend: string;
  forced: ForcedState | null;
  /** Breaker snapshot by route name. */
  routes: Record<string, unknown>;
}

export interface RouteDetail extends RouteStatus {
  breakers: { legacy: unknown; candidate: unknown };
  fallback: unknown;
  [guard: string]: unknown;
}

export interface Readiness {
  ready: boolean;
  reason: string;
}

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

export interface RouteFigures {
  readonly legacy: SlidingWindow;
  readonly candidate: SlidingWindow;
  readonly candidateCount: number;
  readonly shadow: { readonly compared: number; readonly mismatched: number } | undefined;
  readonly candidateBreakerOpen: boolean;
}

/** A request or upgrade the gateway has decided to send (Gateway.#admit). */
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

export class Gateway {
  readonly server: Server;
  readonly #logger: Logger;
  readonly #metrics: Metrics;
  readonly #store: StateStore;
  readonly #weights = new Map<string, WeightCell>();
  readonly #health: HealthChecker;
  #table: RouteTable;
  #inFlight = 0;
  #closing = false;
  #accessLog: AccessLog | undefined;
  #tracing: boolean;
  readonly #hooks: ExchangeHooks;
  readonly #sockets = new Set<Socket>();
  #trustedProxies: TrustedProxies;
  /** Connections whose bytes stopped parsing: answered, then closed. */
  readonly #clientErrors: ClientErrors;
  /** Buffered body bytes of the whole process (server.bufferMemory). */
  readonly #budget: BufferBudget;
  #buffering: ResponseBuffering;

  readonly #guards: GuardRegistry;
  /** Bytes all shadow copies may hold; one for the process, resized on reload. */
  readonly #shadowMemory: ShadowMemory;
  readonly #probeTimer: NodeJS.Timeout;

  private constructor(
    options: GatewayOptions,
    runtimeWeights: Map<string, number>,
    forced: Map<string, ForcedState>,
    samples: Map<string, unknown[]>,
  ) {
    this.#logger = options.logger;
    this.#metrics = options.metrics;
    this.#store = options.store;
    for (const [name, w] of runtimeWeights) {
      const rc = options.config.routes.find((r) => r.name === name);
      if (rc) this.#weights.set(name, new WeightCell(rc.weight, w));
    }
    this.#shadowMemory = new ShadowMemory(options.config.server.shadowMemory, this.#metrics);
    this.#guards = new GuardRegistry(
      this.#metrics,
      this.#logger,
      forced,
      this.#shadowMemory,
      this.#store,
      samples,
    );
    this.#table = new RouteTable(
      options.config,
      this.#weights,
      this.#metrics,
      this.#guards,
      this.#logger,
    );
    this.#warnShadowWrites(options.config);
    this.#probeTimer = setInterval(() => this.#probeIdleBreakers(), 1000);
    this.#probeTimer.unref();
    this.#accessLog =
      options.config.log.access && this.#logger.isLevelEnabled('info')
        ? new AccessLog(this.#logger)
        : undefined;
    this.#tracing = options.config.tracing.enabled;
    this.#trustedProxies = new TrustedProxies(options.config.server.trustedProxies);
    this.#clientErrors = new ClientErrors((status) => this.#metrics.unrouted(status));
    this.#budget = new BufferBudget(options.config.server.bufferMemory);
    this.#buffering = this.#responseBuffering(options.config);
    const gateway = this;
    this.#hooks = {
      get accessLog() {
        return gateway.#accessLog;
      },
      get buffering() {
        return gateway.#buffering;
      },
      finished: () => {
        this.#inFlight--;
        this.#metrics.requestFinished();
      },
      answeredItself: (status: number) => this.#metrics.unrouted(status),
    };
    this.#health = new HealthChecker(this.#metrics, this.#logger);
    this.#health.update(this.#table.backends.values());
    const limits = options.config.server;
    const server = createServer(
      {
        maxHeaderSize: limits.maxHeaderBytes,
        keepAliveTimeout: limits.keepAliveTimeout,
        requestTimeout: limits.requestTimeout,
        // A connection that has not sent a complete head by then gets a 408
        // and is closed, including one that sends nothing at all (nginx
        // client_header_timeout). Node only looks every
        // connectionsCheckingInterval (30 s by default, which let a slowloris
        // hold a socket for 83 s), so the interval follows the timeout.
        headersTimeout: limits.headersTimeout,
        connectionsCheckingInterval: checkingInterval(limits.headersTimeout, limits.requestTimeout),
        // Only an upgrade its route tunnels becomes an 'upgrade' event; any other is a plain request.
        shouldUpgradeCallback: (req: IncomingMessage) => this.#tunnels(req),
      },
      (req, res) => this.#handle(req, res, false),
    );
    // Past maxConnections Node closes a new connection as soon as it is
    // accepted, as Envoy's listener connection limit does (nginx and HAProxy
    // leave it in the kernel's backlog instead); the 'drop' event counts it.
    server.maxConnections = limits.maxConnections;
    server.on('drop', () => this.#metrics.connectionRefused());
    // Expect: 100-continue is answered once the request is admitted (continue.ts).
    server.on('checkContinue', (req: IncomingMessage, res: ServerResponse) =>
      this.#handle(req, res, true),
    );
    server.on('upgrade', (req: IncomingMessage, socket: Socket) =>
      this.#handleUpgrade(req, socket),
    );
    server.on('clientError', (error: Error & { code?: string }, socket: Socket) =>
      this.#clientErrors.handle(error, socket),
    );
    server.on('connection', (socket: Socket) => {
      this.#sockets.add(socket);
      socket.once('close', () => this.#sockets.delete(socket));
    });
    this.server = server;
  }

  /** Builds the gateway with the weights persisted in the state store. */
  static async create(options: GatewayOptions): Promise<Gateway> {
    const persisted = await options.store.list<number>(WEIGHT_NAMESPACE);
    const forced = await options.store.list<ForcedState>(BREAKER_NAMESPACE);
    const samples = await options.store.list<unknown[]>(SAMPLES_NAMESPACE);
    return new Gateway(options, persisted, forced, samples);
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

  get config(): Config {
    return this.#table.config;
  }

  get inFlight(): number {
    return this.#inFlight;
  }

  listen(): Promise<AddressInfo> {
    const { host, port } = this.#table.config.listen;
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        resolve(this.server.address() as AddressInfo);
      });
    });
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
      typeof headerId === 'string' && REQUEST_ID.test(headerId) ? headerId : randomUUID();
    const target = targetOf(req, this.#table.config);
    if (target instanceof CutoverError) {
      // Two Hosts or a path that means another thing upstream is how smuggling
      // starts: nothing more is read from this connection (nginx closes after a 400 too).
      this.#refuse(res, target, requestId, true);
      return undefined;
    }
    const route = this.#route(req, target);
    // #tunnels said yes for an upgrade on this same table a moment ago; checked again for safety.
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
      proto: 'http',
      requestId,
      upstreamHost: cfg.preserveHost ? undefined : '',
    });
    const hostAt = cfg.preserveHost ? -1 : hostValueIndex(headers);
    return { requestId, target, route, side, headers, hostAt, protocol };
  }

  #handle(req: IncomingMessage, res: ServerResponse, expectsContinue: boolean): void {
    const admitted = this.#admit(req, res, false);
    if (!admitted) return;
    const { requestId, target, route, side, headers, hostAt } = admitted;
    const cfg = route.config;
    const lengthHeader = req.headers['content-length'];
    const chunked = req.headers['transfer-encoding'] !== undefined;
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
    this.#inFlight++;
    this.#metrics.requestStarted();
    const length = lengthHeader === undefined ? 0 : Number(lengthHeader);
    // A shadow copy only for what legacy serves, and only with a body we keep.
    let shadow = side === 'legacy' && route.shadow?.wants(req.method!) ? route.shadow : undefined;
    if (shadow && (chunked || length > shadow.config.maxBodyBytes)) {
      shadow.recordSkip('too_large');
      shadow = undefined;
    }
    const launch = (body: Buffer | Readable | null) =>
      this.#launch(
        req,
        res,
        route,
        side,
        requestId,
        span,
        target.target,
        headers,
        hostAt,
        body,
        shadow,
      );
    if (!chunked && length === 0) {
      launch(null);
      return;
    }
    const server = this.#table.config.server;
    const gap = server.clientBodyTimeout;
    const budget = this.#budget;
    const keep = Math.max(keepBodyUpTo(route, req), shadow ? shadow.config.maxBodyBytes : -1);
    const failed = (e: Error) => {
      this.#bodyFailed(req, res, route, requestId, e);
    };
    // Expect: 100-continue is answered once the request is admitted (continue.ts).
    const continueRes = expectsContinue ? res : undefined;
    if (!chunked) {
      // Read whole: a small body that may be sent twice (fallback, retry,
      // shadow copy), or one that fits the request buffer, so a slow upload
      // holds no upstream connection.
      const charged = length <= Math.max(keep, server.requestBuffer) && budget.tryTake(length);
      if (length <= keep || charged) {
        if (expectsContinue) askForBody(res);
        readBody(req, length, gap).then(
          (body) => {
            if (charged) budget.give(length);
            launch(body);
          },
          (e: Error) => {
            if (charged) budget.give(length);
            failed(e);
          },
        );
        return;
      }
      this.#stream(req, 0, route, launch, continueRes);
      return;
    }
    const upTo = Math.min(Math.max(keep, server.requestBuffer), cfg.maxBodyBytes);
    if (upTo <= 0) {
      this.#stream(req, 0, route, launch, continueRes);
      return;
    }
    if (continueRes) askForBody(continueRes);
    const { body, release } = bufferChunkedBody(req, upTo, cfg.maxBodyBytes, gap, budget);
    body.then(
      (read) => {
        release();
        if (Buffer.isBuffer(read)) launch(read);
        else this.#stream(req, read.read, route, launch, undefined, read);
      },
      (e: Error) => {
        release();
        failed(e);
      },
    );
  }

  /**
   * Streams a body too large to buffer, timed and counted as it goes;
   * `continueRes`: the client waits for a 100 Continue before sending it.
   */
  #stream(
    req: IncomingMessage,
    read: number,
    route: CompiledRoute,
    launch: (body: Readable) => ProxyExchange,
    continueRes?: ServerResponse,
    overflow?: BodyOverflow,
  ): void {
    const stream = overflow?.stream ?? new PassThrough();
    const exchange = launch(stream);
    // After start(): a breaker or backend cap that refused has answered already.
    if (continueRes) askForBody(continueRes);
    const server = this.#table.config.server;
    watchBody(
      req,
      stream,
      read,
      route.config.maxBodyBytes,
      server.clientBodyTimeout,
      exchange,
      () => this.#metrics.clientTimeout('body'),
    );
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
    this.#inFlight--;
    this.#metrics.requestFinished();
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
    route: CompiledRoute,
    side: Side,
    requestId: string,
    span: ProxySpan | undefined,
    target: string,
    headers: string[],
    hostAt: number,
    body: Buffer | Readable | null,
    shadow: RouteShadow | undefined,
  ): ProxyExchange {
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
   * refused by #handle like any request.
   */
  #tunnels(req: IncomingMessage): boolean {
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
  #handleUpgrade(req: IncomingMessage, socket: Socket): void {
    const res = upgradeResponse(req, socket);
    const admitted = this.#admit(req, res, true);
    if (!admitted) return;
    const { requestId, target, route, side, headers, hostAt, protocol } = admitted;
    // upgrade.ts forwards and logs req.url: it must be the path that was routed.
    req.url = target.target;
    this.#inFlight++;
    this.#metrics.requestStarted();
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

  /** Shadowed writes really run on the candidate: say so at every load. */
  #warnShadowWrites(config: Config): void {
    for (const r of config.routes) {
      if (r.shadow?.writes) {
        this.#logger.warn(
          { route: r.name, candidate: r.candidate },
          'shadow.writes is on: copies of writes (POST, PUT, PATCH, DELETE) run on the candidate; it must write to its own store',
        );
      }
    }
  }

  readonly #probing = new Set<CircuitBreaker>();

  /**
   * A breaker left open or half-open with no traffic to probe it would stay
   * stuck; past openFor × 2 idle, ask the backend ourselves (its health path,
   * or /) and let the answer close or re-open it.
   */
  #probeIdleBreakers(): void {
    for (const { backend, breaker } of this.#guards.breakers()) {
      if (this.#probing.has(breaker) || !breaker.idleProbeDue()) continue;
      const b = this.#table.backends.get(backend);
      if (!b) continue;
      const instance = b.pick();
      this.#probing.add(breaker);
      instance.pool
        .request({
          method: 'GET',
          path: instance.basePath + (b.config.health?.path ?? '/'),
          headers: { 'user-agent': 'cutover-breaker-probe' },
          headersTimeout: b.config.health?.timeout ?? 1000,
          bodyTimeout: b.config.health?.timeout ?? 1000,
        })
        .then(
          async (res) => {
            await res.body.dump();
            breaker.probeResult(
              classifyOutcome(res.statusCode, undefined, res.headers, res.trailers).kind ===
                'success',
            );
          },
          () => breaker.probeResult(false),
        )
        .finally(() => this.#probing.delete(breaker));
    }
  }

  /** Force every breaker of a backend open or closed (persisted), or back to automatic. */
  async forceBreaker(backend: string, state: ForcedState | undefined): Promise<BackendBreakers> {
    if (!this.#table.backends.has(backend)) throw new NotFoundError(`backend "${backend}"`);
    if (state) await this.#store.set(BREAKER_NAMESPACE, backend, state);
    else await this.#store.delete(BREAKER_NAMESPACE, backend);
    this.#guards.force(backend, state);
    return this.backendBreakers(backend);
  }

  backendBreakers(backend: string): BackendBreakers {
    if (!this.#table.backends.has(backend)) throw new NotFoundError(`backend "${backend}"`);
    const routes: Record<string, unknown> = {};
    for (const e of this.#guards.breakers())
      if (e.backend === backend) routes[e.route] = e.breaker.snapshot();
    return { backend, forced: this.#guards.forced(backend) ?? null, routes };
  }

  /** Swap in a new config; requests in flight finish on the table they started with. */
  reload(config: Config): void {
    const old = this.#table;
    const next = new RouteTable(
      config,
      this.#weights,
      this.#metrics,
      this.#guards,
      this.#logger,
      old,
    );
    this.#table = next;
    this.#shadowMemory.resize(config.server.shadowMemory);
    // Weight cells of removed routes stay: a route that comes back gets its
    // persisted runtime weight again, as it would after a restart.
    this.#logger.level = config.log.level;
    this.#accessLog =
      config.log.access && this.#logger.isLevelEnabled('info')
        ? new AccessLog(this.#logger)
        : undefined;
    this.#tracing = config.tracing.enabled;
    this.#trustedProxies = new TrustedProxies(config.server.trustedProxies);
    // Node reads these at every accept and every connection check; only the
    // check interval, set from the first headersTimeout, stays until a restart.
    this.server.maxConnections = config.server.maxConnections;
    this.server.headersTimeout = config.server.headersTimeout;
    this.server.requestTimeout = config.server.requestTimeout;
    this.#budget.limit = config.server.bufferMemory;
    this.#buffering = this.#responseBuffering(config);
    this.#health.update(next.backends.values());
    this.#warnShadowWrites(config);
    if (
      old.config.listen.port !== config.listen.port ||
      old.config.listen.host !== config.listen.host
    ) {
      this.#logger.warn(
        'listen address changed in the config; it takes effect at the next restart',
      );
    }
    void closeUnused(old.backends.values(), next.backends.values());
  }

  routes(): RouteStatus[] {
    return [...this.#table.routes.values()].map((r) => this.#status(r));
  }

  #status(r: CompiledRoute): RouteStatus {
    const m = r.config.match;
    return {
      name: r.name,
      match: { host: m.host, path: m.path, methods: m.methods },
      legacy: r.config.legacy,
      candidate: r.config.candidate ?? null,
      weight: r.weight.weight,
      configWeight: r.weight.configWeight,
      weightSource: r.weight.runtimeWeight === undefined ? 'config' : 'runtime',
    };
  }

  /** Shadow comparison results of a route (GET /api/routes/NAME/diffs). */
  routeDiffs(name: string): unknown {
    const r = this.#table.routes.get(name);
    if (!r) throw new NotFoundError(`route "${name}"`);
    if (!r.shadow)
      throw new NotFoundError(`shadow results of route "${name}" (no shadow configured)`);
    return {
      ...r.shadow.results.toJSON(),
      samples: r.shadow.samples(),
      noise: r.shadow.noiseReport(),
    };
  }

  /** One route in detail: its status plus breakers, limits and shedding figures. */
  routeDetail(name: string): RouteDetail {
    const r = this.#table.routes.get(name);
    if (!r) throw new NotFoundError(`route "${name}"`);
    return {
      ...this.#status(r),
      breakers: {
        legacy: r.legacyBreaker ? r.legacyBreaker.snapshot() : null,
        candidate: r.candidateBreaker ? r.candidateBreaker.snapshot() : null,
      },
      fallback: r.config.fallback
        ? {
            on: [...r.config.fallback.on],
            methods: [...r.config.fallback.methods],
            maxBodyBytes: r.config.fallback.maxBodyBytes,
          }
        : null,
      ...r.guards.snapshot(),
    };
  }

  /**
   * What a rollout reads of a route: the per-side stats (with
   * sliding windows kept from now on for `windowMs`), the shadow pairs and
   * whether the candidate's breaker is open. Undefined without a candidate.
   */
  routeFigures(name: string, windowMs: number): RouteFigures | undefined {
    const r = this.#table.routes.get(name);
    if (!r?.candidate) return undefined;
    const seconds = windowMs / 1000 + 1;
    const legacy = this.#metrics.sideStats(name, 'legacy', r.config.legacy);
    const candidate = this.#metrics.sideStats(name, 'candidate', r.candidate.name);
    const shadow = r.shadow?.results.summary();
    return {
      legacy: legacy.window(seconds),
      candidate: candidate.window(seconds),
      candidateCount: candidate.count,
      shadow: shadow ? { compared: shadow.compared, mismatched: shadow.mismatched } : undefined,
      candidateBreakerOpen: r.candidateBreaker?.state === 'open',
    };
  }

  /** Stops the sliding windows `routeFigures` turned on for a route (its rollout is over). */
  dropRouteWindows(name: string): void {
    const r = this.#table.routes.get(name);
    if (!r) return;
    this.#metrics.sideStats(name, 'legacy', r.config.legacy).dropWindow();
    if (r.candidate) this.#metrics.sideStats(name, 'candidate', r.candidate.name).dropWindow();
  }

  /** A route's weight now (runtime or file); undefined for an unknown route. */
  routeWeight(name: string): number | undefined {
    return this.#table.routes.get(name)?.weight.weight;
  }

  /** Calls `listener` whenever a breaker opens (by itself or forced), with its route and backend; returns the unsubscribe. */
  onBreakerOpen(listener: (route: string, backend: string) => void): () => void {
    this.#guards.breakerOpened.add(listener);
    return () => this.#guards.breakerOpened.delete(listener);
  }

  /** Set a route's weight at run time; persisted, and wins over the file until reset. */
  async setWeight(name: string, weight: number): Promise<RouteStatus> {
    const r = this.#table.routes.get(name);
    if (!r) throw new NotFoundError(`route "${name}"`);
    if (!isWeight(weight)) {
      throw new InvalidArgumentError(
        `weight must be a number from 0 to 100 with at most two decimals, got ${weight}`,
      );
    }
    if (weight > 0 && !r.candidate) {
      throw new InvalidArgumentError(
        `route "${name}" has no candidate backend, so its weight must stay 0`,
      );
    }
    await this.#store.set(WEIGHT_NAMESPACE, name, weight);
    r.weight.setRuntimeWeight(weight);
    this.#logger.info({ route: name, weight }, 'weight set');
    return this.#status(r);
  }

  /** Drop the runtime weight; the file's weight applies again. */
  async resetWeight(name: string): Promise<RouteStatus> {
    const r = this.#table.routes.get(name);
    if (!r) throw new NotFoundError(`route "${name}"`);
    await this.#store.delete(WEIGHT_NAMESPACE, name);
    r.weight.setRuntimeWeight(undefined);
    this.#logger.info({ route: name, weight: r.weight.weight }, 'weight reset to the config file');
    return this.#status(r);
  }

  readiness(): Readiness {
    if (this.#closing) return { ready: false, reason: 'shutting down' };
    for (const r of this.#table.routes.values()) {
      if (!r.legacy.healthy) {
        return {
          ready: false,
          reason: `route ${r.name}: legacy backend ${r.legacy.name} has no healthy instance`,
        };
      }
    }
    return { ready: true, reason: 'ok' };
  }

  /** Stop accepting, let requests in flight finish for up to `graceMs`, then cut the rest. */
  async close(graceMs: number): Promise<void> {
    this.#closing = true;
    this.#health.stop();
    clearInterval(this.#probeTimer);
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeIdleConnections();
    const deadline = Date.now() + graceMs;
    while (this.#inFlight > 0 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
      this.server.closeIdleConnections();
    }
    if (this.#inFlight > 0) {
      this.#logger.warn(
        { inFlight: this.#inFlight },
        'shutdown grace over; closing remaining connections',
      );
    }
    this.server.closeAllConnections();
    for (const s of this.#sockets) s.destroy();
    await closed;
    await this.#guards.flushShadows();
    await Promise.allSettled(
      [...this.#table.backends.values()].flatMap((b) => b.instances.map((i) => i.pool.close())),
    );
  }
}
