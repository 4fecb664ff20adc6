// One instance's membership of the fleet: it registers itself (a heartbeat
// every second, dropped after three missed), follows the change feed (a
// versioned poll every second, woken early by the store's hint; an instance
// that fell behind the feed reloads everything), keeps or competes for the
// controller lease (10 s, renewed every 2 s, released on close) and tells
// whether the store answers. Kong polls (`db_update_frequency`) and APISIX's
// etcd watch went stale after reconnects: here the hint only wakes the poll,
// the poll alone is trusted.
import { CutoverError } from '../errors.ts';
import type { Change, FleetStore, InstanceInfo, InstanceSeen, LeaseHold } from './fleet.ts';
import { CONTROLLER_LEASE } from './namespaces.ts';
import { unavailable } from './unavailable.ts';

/** What the member logs through (pino's shape; state imports no telemetry). */
export interface FleetLogger {
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
  error(fields: object, message: string): void;
}

export interface MemberTimings {
  /** Heartbeat and feed poll period (default 1 s). */
  readonly beatMs: number;
  /** An instance silent for this long is dropped (default 3 beats). */
  readonly silentMs: number;
  /** Lease time to live (default 10 s, client-go's 15/10/2 s shortened to fit a 2 s rollback). */
  readonly leaseMs: number;
  /** Lease renewal period (default 2 s). */
  readonly renewMs: number;
}

export const DEFAULT_TIMINGS: MemberTimings = {
  beatMs: 1000,
  silentMs: 3000,
  leaseMs: 10_000,
  renewMs: 2000,
};

export interface MemberOptions {
  readonly store: FleetStore;
  readonly info: InstanceInfo;
  readonly logger: FleetLogger;
  readonly timings?: Partial<MemberTimings>;
}

/** Applies the changes of one namespace; `reload` after a gap in the feed. */
export interface FeedFollower {
  readonly namespaces: readonly string[];
  apply(change: Change): void | Promise<void>;
  reload(): Promise<void>;
}

export interface StoreHealth {
  readonly up: boolean;
  /** Why it is down ("state store unreachable: …"); null when up. */
  readonly reason: string | null;
  /** ISO 8601 of the last change. */
  readonly since: string;
}

export class FleetMember {
  readonly store: FleetStore;
  #info: InstanceInfo;
  readonly #logger: FleetLogger;
  readonly #t: MemberTimings;
  readonly #followers: FeedFollower[] = [];
  readonly #leadership = new Set<(leader: boolean) => void>();
  readonly #healthListeners = new Set<(health: StoreHealth) => void>();
  readonly #returning: (() => Promise<void>)[] = [];
  #version = 0;
  #count = 1;
  #lease: LeaseHold | undefined = undefined;
  #health: StoreHealth = { up: true, reason: null, since: new Date().toISOString() };
  /** The error that took the store down (answered again by assertUp). */
  #lastError: Error | undefined = undefined;
  #beat: NodeJS.Timeout | undefined = undefined;
  #renew: NodeJS.Timeout | undefined = undefined;
  #unhint: (() => void) | undefined = undefined;
  #polling: Promise<void> | undefined = undefined;
  #again = false;
  #closed = false;

  constructor(options: MemberOptions) {
    this.store = options.store;
    this.#info = options.info;
    this.#logger = options.logger;
    this.#t = { ...DEFAULT_TIMINGS, ...options.timings };
  }

  get id(): string {
    return this.#info.id;
  }

  get info(): InstanceInfo {
    return this.#info;
  }

  /** Where this instance's admin API answers, once it listens. */
  setAdmin(url: string): void {
    this.#info = { ...this.#info, admin: url };
  }

  get timings(): MemberTimings {
    return this.#t;
  }

  /** The version of the store this instance has applied up to. */
  get version(): number {
    return this.#version;
  }

  /** True while this instance holds the controller lease (and the store answers). */
  get leader(): boolean {
    return this.#lease !== undefined;
  }

  /** The fencing epoch of the lease held; undefined when not leader. */
  get epoch(): number | undefined {
    return this.#lease?.epoch;
  }

  /** Instances seen at the last heartbeat (at least this one); kept while the store is away. */
  get instanceCount(): number {
    return this.#count;
  }

  get health(): StoreHealth {
    return this.#health;
  }

  /** Throws StateUnavailableError while the store is down (before a write the API would acknowledge). */
  assertUp(): void {
    if (!this.#health.up) throw unavailable(this.store, this.#lastError);
  }

  follow(follower: FeedFollower): void {
    this.#followers.push(follower);
  }

  onLeadership(listener: (leader: boolean) => void): () => void {
    this.#leadership.add(listener);
    return () => this.#leadership.delete(listener);
  }

  onHealth(listener: (health: StoreHealth) => void): () => void {
    this.#healthListeners.add(listener);
    return () => this.#healthListeners.delete(listener);
  }

  /** Runs when the store answers again, before the feed is read (e.g. writing a rollback made while it was away). */
  onReturn(task: () => Promise<void>): void {
    this.#returning.push(task);
  }

  /** Reads the store's version (the caller has loaded the state), registers, and starts the loops. */
  async start(): Promise<void> {
    try {
      this.#version = await this.store.version();
      await this.store.heartbeat(this.#info, this.#t.silentMs);
      await this.#compete();
    } catch (error) {
      this.#down(error as Error);
    }
    this.#unhint = this.store.onChange(() => void this.poll());
    this.#beat = setInterval(() => void this.#tick(), this.#t.beatMs);
    this.#beat.unref();
    this.#renew = setInterval(() => void this.#compete(), this.#t.renewMs);
    this.#renew.unref();
  }

  /** A commit of ours reached `version`: nothing to fetch up to there. */
  committed(version: number): void {
    // Only when contiguous: a gap means someone else committed in between.
    if (version === this.#version + 1) this.#version = version;
  }

  /** A store call of someone else failed or answered: keeps the health honest between beats. */
  report(error: Error | undefined): void {
    if (error) this.#down(error);
  }

  async #tick(): Promise<void> {
    if (this.#closed) return;
    try {
      await this.store.heartbeat(this.#info, this.#t.silentMs);
      this.#count = Math.max(1, (await this.store.instances()).length);
      await this.#up();
    } catch (error) {
      this.#down(error as Error);
      return;
    }
    await this.poll();
  }

  /** Reads the feed now (the hint, the timer, or a test calls it); concurrent calls share one read. */
  poll(): Promise<void> {
    if (this.#polling) {
      this.#again = true;
      return this.#polling;
    }
    this.#polling = (async () => {
      try {
        do {
          this.#again = false;
          await this.#pollOnce();
        } while (this.#again && !this.#closed);
      } finally {
        this.#polling = undefined;
      }
    })();
    return this.#polling;
  }

  async #pollOnce(): Promise<void> {
    if (this.#closed) return;
    let got: Awaited<ReturnType<FleetStore['changesSince']>>;
    try {
      got = await this.store.changesSince(this.#version);
    } catch (error) {
      this.#down(error as Error);
      return;
    }
    if (got === 'reload') {
      const version = await this.store.version().catch(() => undefined);
      if (version === undefined) return;
      this.#logger.warn(
        { from: this.#version, to: version },
        'fleet state: the change feed does not reach back far enough; reloading everything',
      );
      for (const f of this.#followers) await f.reload();
      this.#version = version;
      return;
    }
    for (const change of got.changes) {
      for (const f of this.#followers) {
        if (f.namespaces.includes(change.ns)) await f.apply(change);
      }
    }
    this.#version = Math.max(this.#version, got.version);
  }

  /** Takes the lease when free, renews it when held. */
  async #compete(): Promise<void> {
    if (this.#closed) return;
    const held = this.#lease;
    try {
      if (held) {
        const kept = await this.store.renew(CONTROLLER_LEASE, this.id, held.epoch, this.#t.leaseMs);
        if (!kept) this.#lose('the lease was lost (expired or taken)');
        return;
      }
      if (!this.#health.up) return;
      const hold = await this.store.acquire(CONTROLLER_LEASE, this.id, this.#t.leaseMs);
      if (hold) {
        this.#lease = hold;
        this.#logger.info(
          { epoch: hold.epoch, instance: this.id },
          'this instance now leads the fleet',
        );
        for (const l of this.#leadership) l(true);
      }
    } catch (error) {
      this.#down(error as Error);
    }
  }

  /** A write refused for a stale epoch, or a renewal that failed: lead no more. */
  lost(why: string): void {
    this.#lose(why);
  }

  #lose(why: string): void {
    if (!this.#lease) return;
    this.#logger.warn({ epoch: this.#lease.epoch, why }, 'this instance no longer leads the fleet');
    this.#lease = undefined;
    for (const l of this.#leadership) l(false);
  }

  #down(error: Error): void {
    // Not knowing whether the lease is still ours, act as if it were not.
    this.#lose('the state store does not answer');
    if (!this.#health.up) return;
    this.#lastError = error;
    this.#setHealth({
      up: false,
      reason:
        error instanceof CutoverError ? error.message : `state store unreachable: ${error.message}`,
      since: new Date().toISOString(),
    });
    this.#logger.error({ state: this.store.description, err: error.message }, 'state store down');
  }

  async #up(): Promise<void> {
    if (this.#health.up) return;
    for (const task of this.#returning) await task();
    this.#setHealth({ up: true, reason: null, since: new Date().toISOString() });
    this.#logger.info({ state: this.store.description }, 'state store back');
    // Whatever was missed while away: the feed, or a full reload if it is too far behind.
    void this.poll();
  }

  #setHealth(health: StoreHealth): void {
    this.#health = health;
    for (const l of this.#healthListeners) l(health);
  }

  /** The fleet as the store lists it, with the lease holder marked. */
  async instances(): Promise<(InstanceSeen & { leader: boolean })[]> {
    const [seen, hold] = await Promise.all([
      this.store.instances(),
      this.store.holder(CONTROLLER_LEASE),
    ]);
    return seen.map((i) => ({ ...i, leader: i.id === hold?.holder }));
  }

  /** Stops the loops, releases the lease (a rolling deploy hands over at once) and leaves. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#beat);
    clearInterval(this.#renew);
    this.#unhint?.();
    await this.#polling;
    const held = this.#lease;
    this.#lease = undefined;
    try {
      if (held) await this.store.release(CONTROLLER_LEASE, this.id, held.epoch);
      await this.store.leave(this.id);
    } catch {
      // The store is away: the lease expires and the instance is dropped after its silence.
    }
  }
}
