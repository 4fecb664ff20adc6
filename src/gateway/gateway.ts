// The gateway: listener, routing, split and proxying, plus the operations the
// admin API needs (weights, readiness, reload, graceful close).
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { createServer } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { PassThrough, type Readable } from 'node:stream';
import type { Config } from '../config/index.ts';
import {
  BadRequestError,
  BodyTooLargeError,
  InvalidArgumentError,
  NoRouteError,
  NotFoundError,
} from '../errors.ts';
import { type CircuitBreaker, HealthChecker } from '../guard/index.ts';
import { problemFromError, rawProblemResponse, sendProblem } from '../problem.ts';
import type { StateStore } from '../state/index.ts';
import type { Logger, Metrics, ProxySpan, SlidingWindow } from '../telemetry/index.ts';
import { AccessLog, injectTraceHeaders, startProxySpan } from '../telemetry/index.ts';
import { closeUnused } from './backends.ts';
import { countBody, keepBodyUpTo, readBody } from './body.ts';
import { type ForcedState, GuardRegistry, SAMPLES_NAMESPACE } from './guard-registry.ts';
import { upstreamRequestHeaders } from './headers.ts';
import { type ExchangeHooks, ProxyExchange } from './proxy.ts';
import { type RouteShadow, ShadowCopy } from './shadow.ts';
import { ShadowMemory } from './shadow-memory.ts';
import { chooseSide, type Side, type SplitInput } from './split.ts';
import { type CompiledRoute, RouteTable, WeightCell } from './table.ts';
import { proxyUpgrade } from './upgrade.ts';

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

function clientIp(socket: Socket): string {
  const ip = socket.remoteAddress ?? '';
  return ip.startsWith('::ffff:') ? ip.slice(7) : ip;
}

/** Host header without port, lower-case; handles [v6]:port. */
function routingHost(host: string | undefined): string | undefined {
  if (!host) return undefined;
  if (host.charCodeAt(0) === 91 /* [ */) {
    const end = host.indexOf(']');
    return end === -1 ? host.toLowerCase() : host.slice(0, end + 1).toLowerCase();
  }
  const colon = host.indexOf(':');
  return (colon === -1 ? host : host.slice(0, colon)).toLowerCase();
}

export interface RouteFigures {
  readonly legacy: SlidingWindow;
  readonly candidate: SlidingWindow;
  readonly candidateCount: number;
  readonly shadow: { readonly compared: number; readonly mismatched: number } | undefined;
  readonly candidateBreakerOpen: boolean;
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
    const gateway = this;
    this.#hooks = {
      get accessLog() {
        return gateway.#accessLog;
      },
      finished: () => {
        this.#inFlight--;
        this.#metrics.requestFinished();
      },
    };
    this.#health = new HealthChecker(this.#metrics, this.#logger);
    this.#health.update(this.#table.backends.values());
    const server = createServer(
      {
        maxHeaderSize: options.config.server.maxHeaderBytes,
        keepAliveTimeout: options.config.server.keepAliveTimeout,
        requestTimeout: options.config.server.requestTimeout,
      },
      (req, res) => this.#handle(req, res),
    );
    server.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) =>
      this.#handleUpgrade(req, socket, head),
    );
    server.on('clientError', (error: Error & { code?: string }, socket: Socket) =>
      this.#clientError(error, socket),
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

  #route(req: IncomingMessage, path: string): CompiledRoute | undefined {
    return this.#table.router.find(req.method!, routingHost(req.headers.host), path, req.headers)
      ?.route;
  }

  #handle(req: IncomingMessage, res: ServerResponse): void {
    const url = req.url ?? '';
    const headerId = req.headers['x-request-id'];
    const requestId =
      typeof headerId === 'string' && REQUEST_ID.test(headerId) ? headerId : randomUUID();
    if (url.charCodeAt(0) !== 47 /* / */) {
      this.#refuse(
        res,
        new BadRequestError(`request target must start with /, got "${url.slice(0, 100)}"`),
        requestId,
      );
      return;
    }
    const q = url.indexOf('?');
    const path = q === -1 ? url : url.slice(0, q);
    const route = this.#route(req, path);
    if (!route) {
      this.#refuse(res, new NoRouteError(req.method ?? '', path), requestId);
      return;
    }
    const cfg = route.config;
    const lengthHeader = req.headers['content-length'];
    const chunked = req.headers['transfer-encoding'] !== undefined;
    if (lengthHeader !== undefined && Number(lengthHeader) > cfg.maxBodyBytes) {
      this.#refuse(res, new BodyTooLargeError(cfg.maxBodyBytes), requestId, true);
      return;
    }
    const input: SplitInput = {
      headers: req.headers,
      query: q === -1 ? '' : url.slice(q + 1),
      ip: clientIp(req.socket),
    };
    if (!route.guards.admit(input, res, requestId)) {
      this.#metrics.unrouted(res.statusCode);
      this.#logAnswered(req, requestId, route.name, res.statusCode, undefined);
      return;
    }
    const side = chooseSide(
      route.split,
      route.candidate !== undefined,
      route.weight.candidateBuckets,
      input,
    );
    let span: ProxySpan | undefined;
    if (this.#tracing) span = startProxySpan(req.headers, req.method!, route.name);
    const headers = upstreamRequestHeaders(req.rawHeaders, {
      clientIp: input.ip,
      proto: 'http',
      requestId,
      upstreamHost: cfg.preserveHost ? undefined : '',
    });
    const hostAt = cfg.preserveHost ? -1 : hostValueIndex(headers);
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
      this.#launch(req, res, route, side, requestId, span, headers, hostAt, body, shadow);
    if (!chunked && length === 0) {
      launch(null);
      return;
    }
    const keep = Math.max(keepBodyUpTo(route, req), shadow ? shadow.config.maxBodyBytes : -1);
    if (!chunked && length <= keep) {
      // A small body that may be sent twice (fallback, retry, shadow copy): keep it.
      readBody(req, length).then(launch, () => {
        // The client went away while sending its body; nothing was sent upstream.
        this.#inFlight--;
        this.#metrics.requestFinished();
        route.guards.finished(0, true);
      });
      return;
    }
    const stream = chunked ? new PassThrough() : req;
    const exchange = launch(stream);
    if (chunked) countBody(req, stream as PassThrough, cfg.maxBodyBytes, exchange);
  }

  #launch(
    req: IncomingMessage,
    res: ServerResponse,
    route: CompiledRoute,
    side: Side,
    requestId: string,
    span: ProxySpan | undefined,
    headers: string[],
    hostAt: number,
    body: Buffer | Readable | null,
    shadow: RouteShadow | undefined,
  ): ProxyExchange {
    let copy: ShadowCopy | undefined;
    if (shadow && (body === null || Buffer.isBuffer(body)) && shadow.acquire(body?.length ?? 0)) {
      copy = new ShadowCopy(shadow, {
        method: req.method!,
        url: req.url!,
        requestHeaders: req.headers,
        headers: headers.slice(),
        hostAt,
        body,
        timeout: route.config.timeout,
        idleTimeout: route.config.idleTimeout,
      });
    }
    const exchange = new ProxyExchange(
      req,
      res,
      route,
      side,
      requestId,
      span,
      this.#hooks,
      headers,
      hostAt,
      body,
      copy,
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

  #refuse(
    res: ServerResponse,
    error: BadRequestError | NoRouteError | BodyTooLargeError,
    requestId: string,
    close = false,
  ): void {
    this.#metrics.unrouted(error.status);
    const headers: Record<string, string> = { 'x-request-id': requestId };
    if (close) headers.connection = 'close';
    sendProblem(res, problemFromError(error, { requestId }), headers);
    this.#logAnswered(res.req, requestId, undefined, error.status, error.code);
  }

  #handleUpgrade(req: IncomingMessage, socket: Socket, head: Buffer): void {
    const url = req.url ?? '';
    const q = url.indexOf('?');
    const path = q === -1 ? url : url.slice(0, q);
    const route = url.startsWith('/') ? this.#route(req, path) : undefined;
    if (!route) {
      const e = new NoRouteError(req.method ?? '', path);
      socket.end(rawProblemResponse(problemFromError(e)));
      return;
    }
    const ip = clientIp(req.socket);
    const side = chooseSide(
      route.split,
      route.candidate !== undefined,
      route.weight.candidateBuckets,
      {
        headers: req.headers,
        query: q === -1 ? '' : url.slice(q + 1),
        ip,
      },
    );
    const backend = side === 'candidate' ? route.candidate! : route.legacy;
    proxyUpgrade(req, socket, head, {
      route: route.name,
      side,
      backend,
      instance: backend.pick(),
      preserveHost: route.config.preserveHost,
      clientIp: ip,
      logger: this.#logger,
    });
  }

  #clientError(error: Error & { code?: string }, socket: Socket): void {
    if (!socket.writable) {
      socket.destroy();
      return;
    }
    const tooLarge = error.code === 'HPE_HEADER_OVERFLOW';
    const status = tooLarge ? 431 : error.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
    const detail = tooLarge
      ? 'request headers are too large'
      : status === 408
        ? 'the request was not received in time'
        : 'malformed HTTP request';
    this.#metrics.unrouted(status);
    socket.end(rawProblemResponse({ status, code: 'CUTOVER_ERR_BAD_REQUEST', detail }));
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
            breaker.probeResult(res.statusCode < 500);
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
    if (
      !Number.isFinite(weight) ||
      weight < 0 ||
      weight > 100 ||
      Math.round(weight * 100) !== weight * 100
    ) {
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
