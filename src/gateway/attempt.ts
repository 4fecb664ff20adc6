// One try of a request at one backend instance, whatever the transport
// (undici for requests, node:http for upgrades): what it holds — a breaker
// permit, a slot of the backend's concurrency cap, a connection slot of the
// instance, a timer — and the one place that gives all of it back, with the
// attempt's outcome (telemetry/outcome.ts). Release is idempotent, so every
// path that ends an attempt may release it without counting it twice.
import type { CircuitBreaker, ConcurrencyLimiter } from '../guard/index.ts';
import type { Outcome, RouteSideMetrics } from '../telemetry/index.ts';
import { NO_GRPC_STATUS } from '../telemetry/index.ts';
import type { Backend, BackendInstance } from './backends.ts';
import type { Refusal } from './recovery.ts';
import type { Side } from './split.ts';
import type { CompiledRoute } from './table.ts';
import type { UpstreamQueue } from './upstream-queue.ts';

/** Attempts taken and not yet released, in this process: a test reads it to prove every path releases. */
let unreleased = 0;

export function unreleasedAttempts(): number {
  return unreleased;
}

export class Attempt {
  readonly side: Side;
  readonly backend: Backend;
  readonly instance: BackendInstance;
  readonly #metrics: RouteSideMetrics;
  readonly #breaker: CircuitBreaker | undefined;
  readonly #cap: ConcurrencyLimiter | undefined;
  /** The instance connection this attempt holds (proxy only), freed on release. */
  #slot: UpstreamQueue | undefined;
  #timer: NodeJS.Timeout | undefined;
  /** performance.now() at acquisition, then at sent(): time queued for a connection is not the backend's. */
  #start: number;
  #released: boolean;

  constructor(
    side: Side,
    backend: Backend,
    metrics: RouteSideMetrics,
    breaker: CircuitBreaker | undefined,
    cap: ConcurrencyLimiter | undefined,
  ) {
    this.side = side;
    this.backend = backend;
    this.instance = backend.pick();
    this.#metrics = metrics;
    this.#breaker = breaker;
    this.#cap = cap;
    this.#slot = undefined;
    this.#timer = undefined;
    this.#start = performance.now();
    this.#released = false;
    unreleased++;
  }

  /** The request leaves now: its latency (breaker slow calls, per-side figures) starts here. */
  sent(): void {
    this.#start = performance.now();
  }

  /** The instance connection taken for this attempt; released with it. */
  holdSlot(queue: UpstreamQueue): void {
    this.#slot = queue;
  }

  /** Runs `fire(owner)` after `ms` unless disarmed or released first; replaces an armed timer. */
  arm<T>(fire: (owner: T) => void, ms: number, owner: T): void {
    if (this.#released) return;
    this.disarm();
    this.#timer = setTimeout(fire, ms, owner);
  }

  disarm(): void {
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
  }

  get released(): boolean {
    return this.#released;
  }

  /**
   * The attempt is over: the breaker records its outcome (or gets its permit
   * back when the outcome says nothing of the backend), outlier ejection and
   * the concurrency cap learn it, the connection slot is freed, and the
   * side's figures count it with `status` (and `grpcStatus`, the code of a
   * gRPC answer). A second call does nothing.
   */
  release(outcome: Outcome, status: number, grpcStatus = NO_GRPC_STATUS): void {
    if (this.#released) return;
    this.#released = true;
    unreleased--;
    this.disarm();
    const end = performance.now();
    const ms = end - this.#start;
    const ok = outcome.backendOk;
    if (ok === undefined) this.#breaker?.release();
    else {
      this.#breaker?.record(ok, ms);
      this.backend.recordOutcome(this.instance, ok);
    }
    // Only a success's latency is a sample of a backend that keeps up.
    this.#cap?.release(ms, outcome.kind === 'success');
    if (this.#slot !== undefined) {
      this.#slot.release();
      this.#slot = undefined;
    }
    // The end's clock read, as epoch ms, serves the stats window and the minute history too.
    if (outcome.counted)
      this.#metrics.observe(status, ms / 1000, outcome, grpcStatus, ORIGIN + end);
  }
}

/**
 * Takes what an attempt on `side` needs before anything is sent: the side's
 * breaker permit, then a slot of its backend's concurrency cap. The refusal
 * when either says no (a breaker permit already taken is handed back).
 */
/** performance.now() + ORIGIN is epoch ms by the stats windows' clock (request-stats.ts statsNow). */
const ORIGIN = performance.timeOrigin;

export function acquireAttempt(route: CompiledRoute, side: Side): Attempt | Refusal {
  const candidate = side === 'candidate';
  const breaker = candidate ? route.candidateBreaker : route.legacyBreaker;
  if (breaker !== undefined && !breaker.tryAcquire()) return 'breaker-open';
  const backend = candidate ? route.candidate! : route.legacy;
  const cap = backend.concurrency;
  if (cap !== undefined && !cap.tryAcquire()) {
    breaker?.release();
    route.guards.shed();
    return 'shed';
  }
  return new Attempt(
    side,
    backend,
    candidate ? route.candidateMetrics! : route.legacyMetrics,
    breaker,
    cap,
  );
}
