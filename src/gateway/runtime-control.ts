// What operators change at run time, over the file: a route's weight (API,
// cli, the rollout controller) and a backend's forced breakers (the kill
// switch). Each change is written to the state store before it applies, so a
// restart, or another instance reading the store, finds it; and each one
// outlives config reloads until it is reset.
import { type Config, isWeight } from '../config/index.ts';
import { InvalidArgumentError, NotFoundError } from '../errors.ts';
import type { StateStore } from '../state/index.ts';
import type { Logger } from '../telemetry/index.ts';
import type { ForcedState, GuardRegistry } from './guard-registry.ts';
import { type RouteStatus, routeStatus } from './route-views.ts';
import { type CompiledRoute, type RouteTable, WeightCell } from './table.ts';

const WEIGHT_NAMESPACE = 'weight';
const BREAKER_NAMESPACE = 'breaker';

export interface BackendBreakers {
  backend: string;
  forced: ForcedState | null;
  /** Breaker snapshot by route name. */
  routes: Record<string, unknown>;
}

/** What the store holds of earlier runs: runtime weights and forced breakers. */
export interface RuntimeState {
  readonly weights: Map<string, number>;
  readonly forced: Map<string, ForcedState>;
}

export async function readRuntimeState(store: StateStore): Promise<RuntimeState> {
  return {
    weights: await store.list<number>(WEIGHT_NAMESPACE),
    forced: await store.list<ForcedState>(BREAKER_NAMESPACE),
  };
}

export interface RuntimeControlOptions {
  readonly store: StateStore;
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
  readonly #store: StateStore;
  readonly #logger: Logger;
  readonly #guards: GuardRegistry;
  readonly #table: () => RouteTable;

  /** `restored`: the runtime weights read from the store, for the routes of `config`. */
  constructor(options: RuntimeControlOptions, config: Config, restored: Map<string, number>) {
    this.#store = options.store;
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
    await this.#store.set(WEIGHT_NAMESPACE, name, weight);
    r.weight.setRuntimeWeight(weight);
    this.#logger.info({ route: name, weight }, 'weight set');
    return routeStatus(r);
  }

  /** Drop the runtime weight; the file's weight applies again. */
  async resetWeight(name: string): Promise<RouteStatus> {
    const r = this.#route(name);
    await this.#store.delete(WEIGHT_NAMESPACE, name);
    r.weight.setRuntimeWeight(undefined);
    this.#logger.info({ route: name, weight: r.weight.weight }, 'weight reset to the config file');
    return routeStatus(r);
  }

  /** Force every breaker of a backend open or closed (persisted), or back to automatic. */
  async forceBreaker(backend: string, state: ForcedState | undefined): Promise<BackendBreakers> {
    this.#backend(backend);
    if (state) await this.#store.set(BREAKER_NAMESPACE, backend, state);
    else await this.#store.delete(BREAKER_NAMESPACE, backend);
    this.#guards.force(backend, state);
    return this.backendBreakers(backend);
  }

  backendBreakers(backend: string): BackendBreakers {
    this.#backend(backend);
    const routes: Record<string, unknown> = {};
    for (const e of this.#guards.breakers())
      if (e.backend === backend) routes[e.route] = e.breaker.snapshot();
    return { backend, forced: this.#guards.forced(backend) ?? null, routes };
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
