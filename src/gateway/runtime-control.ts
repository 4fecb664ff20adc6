// What operators change at run time, over the file: a route's weight (API,
// cli, the rollout controller) and a backend's forced breakers (the kill
// switch). Each change is committed to the fleet's store before it applies
// here (so the API acknowledges only what a restart or another instance will
// find), and reaches the other instances through the change feed, which this
// class follows too; each one outlives config reloads until it is reset.
import { type Config, isWeight } from '../config/index.ts';
import { InvalidArgumentError, NotFoundError } from '../errors.ts';
import {
  BREAKER_NS,
  type Change,
  type FeedFollower,
  type FleetMember,
  type FleetOp,
  type FleetStore,
  type StateStore,
  unavailable,
  WEIGHT_NS,
} from '../state/index.ts';
import type { Logger } from '../telemetry/index.ts';
import type { ForcedState, GuardRegistry } from './guard-registry.ts';
import { type RouteStatus, routeStatus } from './route-views.ts';
import { type CompiledRoute, type RouteTable, WeightCell } from './table.ts';

export interface BackendBreakers {
  backend: string;
  forced: ForcedState | null;
  /** Breaker snapshot by route name. */
  routes: Record<string, unknown>;
  /** The backend's instances: active health and passive outlier ejection (guard/outlier.ts). */
  instances: BackendInstanceView[];
}

export interface BackendInstanceView {
  url: string;
  /** False while active health checks fail. */
  healthy: boolean;
  ejected: boolean;
  /** ISO 8601: when an ejected instance comes back; null when not ejected. */
  ejectedUntil: string | null;
  /** Failed attempts in a row, as outlier detection counts them. */
  consecutiveErrors: number;
}

/** What the store holds of earlier runs: runtime weights and forced breakers. */
export interface RuntimeState {
  readonly weights: Map<string, number>;
  readonly forced: Map<string, ForcedState>;
}

export async function readRuntimeState(store: StateStore): Promise<RuntimeState> {
  return {
    weights: await store.list<number>(WEIGHT_NS),
    forced: await store.list<ForcedState>(BREAKER_NS),
  };
}

export interface RuntimeControlOptions {
  readonly store: FleetStore;
  /** The instance's membership: store health and the feed's version. */
  readonly member?: FleetMember;
  readonly logger: Logger;
  readonly guards: GuardRegistry;
  /** The table requests are routed on now (it changes at every reload). */
  readonly table: () => RouteTable;
}

export class RuntimeControl {
  /**
   * One cell per route name, handed to every RouteTable. Cells of removed
   * routes stay: a route that comes back gets its persisted runtime weight
   * again, as it would after a restart.
   */
  readonly weights = new Map<string, WeightCell>();
  readonly #store: FleetStore;
  readonly #member: FleetMember | undefined;
  readonly #logger: Logger;
  readonly #guards: GuardRegistry;
  readonly #table: () => RouteTable;

  /** `restored`: the runtime weights read from the store, for the routes of `config`. */
  constructor(options: RuntimeControlOptions, config: Config, restored: Map<string, number>) {
    this.#store = options.store;
    this.#member = options.member;
    this.#logger = options.logger;
    this.#guards = options.guards;
    this.#table = options.table;
    for (const [name, w] of restored) {
      const rc = config.routes.find((r) => r.name === name);
      if (rc) this.weights.set(name, new WeightCell(rc.weight, w));
    }
  }

  /** Set a route's weight at run time; persisted, and wins over the file until reset. */
  async setWeight(name: string, weight: number): Promise<RouteStatus> {
    const r = this.#route(name);
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
    await this.#commit([{ op: 'set', ns: WEIGHT_NS, key: name, value: weight }]);
    r.weight.setRuntimeWeight(weight);
    this.#logger.info({ route: name, weight }, 'weight set');
    return routeStatus(r);
  }

  /** Drop the runtime weight; the file's weight applies again. */
  async resetWeight(name: string): Promise<RouteStatus> {
    const r = this.#route(name);
    await this.#commit([{ op: 'delete', ns: WEIGHT_NS, key: name }]);
    r.weight.setRuntimeWeight(undefined);
    this.#logger.info({ route: name, weight: r.weight.weight }, 'weight reset to the config file');
    return routeStatus(r);
  }

  /** Force every breaker of a backend open or closed (persisted), or back to automatic. */
  async forceBreaker(backend: string, state: ForcedState | undefined): Promise<BackendBreakers> {
    this.#backend(backend);
    await this.#commit([
      state
        ? { op: 'set', ns: BREAKER_NS, key: backend, value: state }
        : { op: 'delete', ns: BREAKER_NS, key: backend },
    ]);
    this.#guards.force(backend, state);
    return this.backendBreakers(backend);
  }

  /** Commits to the store or throws StateUnavailableError: nothing is applied that the store does not hold. */
  async #commit(ops: FleetOp[]): Promise<void> {
    this.#member?.assertUp();
    let result: Awaited<ReturnType<FleetStore['commit']>>;
    try {
      result = await this.#store.commit(ops);
    } catch (error) {
      this.#member?.report(error as Error);
      throw unavailable(this.#store, error);
    }
    if (result.ok) this.#member?.committed(result.version);
  }

  /** A weight set here (by the controller's own commit), without writing it again. */
  applyWeight(name: string, weight: number | undefined): void {
    let cell = this.weights.get(name);
    if (!cell) {
      if (weight === undefined) return;
      // A route this config does not have: kept for when it comes back, as after a restart.
      cell = new WeightCell(0, weight);
      this.weights.set(name, cell);
    }
    if (cell.runtimeWeight !== weight) cell.setRuntimeWeight(weight);
  }

  /** Follows the other instances' weights and forced breakers through the change feed. */
  follower(): FeedFollower {
    return {
      namespaces: [WEIGHT_NS, BREAKER_NS],
      apply: (change: Change) => {
        if (change.ns === WEIGHT_NS)
          this.applyWeight(change.key, change.value as number | undefined);
        else if (this.#guards.forced(change.key) !== change.value)
          this.#guards.force(change.key, change.value as ForcedState | undefined);
      },
      reload: async () => {
        const { weights, forced } = await readRuntimeState(this.#store);
        for (const name of this.weights.keys()) this.applyWeight(name, weights.get(name));
        for (const [name, w] of weights) this.applyWeight(name, w);
        for (const backend of this.#table().backends.keys()) {
          const want = forced.get(backend);
          if (this.#guards.forced(backend) !== want) this.#guards.force(backend, want);
        }
      },
    };
  }

  backendBreakers(backend: string): BackendBreakers {
    this.#backend(backend);
    const routes: Record<string, unknown> = {};
    for (const e of this.#guards.breakers())
      if (e.backend === backend) routes[e.route] = e.breaker.snapshot();
    return {
      backend,
      forced: this.#guards.forced(backend) ?? null,
      routes,
      instances: this.#instances(backend),
    };
  }

  #instances(backend: string): BackendInstanceView[] {
    const b = this.#table().backends.get(backend);
    if (!b) return [];
    const outlier = b.outlier?.snapshot().instances;
    return b.instances.map((instance) => {
      const o = outlier?.[instance.index];
      return {
        url: instance.url,
        healthy: instance.healthy,
        ejected: o?.ejected ?? false,
        ejectedUntil: o?.ejectedUntil ? new Date(o.ejectedUntil).toISOString() : null,
        consecutiveErrors: o?.consecutiveErrors ?? 0,
      };
    });
  }

  #route(name: string): CompiledRoute {
    const r = this.#table().routes.get(name);
    if (!r) throw new NotFoundError(`route "${name}"`);
    return r;
  }

  #backend(name: string): void {
    if (!this.#table().backends.has(name)) throw new NotFoundError(`backend "${name}"`);
  }
}
