// Breakers with no traffic to probe them: an open or half-open breaker is
// only tried again by a request, so on a route nobody calls it would stay
// open for ever. Past openFor × 2 of silence (CircuitBreaker.idleProbeDue)
// the gateway asks the backend itself, on its health path or /, and the
// answer closes or re-opens the breaker.
import { classifyOutcome } from '../telemetry/index.ts';
import type { CircuitBreaker } from './breaker.ts';
import type { HealthBackend, HealthTarget } from './health.ts';

/** A breaker and the name of the backend it guards. */
export interface ProbedBreaker {
  readonly backend: string;
  readonly breaker: CircuitBreaker;
}

/** A backend a probe can reach: its instances and the one to ask next. */
export interface ProbeBackend extends HealthBackend {
  pick(): HealthTarget;
}

/** Used when the backend configures no health check. */
const DEFAULT_PROBE_TIMEOUT = 1000;
const PROBE_EVERY = 1000;

export class BreakerProbes {
  readonly #breakers: () => Iterable<ProbedBreaker>;
  readonly #backends: () => ReadonlyMap<string, ProbeBackend>;
  /** Breakers with a probe on its way: one at a time each. */
  readonly #probing = new Set<CircuitBreaker>();
  #timer: NodeJS.Timeout | undefined = undefined;

  /** Both are read at every sweep: a reload changes the breakers and the backends. */
  constructor(
    breakers: () => Iterable<ProbedBreaker>,
    backends: () => ReadonlyMap<string, ProbeBackend>,
  ) {
    this.#breakers = breakers;
    this.#backends = backends;
  }

  /** Sweep every second until stop(); the timer keeps no process alive. */
  start(): void {
    this.#timer ??= setInterval(() => void this.sweep(), PROBE_EVERY);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** Probe every breaker whose idle probe is due; resolves when those probes have reported. */
  sweep(): Promise<void> {
    const sent: Promise<void>[] = [];
    for (const { backend, breaker } of this.#breakers()) {
      if (this.#probing.has(breaker) || !breaker.idleProbeDue()) continue;
      const b = this.#backends().get(backend);
      if (!b) continue;
      this.#probing.add(breaker);
      sent.push(
        probe(b)
          .then((ok) => breaker.probeResult(ok))
          .finally(() => this.#probing.delete(breaker)),
      );
    }
    return Promise.all(sent).then(() => {});
  }
}

/** One GET to an instance of the backend: true unless it fails or answers 5xx. */
async function probe(b: ProbeBackend): Promise<boolean> {
  const instance = b.pick();
  const timeout = b.config.health?.timeout ?? DEFAULT_PROBE_TIMEOUT;
  try {
    const res = await instance.pool.request({
      method: 'GET',
      path: instance.basePath + (b.config.health?.path ?? '/'),
      headers: { 'user-agent': 'cutover-breaker-probe' },
      headersTimeout: timeout,
      bodyTimeout: timeout,
    });
    await res.body.dump();
    return classifyOutcome(res.statusCode, undefined, res.headers, res.trailers).kind === 'success';
  } catch {
    return false;
  }
}
