// Guards that must outlive a config reload: route guards (limits keep their
// buckets) and circuit breakers (one per route × backend, so a reload never
// closes an open breaker). A breaker forced by an operator stays forced.
import type { BackendConfig, BreakerConfig, RouteConfig } from '../config/index.ts';
import {
  type BreakerTransition,
  CircuitBreaker,
  ClusterLimiter,
  type LimitModeChange,
  type SharedBuckets,
} from '../guard/index.ts';
import type { StateStore } from '../state/index.ts';
import type { LimitModeSeries, Logger, Metrics } from '../telemetry/index.ts';
import { guardKey, RouteGuards } from './route-guards.ts';
import { RouteShadow } from './shadow.ts';
import type { ShadowMemory } from './shadow-memory.ts';

export type ForcedState = 'open' | 'closed';

/** What `scope: cluster` limits share: the fleet's buckets and its size. */
export interface SharedLimits {
  /** The fleet store's token buckets; without them a cluster limit runs its `onStoreDown` fallback. */
  readonly buckets?: SharedBuckets;
  /** Instances last seen (the `local` fallback divides the quota by it); 1 when not given. */
  readonly instances?: () => number;
}

/** State-store namespace of the newest shadow mismatch samples, by route. */
export const SAMPLES_NAMESPACE = 'shadow-samples';

interface BreakerEntry {
  readonly key: string;
  readonly route: string;
  readonly backend: string;
  readonly breaker: CircuitBreaker;
}

export class GuardRegistry {
  readonly #metrics: Metrics;
  readonly #logger: Logger;
  readonly #routes = new Map<string, RouteGuards>();
  readonly #breakers = new Map<string, BreakerEntry>();
  /** Told of every breaker that opens (a rollout's hard trip listens here). */
  readonly breakerOpened = new Set<(route: string, backend: string) => void>();
  /** Called with every breaker transition (the dashboard's event stream). */
  readonly breakerChanged = new Set<(transition: BreakerTransition) => void>();
  readonly #forced: Map<string, ForcedState>;
  /** Handed to every RouteShadow, old and new: the budget is the process's, not a config's. */
  readonly #shadowMemory: ShadowMemory;

  readonly #store: StateStore | undefined;
  /** As read from the state store; RouteShadow checks their shape. */
  readonly #restoredSamples: Map<string, unknown>;
  /**
   * One settings key per breaker config object: every route of a backend shares
   * that object, so 10,000 routes hold one string, not 10,000 copies (issue 10).
   */
  readonly #breakerKeys = new WeakMap<BreakerConfig, string>();

  readonly #shared: SharedLimits;

  constructor(
    metrics: Metrics,
    logger: Logger,
    forced: Map<string, ForcedState>,
    shadowMemory: ShadowMemory,
    store?: StateStore,
    restoredSamples: Map<string, unknown> = new Map(),
    shared: SharedLimits = {},
  ) {
    this.#shared = shared;
    this.#metrics = metrics;
    this.#logger = logger;
    this.#forced = forced;
    this.#shadowMemory = shadowMemory;
    this.#store = store;
    this.#restoredSamples = restoredSamples;
    metrics.breakerSource(() => this.#breakers.values());
    metrics.limitModeSource(() => this.#limitModes());
  }

  /** Write every route's shadow samples now (shutdown). */
  async flushShadows(): Promise<void> {
    await Promise.all([...this.#shadows.values()].map((s) => s.flush()));
  }

  readonly #shadows = new Map<string, RouteShadow>();

  /** The route's shadow (results kept across reloads, even when its settings change). */
  routeShadow(rc: RouteConfig): RouteShadow | undefined {
    const old = this.#shadows.get(rc.name);
    if (!rc.shadow) {
      this.#shadows.delete(rc.name);
      return undefined;
    }
    if (old && old.key === JSON.stringify(rc.shadow)) return old;
    const store = this.#store;
    const shadow = new RouteShadow(
      rc.name,
      rc.shadow,
      this.#metrics,
      this.#shadowMemory,
      old,
      store ? (samples) => store.set(SAMPLES_NAMESPACE, rc.name, samples) : undefined,
      this.#restoredSamples.get(rc.name),
    );
    this.#shadows.set(rc.name, shadow);
    return shadow;
  }

  routeGuards(rc: RouteConfig): RouteGuards {
    const old = this.#routes.get(rc.name);
    if (old && old.key === guardKey(rc)) return old;
    const limit = rc.limit;
    const limiter =
      limit?.scope === 'cluster'
        ? new ClusterLimiter(limit, {
            route: rc.name,
            buckets: this.#shared.buckets,
            instances: this.#shared.instances,
            onModeChange: this.#limitModeChanged,
          })
        : undefined;
    const guards = new RouteGuards(rc, this.#metrics, limiter);
    this.#routes.set(rc.name, guards);
    return guards;
  }

  *#limitModes(): Iterable<LimitModeSeries> {
    for (const [route, guards] of this.#routes) {
      const mode = guards.limitMode;
      if (mode !== undefined) yield { route, mode };
    }
  }

  /** One line per change of a cluster limit's mode (never one per request). */
  readonly #limitModeChanged = (c: LimitModeChange): void => {
    const fields = { route: c.route, from: c.from, to: c.to, reason: c.reason };
    if (c.to === 'shared') this.#logger.info(fields, `rate limit back on the shared bucket`);
    else this.#logger.warn(fields, `rate limit falls back to ${c.to}: ${c.reason}`);
  };

  breaker(route: string, backend: BackendConfig): CircuitBreaker | undefined {
    const id = `${route}\u0000${backend.name}`;
    if (!backend.breaker) {
      this.#breakers.delete(id);
      return undefined;
    }
    let key = this.#breakerKeys.get(backend.breaker);
    if (key === undefined) {
      key = JSON.stringify(backend.breaker);
      this.#breakerKeys.set(backend.breaker, key);
    }
    const old = this.#breakers.get(id);
    if (old && old.key === key) return old.breaker;
    const breaker = new CircuitBreaker(backend.breaker, {
      backend: backend.name,
      route,
      onTransition: this.#transitioned,
    });
    const forced = this.#forced.get(backend.name);
    if (forced) breaker.force(forced);
    this.#breakers.set(id, { key, route, backend: backend.name, breaker });
    return breaker;
  }

  /** Every breaker's transitions, one function for all (the transition names its route and backend). */
  readonly #transitioned = (t: BreakerTransition): void => {
    this.#metrics.breakerTransition(t.backend, t.route, t.from, t.to);
    if (t.to === 'open') for (const listener of this.breakerOpened) listener(t.route, t.backend);
    for (const listener of this.breakerChanged) listener(t);
    const logger = this.#logger;
    const log = t.to === 'closed' ? logger.info.bind(logger) : logger.warn.bind(logger);
    log(
      {
        backend: t.backend,
        route: t.route,
        from: t.from,
        to: t.to,
        reason: t.reason,
        errorRatio: t.errorRatio,
        slowRatio: t.slowRatio,
        calls: t.calls,
        failures: t.failures,
        slow: t.slow,
        windowMs: t.windowMs,
      },
      `breaker ${t.from} → ${t.to}`,
    );
  };

  /** Forget guards of routes and backends the new config no longer has. */
  prune(routes: Iterable<RouteConfig>): void {
    const keep = new Set<string>();
    const names = new Set<string>();
    for (const r of routes) {
      names.add(r.name);
      keep.add(`${r.name}\u0000${r.legacy}`);
      if (r.candidate) keep.add(`${r.name}\u0000${r.candidate}`);
    }
    for (const id of this.#breakers.keys()) if (!keep.has(id)) this.#breakers.delete(id);
    for (const name of this.#routes.keys()) if (!names.has(name)) this.#routes.delete(name);
  }

  /** The manual kill switch: force every breaker of a backend, or give it back to automatic (undefined). */
  force(backend: string, state: ForcedState | undefined): void {
    if (state) this.#forced.set(backend, state);
    else this.#forced.delete(backend);
    for (const e of this.#breakers.values()) {
      if (e.backend === backend) e.breaker.force(state);
    }
    this.#logger.warn({ backend, forced: state ?? 'automatic' }, 'breaker forced');
  }

  forced(backend: string): ForcedState | undefined {
    return this.#forced.get(backend);
  }

  breakers(): Iterable<{ route: string; backend: string; breaker: CircuitBreaker }> {
    return this.#breakers.values();
  }
}
