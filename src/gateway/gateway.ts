// The gateway: a facade over its parts, with the operations cli/ and admin/
// use. The listener owns the server and its sockets, the pipeline routes and
// sends each request, the runtime control owns weights and forced breakers
// set at run time, guard/ probes idle breakers, and one InFlight counts what
// readiness, the shutdown drain and the in-flight gauge read.
import type { AddressInfo, Server } from 'node:net';
import type { Config } from '../config/index.ts';
import { NotFoundError } from '../errors.ts';
import {
  BreakerProbes,
  type BreakerTransition,
  HealthChecker,
  type SharedBuckets,
} from '../guard/index.ts';
import type { FeedFollower, FleetMember, FleetStore } from '../state/index.ts';
import type { Logger, Metrics, RouteFigureSource, SeriesRoute } from '../telemetry/index.ts';
import { closeUnused } from './backends.ts';
import { type ForcedState, GuardRegistry, SAMPLES_NAMESPACE } from './guard-registry.ts';
import { InFlight } from './in-flight.ts';
import { closeListeners, Listener } from './listener.ts';
import { RequestPipeline } from './pipeline.ts';
import type { RouteDiffs } from './route-shadow.ts';
import {
  dropRouteWindows,
  type RouteDetail,
  type RouteFigures,
  type RouteStatus,
  routeDetail,
  routeFigureSource,
  routeFigures,
  routeStatus,
  seriesRoute,
} from './route-views.ts';
import { type BackendBreakers, RuntimeControl, readRuntimeState } from './runtime-control.ts';
import { ShadowMemory } from './shadow-memory.ts';
import { RouteTable } from './table.ts';
import type { TlsReload } from './tls.ts';

export interface GatewayOptions {
  readonly config: Config;
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly store: FleetStore;
  /** This instance's membership of the fleet (store health, feed); none in single-object tests. */
  readonly member?: FleetMember;
  /** The fleet's token buckets for `scope: cluster` limits (the fleet store). */
  readonly buckets?: SharedBuckets;
  /** Instances last seen in the fleet; 1 when not given. */
  readonly instances?: () => number;
}

export interface Readiness {
  ready: boolean;
  reason: string;
}

/** One Listener per `listen` entry; if one cannot be made, those made before are released. */
function openListeners(
  config: Config,
  pipeline: RequestPipeline,
  metrics: Metrics,
  logger: Logger,
): Listener[] {
  const listeners: Listener[] = [];
  try {
    for (const l of config.listeners) {
      listeners.push(new Listener(l, config.server, pipeline, metrics, logger));
    }
  } catch (error) {
    for (const l of listeners) void l.stopAccepting();
    throw error;
  }
  return listeners;
}

export class Gateway {
  readonly #logger: Logger;
  readonly #metrics: Metrics;
  readonly #inFlight = new InFlight();
  readonly #guards: GuardRegistry;
  /** Bytes all shadow copies may hold; one for the process, resized on reload. */
  readonly #shadowMemory: ShadowMemory;
  readonly #control: RuntimeControl;
  readonly #pipeline: RequestPipeline;
  readonly #listeners: readonly Listener[];
  readonly #health: HealthChecker;
  readonly #probes: BreakerProbes;
  #closing = false;
  #bound: readonly AddressInfo[] = [];

  private constructor(
    options: GatewayOptions,
    runtimeWeights: Map<string, number>,
    forced: Map<string, ForcedState>,
    samples: Map<string, unknown>,
  ) {
    const { config, logger, metrics, store, member } = options;
    this.#logger = logger;
    this.#metrics = metrics;
    metrics.inFlight(this.#inFlight);
    this.#shadowMemory = new ShadowMemory(config.server.shadowMemory, metrics);
    this.#guards = new GuardRegistry(metrics, logger, forced, this.#shadowMemory, store, samples, {
      buckets: options.buckets,
      instances: options.instances,
    });
    this.#control = new RuntimeControl(
      { store, member, logger, guards: this.#guards, table: () => this.#table },
      config,
      runtimeWeights,
    );
    this.#pipeline = new RequestPipeline(this.#tableFor(config), {
      logger,
      metrics,
      inFlight: this.#inFlight,
    });
    // Before anything starts: a TLS listener whose files cannot be used throws here.
    this.#listeners = openListeners(config, this.#pipeline, metrics, logger);
    this.#warnShadowWrites(config);
    this.#probes = new BreakerProbes(
      () => this.#guards.breakers(),
      () => this.#table.backends,
    );
    this.#probes.start();
    this.#health = new HealthChecker(metrics, logger);
    this.#health.update(this.#table.backends.values());
  }

  /**
   * Every TLS listener reads its certificate files again (the cli's SIGHUP):
   * new handshakes get them, open connections keep theirs, and a listener
   * whose files fail keeps its running certificates (the log names the file).
   */
  reloadCertificates(): Promise<TlsReload[]> {
    return Promise.all(
      this.#listeners.flatMap((l) => {
        const reload = l.reloadCertificates();
        return reload ? [reload] : [];
      }),
    );
  }

  /** Builds the gateway with the weights and forced breakers persisted in the state store. */
  static async create(options: GatewayOptions): Promise<Gateway> {
    const { weights, forced } = await readRuntimeState(options.store);
    const samples = await options.store.list<unknown>(SAMPLES_NAMESPACE);
    return new Gateway(options, weights, forced, samples);
  }

  /** The first listener's server (tests and the cli read its address). */
  get server(): Server {
    return this.#listeners[0].server;
  }

  get #table(): RouteTable {
    return this.#pipeline.table;
  }

  #tableFor(config: Config, previous?: RouteTable): RouteTable {
    return new RouteTable(
      config,
      this.#control.weights,
      this.#metrics,
      this.#guards,
      this.#logger,
      this.#inFlight,
      previous,
    );
  }

  get config(): Config {
    return this.#table.config;
  }

  /** Requests, upgrade handshakes and open tunnels. */
  get inFlight(): number {
    return this.#inFlight.total;
  }

  /**
   * `reusePort`: bind with SO_REUSEPORT, so that several worker processes
   * listen on the port; `port`: instead of the config's (a worker binding
   * the port its first sibling got for the config's port 0).
   */
  async listen(options: { reusePort?: boolean; port?: number } = {}): Promise<AddressInfo> {
    const bound: AddressInfo[] = [];
    for (const [i, listener] of this.#listeners.entries()) {
      const address = listener.config.address;
      bound.push(
        await listener.listen(
          i === 0 && options.port !== undefined
            ? { host: address.host, port: options.port }
            : address,
          options.reusePort ?? false,
        ),
      );
    }
    this.#bound = bound;
    return bound[0];
  }

  /** Every listener's bound address, in the config's order (after listen()). */
  get addresses(): readonly AddressInfo[] {
    return this.#bound;
  }

  /** Swap in a new config; requests in flight finish on the table they started with. */
  reload(config: Config): void {
    const old = this.#table;
    const next = this.#tableFor(config, old);
    this.#logger.level = config.log.level;
    this.#pipeline.reload(next);
    this.#shadowMemory.resize(config.server.shadowMemory);
    for (const l of this.#listeners) l.reload(config.server);
    this.#health.update(next.backends.values());
    this.#warnShadowWrites(config);
    this.#metrics.keepShadowRatios(
      new Set([...next.routes.values()].filter((r) => r.shadow).map((r) => r.name)),
    );
    if (JSON.stringify(old.config.listeners) !== JSON.stringify(config.listeners)) {
      this.#logger.warn('listen changed in the config; it takes effect at the next restart');
    }
    void closeUnused(old.backends.values(), next.backends.values());
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

  routes(): RouteStatus[] {
    return [...this.#table.routes.values()].map(routeStatus);
  }

  /** Shadow comparison results of a route (GET /api/routes/NAME/diffs). */
  routeDiffs(name: string): RouteDiffs {
    const r = this.#table.routes.get(name);
    if (!r) throw new NotFoundError(`route "${name}"`);
    if (!r.shadow)
      throw new NotFoundError(`shadow results of route "${name}" (no shadow configured)`);
    return r.shadow.diffs();
  }

  /** A route's shadow pairs compared so far and how many differ (the noise known now); undefined without shadow. */
  shadowTally(
    name: string,
  ): { readonly compared: number; readonly mismatched: number } | undefined {
    return this.#table.routes.get(name)?.shadow?.results.tally();
  }

  /** One route in detail: its status plus breakers, limits and shedding figures. */
  routeDetail(name: string): RouteDetail {
    const r = this.#table.routes.get(name);
    if (!r) throw new NotFoundError(`route "${name}"`);
    return routeDetail(r);
  }

  /** What a rollout reads of a route (route-views.ts); undefined without a candidate. */
  routeFigures(name: string, windowMs: number): RouteFigures | undefined {
    const r = this.#table.routes.get(name);
    return r ? routeFigures(r, this.#metrics, windowMs) : undefined;
  }

  /** What this instance publishes for the fleet's gates: every route a rollout reads here. */
  figureSources(): RouteFigureSource[] {
    const out: RouteFigureSource[] = [];
    for (const r of this.#table.routes.values()) {
      const source = routeFigureSource(r, this.#metrics);
      if (source) out.push(source);
    }
    return out;
  }

  /** One route's source (the leader reads its own live); undefined when no rollout reads it here. */
  figureSource(name: string): RouteFigureSource | undefined {
    const r = this.#table.routes.get(name);
    return r ? routeFigureSource(r, this.#metrics) : undefined;
  }

  /** Stops the sliding windows `routeFigures` turned on for a route (its rollout is over). */
  dropRouteWindows(name: string): void {
    const r = this.#table.routes.get(name);
    if (r) dropRouteWindows(r, this.#metrics);
  }

  /** A route's weight now (runtime or file); undefined for an unknown route. */
  routeWeight(name: string): number | undefined {
    return this.#table.routes.get(name)?.weight.weight;
  }

  /** A route's weight in the config file; undefined for an unknown route. */
  routeFileWeight(name: string): number | undefined {
    return this.#table.routes.get(name)?.weight.configWeight;
  }

  /** Calls `listener` whenever a breaker opens (by itself or forced), with its route and backend; returns the unsubscribe. */
  onBreakerOpen(listener: (route: string, backend: string) => void): () => void {
    this.#guards.breakerOpened.add(listener);
    return () => this.#guards.breakerOpened.delete(listener);
  }

  /** Calls `listener` with every breaker transition (its route, backend, states and reason); returns the unsubscribe. */
  onBreakerTransition(listener: (transition: BreakerTransition) => void): () => void {
    this.#guards.breakerChanged.add(listener);
    return () => this.#guards.breakerChanged.delete(listener);
  }

  /** What the dashboard's once-a-second sampler reads of every route (route-views.ts). */
  *seriesRoutes(): Iterable<SeriesRoute> {
    for (const r of this.#table.routes.values()) yield seriesRoute(r, this.#metrics);
  }

  /** Set a route's weight at run time; persisted, and wins over the file until reset. */
  setWeight(name: string, weight: number): Promise<RouteStatus> {
    return this.#control.setWeight(name, weight);
  }

  /** Drop the runtime weight; the file's weight applies again. */
  resetWeight(name: string): Promise<RouteStatus> {
    return this.#control.resetWeight(name);
  }

  /** Force every breaker of a backend open or closed (persisted), or back to automatic. */
  forceBreaker(backend: string, state: ForcedState | undefined): Promise<BackendBreakers> {
    return this.#control.forceBreaker(backend, state);
  }

  backendBreakers(backend: string): BackendBreakers {
    return this.#control.backendBreakers(backend);
  }

  /** Applies a weight the rollout controller committed itself (it wrote the store already). */
  applyWeight(name: string, weight: number | undefined): void {
    this.#control.applyWeight(name, weight);
  }

  /** What the fleet member calls with other instances' weights and forced breakers. */
  follower(): FeedFollower {
    return this.#control.follower();
  }

  readiness(): Readiness {
    if (this.#closing) {
      const left = this.#inFlight.total;
      return {
        ready: false,
        reason: left > 0 ? `shutting down, ${left} in flight` : 'shutting down',
      };
    }
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

  /**
   * Stop accepting, let requests and tunnels in flight finish for up to
   * `graceMs`, then cut the rest and release the upstream pools.
   */
  async close(graceMs: number): Promise<void> {
    this.#closing = true;
    this.#health.stop();
    this.#probes.stop();
    await closeListeners(this.#listeners, graceMs, this.#inFlight, this.#logger);
    await this.#guards.flushShadows();
    await Promise.allSettled(
      [...this.#table.backends.values()].flatMap((b) => b.instances.map((i) => i.pool.close())),
    );
  }
}
