// The routing table compiled from one Config: router, backends and the
// per-route pieces the hot path needs, built once at load and swapped whole
// on reload. Runtime weights live in WeightCells that outlive reloads.
import { type Config, grpcCodeMask, type RouteConfig, type SplitConfig } from '../config/index.ts';
import type { CircuitBreaker } from '../guard/index.ts';
import type {
  GrpcCodeSets,
  Logger,
  Metrics,
  RouteSideMetrics,
  RouteTunnelMetrics,
} from '../telemetry/index.ts';
import { AccessLog } from '../telemetry/index.ts';
import { Backend } from './backends.ts';
import type { GuardRegistry } from './guard-registry.ts';
import type { InFlight } from './in-flight.ts';
import type { RouteGuards } from './route-guards.ts';
import { Router } from './router.ts';
import type { RouteShadow } from './shadow.ts';
import { candidateBucketsOf } from './split.ts';

/** A route's weight as the hot path reads it: candidate buckets out of 10,000. */
export class WeightCell {
  /** Weight from the config file, percent. */
  configWeight: number;
  /** Weight set at run time (API, CLI), percent; wins over the file until reset. */
  runtimeWeight: number | undefined;
  candidateBuckets: number;

  constructor(configWeight: number, runtimeWeight: number | undefined) {
    this.configWeight = configWeight;
    this.runtimeWeight = runtimeWeight;
    this.candidateBuckets = 0;
    this.#update();
  }

  get weight(): number {
    return this.runtimeWeight ?? this.configWeight;
  }

  setConfigWeight(w: number): void {
    this.configWeight = w;
    this.#update();
  }

  setRuntimeWeight(w: number | undefined): void {
    this.runtimeWeight = w;
    this.#update();
  }

  #update(): void {
    this.candidateBuckets = candidateBucketsOf(this.weight);
  }
}

export class CompiledRoute {
  readonly config: RouteConfig;
  readonly name: string;
  readonly split: SplitConfig;
  readonly legacy: Backend;
  readonly candidate: Backend | undefined;
  readonly weight: WeightCell;
  readonly legacyMetrics: RouteSideMetrics;
  readonly candidateMetrics: RouteSideMetrics | undefined;
  readonly guards: RouteGuards;
  /** Open and closed tunnels (upgrades after their 101), also counted in flight. */
  readonly tunnels: RouteTunnelMetrics;
  /** Shadow copies to the candidate; undefined unless configured. */
  readonly shadow: RouteShadow | undefined;
  /** Access-log fragments naming route, side and backend, built once. */
  readonly legacyLogFragment: string;
  readonly candidateLogFragment: string;
  readonly legacyBreaker: CircuitBreaker | undefined;
  readonly candidateBreaker: CircuitBreaker | undefined;
  /** The route's gRPC failure and retry codes as bitmasks: what classifyOutcome reads for a gRPC call. */
  readonly grpcCodes: GrpcCodeSets;

  constructor(
    config: RouteConfig,
    backends: ReadonlyMap<string, Backend>,
    weight: WeightCell,
    metrics: Metrics,
    registry: GuardRegistry,
    inFlight: InFlight,
  ) {
    this.config = config;
    this.name = config.name;
    this.split = config.split;
    this.legacy = backends.get(config.legacy)!;
    this.candidate = config.candidate === undefined ? undefined : backends.get(config.candidate);
    this.weight = weight;
    this.legacyMetrics = metrics.forRouteSide(config.name, 'legacy', config.legacy);
    this.candidateMetrics =
      config.candidate === undefined
        ? undefined
        : metrics.forRouteSide(config.name, 'candidate', config.candidate);
    this.guards = registry.routeGuards(config);
    this.tunnels = inFlight.countTunnels(metrics.forRouteTunnels(config.name));
    this.shadow = registry.routeShadow(config);
    this.legacyLogFragment = AccessLog.fragment(config.name, 'legacy', config.legacy);
    this.candidateLogFragment = AccessLog.fragment(
      config.name,
      'candidate',
      config.candidate ?? '',
    );
    this.legacyBreaker = registry.breaker(config.name, this.legacy.config);
    this.candidateBreaker = this.candidate
      ? registry.breaker(config.name, this.candidate.config)
      : undefined;
    this.grpcCodes = Object.freeze({
      failures: grpcCodeMask(config.grpc.failureCodes),
      retryable: grpcCodeMask(config.retry?.grpcCodes ?? []),
    });
  }

  get match() {
    return this.config.match;
  }
}

export class RouteTable {
  readonly config: Config;
  readonly backends: ReadonlyMap<string, Backend>;
  readonly routes: ReadonlyMap<string, CompiledRoute>;
  readonly router: Router<CompiledRoute>;

  /**
   * `previous` lends its connection pools to backends whose settings did not
   * change; `weights` holds one cell per route name and is updated in place.
   */
  constructor(
    config: Config,
    weights: Map<string, WeightCell>,
    metrics: Metrics,
    registry: GuardRegistry,
    logger: Logger,
    inFlight: InFlight,
    previous?: RouteTable,
  ) {
    this.config = config;
    const backends = new Map<string, Backend>();
    for (const [name, bc] of config.backends) {
      backends.set(name, new Backend(bc, metrics, logger, previous?.backends.get(name)));
    }
    this.backends = backends;
    const routes = new Map<string, CompiledRoute>();
    for (const rc of config.routes) {
      let cell = weights.get(rc.name);
      if (cell) cell.setConfigWeight(rc.weight);
      else {
        cell = new WeightCell(rc.weight, undefined);
        weights.set(rc.name, cell);
      }
      routes.set(rc.name, new CompiledRoute(rc, backends, cell, metrics, registry, inFlight));
    }
    this.routes = routes;
    registry.prune(config.routes);
    this.router = new Router([...routes.values()]);
  }
}
