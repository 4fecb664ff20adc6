// The connections of one backend instance, and the requests waiting for one.
// undici's Pool queues without bound and without a deadline when all its
// connections are busy, and a request can only leave that queue by aborting
// when its turn comes, which destroys a healthy upstream connection. So the
// gateway keeps its own count and queue in front of the pool, as Envoy's
// circuit breaker does (max_pending_requests, 1024 by default) and nginx's
// upstream `queue` directive (a number and a timeout): an attempt takes a
// connection or waits for one first come first served, at most `maxQueued`
// waiting and each at most `queueTimeout`. A refusal is the gateway's own
// answer (503 or a fallback), never an outcome of the backend.
import type { BackendQueueMetrics } from '../telemetry/index.ts';

/** An attempt waiting for a connection; exactly one of the two is called, unless it leaves first. */
export interface QueuedAttempt {
  /** A connection is now the attempt's: send, and release() when the attempt ends. */
  admitted(): void;
  /** No connection for it: the queue was full, or it waited `queueTimeout`. */
  refused(reason: 'full' | 'timeout'): void;
}

export class UpstreamQueue {
  readonly #connections: number;
  readonly #metrics: BackendQueueMetrics;
  #maxQueued: number;
  #timeout: number;
  /** Attempts holding a connection. */
  #active: number;
  /** Waiting attempts by deadline (performance.now() ms), oldest first (a Map keeps insertion order). */
  readonly #waiting: Map<QueuedAttempt, number>;
  /** One timer, for the oldest waiter: all share one timeout, so deadlines come in order. */
  #timer: NodeJS.Timeout | undefined;

  constructor(
    connections: number,
    maxQueued: number,
    timeout: number,
    metrics: BackendQueueMetrics,
  ) {
    this.#connections = connections;
    this.#metrics = metrics;
    this.#maxQueued = maxQueued;
    this.#timeout = timeout;
    this.#active = 0;
    this.#waiting = new Map();
    this.#timer = undefined;
  }

  /** New limits from a reloaded config; waiters keep the deadline they were given. */
  configure(maxQueued: number, timeout: number): void {
    this.#maxQueued = maxQueued;
    this.#timeout = timeout;
  }

  get active(): number {
    return this.#active;
  }

  get waiting(): number {
    return this.#waiting.size;
  }

  /** Takes a free connection; false when all are busy (or others wait already: no overtaking). */
  tryTake(): boolean {
    if (this.#active >= this.#connections || this.#waiting.size > 0) return false;
    this.#active++;
    return true;
  }

  /** Queue `attempt`; it is refused at once (reason `full`) when `maxQueued` already wait. */
  wait(attempt: QueuedAttempt): void {
    if (this.#waiting.size >= this.#maxQueued) {
      this.#metrics.rejected('full');
      attempt.refused('full');
      return;
    }
    this.#waiting.set(attempt, performance.now() + this.#timeout);
    this.#metrics.waiting(1);
    if (this.#timer === undefined) this.#arm(this.#timeout);
  }

  /** The attempt stopped waiting by itself (its client went away). */
  leave(attempt: QueuedAttempt): void {
    if (this.#waiting.delete(attempt)) this.#metrics.waiting(-1);
    if (this.#waiting.size === 0) this.#disarm();
  }

  /** An attempt that held a connection is over: the connection goes to the oldest waiter. */
  release(): void {
    this.#active--;
    for (const attempt of this.#waiting.keys()) {
      if (this.#active >= this.#connections) break;
      this.#waiting.delete(attempt);
      this.#metrics.waiting(-1);
      this.#active++;
      attempt.admitted();
    }
    if (this.#waiting.size === 0) this.#disarm();
  }

  #arm(ms: number): void {
    this.#timer = setTimeout(onQueueTimer, Math.max(1, ms), this);
    this.#timer.unref();
  }

  #disarm(): void {
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
  }

  /** Refuse every waiter past its deadline; re-arm for the next one. */
  expire(): void {
    this.#timer = undefined;
    const now = performance.now();
    for (const [attempt, deadline] of this.#waiting) {
      if (deadline > now) {
        this.#arm(deadline - now);
        return;
      }
      this.#waiting.delete(attempt);
      this.#metrics.waiting(-1);
      this.#metrics.rejected('timeout');
      attempt.refused('timeout');
    }
  }
}

function onQueueTimer(queue: UpstreamQueue): void {
  queue.expire();
}
