// A fixed-rate (open-loop) load generator: sends are scheduled by the clock, never
// by answers, so a slow or failing gateway does not slow the offered load down the
// way a closed loop (wrk, autocannon: N connections, one request each) would.
// Each request is counted in the tally that was current when it was sent, so a
// trial's figures are those of the requests sent during it.
// SpreadLoad splits one such load evenly over several gateways (a fleet).
import { Pool } from 'undici';

export class Tally {
  sent = 0;
  ok = 0;
  /** Answers outside 2xx, by status. */
  readonly statuses = new Map<number, number>();
  /** No answer: connection errors and timeouts. */
  failed = 0;
  /** Not sent: the in-flight cap was reached (the gateway is not keeping up). */
  dropped = 0;

  get notOk(): number {
    let n = this.failed;
    for (const count of this.statuses.values()) n += count;
    return n;
  }

  describe(): string {
    const parts = [...this.statuses].map(([status, n]) => `${n}×${status}`);
    if (this.failed > 0) parts.push(`${this.failed} no answer`);
    if (this.dropped > 0) parts.push(`${this.dropped} not sent (in-flight cap)`);
    return parts.join(', ') || 'none';
  }
}

export interface OpenLoopOptions {
  readonly origin: string;
  readonly path: string;
  readonly rate: number;
  /** Cap on requests awaiting an answer; beyond it sends are dropped and counted. */
  readonly maxInFlight?: number;
  /**
   * Told each answer's latency in ms, measured from when the request was *due*
   * (not when it was sent), so a stalled generator or gateway shows up in the
   * figures instead of being hidden (coordinated omission).
   */
  readonly onAnswer?: (ms: number) => void;
}

/** How often the scheduler wakes; each wake sends what the clock says is due. */
const TICK_MS = 2;

export class OpenLoopLoad {
  readonly #pool: Pool;
  readonly #path: string;
  readonly #rate: number;
  readonly #maxInFlight: number;
  readonly #onAnswer: ((ms: number) => void) | undefined;
  #timer: NodeJS.Timeout | undefined;
  #startedAt = 0;
  #scheduled = 0;
  #inFlight = 0;
  /** Requests answered (any status) since start, and the tally new sends go to. */
  completed = 0;
  tally = new Tally();

  constructor(options: OpenLoopOptions) {
    // Connections are cheap to hold; enough that a 1,000/s stream never queues on a
    // ~1 ms round trip, and that a few slow answers do not hold up the rest.
    this.#pool = new Pool(options.origin, { connections: 128, pipelining: 1 });
    this.#path = options.path;
    this.#rate = options.rate;
    this.#maxInFlight = options.maxInFlight ?? 2000;
    this.#onAnswer = options.onAnswer;
  }

  start(): void {
    this.#startedAt = performance.now();
    this.#scheduled = 0;
    this.completed = 0;
    this.#timer = setInterval(() => this.#tick(), TICK_MS);
  }

  /** Sends scheduled per second since start, and answers received per second. */
  rates(): { offered: number; answered: number } {
    const seconds = (performance.now() - this.#startedAt) / 1000;
    return { offered: this.#scheduled / seconds, answered: this.completed / seconds };
  }

  #tick(): void {
    // Catch up on the clock rather than count wakes: timers fire late under load.
    const due = Math.floor(((performance.now() - this.#startedAt) * this.#rate) / 1000);
    while (this.#scheduled < due) {
      this.#scheduled++;
      this.#send(this.tally, this.#startedAt + (this.#scheduled * 1000) / this.#rate);
    }
  }

  #send(tally: Tally, dueAt: number): void {
    if (this.#inFlight >= this.#maxInFlight) {
      tally.dropped++;
      return;
    }
    tally.sent++;
    this.#inFlight++;
    this.#pool
      .request({
        method: 'GET',
        path: this.#path,
        headersTimeout: 5000,
        bodyTimeout: 5000,
      })
      .then(
        async (res) => {
          await res.body.dump();
          this.#onAnswer?.(performance.now() - dueAt);
          if (res.statusCode >= 200 && res.statusCode < 300) tally.ok++;
          else tally.statuses.set(res.statusCode, (tally.statuses.get(res.statusCode) ?? 0) + 1);
        },
        () => {
          tally.failed++;
        },
      )
      .finally(() => {
        this.#inFlight--;
        this.completed++;
      });
  }

  /** Stops sending, waits (bounded) for the answers still due, closes the pool. */
  async stop(): Promise<void> {
    clearInterval(this.#timer);
    const deadline = Date.now() + 6000;
    while (this.#inFlight > 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    await this.#pool.destroy();
  }
}

/**
 * One open-loop load spread evenly over several gateways (a fleet behind a load
 * balancer): `rate / origins` requests/s to each, every answer counted in one tally.
 */
export class SpreadLoad {
  readonly #loads: OpenLoopLoad[];
  #tally = new Tally();

  constructor(origins: readonly string[], path: string, rate: number) {
    this.#loads = origins.map(
      (origin) => new OpenLoopLoad({ origin, path, rate: rate / origins.length }),
    );
  }

  get tally(): Tally {
    return this.#tally;
  }

  /** New sends, to every gateway, are counted here from now on. */
  set tally(tally: Tally) {
    this.#tally = tally;
    for (const load of this.#loads) load.tally = tally;
  }

  start(): void {
    for (const load of this.#loads) {
      load.tally = this.#tally;
      load.start();
    }
  }

  /** Summed over the gateways. */
  rates(): { offered: number; answered: number } {
    let offered = 0;
    let answered = 0;
    for (const load of this.#loads) {
      const r = load.rates();
      offered += r.offered;
      answered += r.answered;
    }
    return { offered, answered };
  }

  async stop(): Promise<void> {
    await Promise.all(this.#loads.map((load) => load.stop()));
  }
}
