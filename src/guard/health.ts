// Active health checks: each instance of a backend that configures `health`
// is asked for its health path (or, with `health.grpc`, the standard gRPC
// health service: grpc-health.ts) every interval; it turns unhealthy after
// `unhealthy` failures in a row and healthy again after `healthy` successes.
import type { Dispatcher } from 'undici';
import type { HealthConfig } from '../config/index.ts';
import type { Logger, Metrics } from '../telemetry/index.ts';
import { grpcHealthProblem } from './grpc-health.ts';

export interface HealthTarget {
  readonly url: string;
  readonly basePath: string;
  readonly pool: Dispatcher;
  healthy: boolean;
}

export interface HealthBackend {
  readonly name: string;
  readonly config: { readonly health: HealthConfig | undefined };
  readonly instances: readonly HealthTarget[];
}

/** GET the health path: undefined on a 2xx, else why not. */
async function httpHealthProblem(
  pool: Dispatcher,
  basePath: string,
  health: HealthConfig,
): Promise<string | undefined> {
  const res = await pool.request({
    method: 'GET',
    path: basePath + health.path,
    headersTimeout: health.timeout,
    bodyTimeout: health.timeout,
    headers: { 'user-agent': 'cutover-health' },
  });
  await res.body.dump();
  return res.statusCode >= 200 && res.statusCode < 300 ? undefined : `status ${res.statusCode}`;
}

class InstanceCheck {
  readonly #backend: string;
  readonly #target: HealthTarget;
  readonly #health: HealthConfig;
  readonly #metrics: Metrics;
  readonly #logger: Logger;
  #timer: NodeJS.Timeout | undefined;
  #successes = 0;
  #failures = 0;
  #stopped = false;

  constructor(
    backend: string,
    target: HealthTarget,
    health: HealthConfig,
    metrics: Metrics,
    logger: Logger,
  ) {
    this.#backend = backend;
    this.#target = target;
    this.#health = health;
    this.#metrics = metrics;
    this.#logger = logger;
  }

  start(): void {
    void this.#check();
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
  }

  async #check(): Promise<void> {
    if (this.#stopped) return;
    let problem: string | undefined;
    const { pool, basePath } = this.#target;
    const health = this.#health;
    try {
      problem = health.grpc
        ? await grpcHealthProblem(pool, basePath, health.grpc.service, health.timeout)
        : await httpHealthProblem(pool, basePath, health);
    } catch (e) {
      problem = (e as Error).message;
    }
    if (this.#stopped) return;
    this.#record(problem === undefined, problem ?? '');
    this.#timer = setTimeout(() => void this.#check(), this.#health.interval);
    this.#timer.unref();
  }

  #record(ok: boolean, reason: string): void {
    const t = this.#target;
    if (ok) {
      this.#successes++;
      this.#failures = 0;
      if (!t.healthy && this.#successes >= this.#health.healthy) {
        t.healthy = true;
        this.#logger.info({ backend: this.#backend, instance: t.url }, 'backend instance healthy');
      }
    } else {
      this.#failures++;
      this.#successes = 0;
      if (t.healthy && this.#failures >= this.#health.unhealthy) {
        t.healthy = false;
        this.#logger.warn(
          { backend: this.#backend, instance: t.url, reason },
          'backend instance unhealthy',
        );
      }
    }
    this.#metrics.backendUp(this.#backend, t.url, t.healthy);
  }
}

export class HealthChecker {
  readonly #metrics: Metrics;
  readonly #logger: Logger;
  #checks = new Map<HealthTarget, InstanceCheck>();
  #known = new Map<HealthTarget, string>();

  constructor(metrics: Metrics, logger: Logger) {
    this.#metrics = metrics;
    this.#logger = logger;
  }

  /** Check exactly these backends' instances from now on (called at start and on every reload). */
  update(backends: Iterable<HealthBackend>): void {
    const next = new Map<HealthTarget, string>();
    const wanted = new Map<HealthTarget, { backend: string; health: HealthConfig }>();
    for (const b of backends) {
      for (const t of b.instances) {
        next.set(t, b.name);
        if (b.config.health) wanted.set(t, { backend: b.name, health: b.config.health });
        else {
          t.healthy = true;
          this.#metrics.backendUp(b.name, t.url, true);
        }
      }
    }
    for (const [t, check] of this.#checks) {
      if (!wanted.has(t)) {
        check.stop();
        this.#checks.delete(t);
      }
    }
    for (const [t, w] of wanted) {
      if (this.#checks.has(t)) continue;
      const check = new InstanceCheck(w.backend, t, w.health, this.#metrics, this.#logger);
      this.#checks.set(t, check);
      this.#metrics.backendUp(w.backend, t.url, t.healthy);
      check.start();
    }
    for (const [t, name] of this.#known) if (!next.has(t)) this.#metrics.removeBackend(name, t.url);
    this.#known = next;
  }

  stop(): void {
    for (const c of this.#checks.values()) c.stop();
    this.#checks.clear();
  }
}
