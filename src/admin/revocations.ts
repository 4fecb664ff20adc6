// Signed-out dashboard sessions, fleet-wide. A session cookie is checked
// without a store call (session.ts), so signing out must reach every instance
// before the cookie comes back: the session id goes into the fleet's store
// (REVOKED_SESSION_NS, valued with the cookie's expiry) and every instance
// keeps the ids it learnt in memory — from the change feed as it follows the
// fleet, and from one read of the namespace before its admin listener
// answers. A revoked id is kept until its cookie would have expired anyway;
// the instance that signs out drops the expired keys from the store in the
// same commit, so the namespace holds at most a working day of sign-outs.
import {
  type Change,
  type FeedFollower,
  type FleetMember,
  type FleetOp,
  REVOKED_SESSION_NS,
  unavailable,
} from '../state/index.ts';
import type { Session } from './session.ts';

/**
 * How often the namespace is read again, beside the feed: it closes the
 * moment between the first read (before listening) and the feed's start,
 * and it is one small read a minute.
 */
const REREAD_MS = 60_000;

export class SessionRevocations {
  /** Session id → its cookie's expiry, epoch ms. */
  readonly #revoked = new Map<string, number>();
  readonly #member: FleetMember | undefined;
  readonly #clock: () => number;
  #timer: NodeJS.Timeout | undefined = undefined;

  /** Without a member (no fleet): revoked on this instance only. */
  constructor(member: FleetMember | undefined, clock: () => number = Date.now) {
    this.#member = member;
    this.#clock = clock;
    member?.follow(this.#follower());
  }

  /** True when the session was signed out, here or on another instance. */
  has(id: string): boolean {
    return this.#revoked.has(id);
  }

  /** How many ids are held (tests, and the docs' cost figure). */
  get size(): number {
    return this.#revoked.size;
  }

  /**
   * Signs `session` out: at once on this instance, then in the store for the
   * others. Throws StateUnavailableError when the store did not take it (this
   * instance refuses the cookie all the same).
   */
  async revoke(session: Session): Promise<void> {
    this.#sweep();
    this.#add(session.id, session.expiresAt);
    const member = this.#member;
    if (!member) return;
    const store = member.store;
    member.assertUp();
    try {
      const now = this.#clock();
      const ops: FleetOp[] = [
        { op: 'set', ns: REVOKED_SESSION_NS, key: session.id, value: session.expiresAt },
      ];
      for (const [id, expiresAt] of await store.list<number>(REVOKED_SESSION_NS))
        if (expiresAt <= now) ops.push({ op: 'delete', ns: REVOKED_SESSION_NS, key: id });
      const result = await store.commit(ops);
      if (result.ok) member.committed(result.version);
    } catch (error) {
      member.report(error as Error);
      throw unavailable(store, error);
    }
  }

  /**
   * Reads what the fleet revoked (before the listener answers), then again
   * every minute. A store away at that moment does not keep the admin
   * listener down (fail static, as every fleet read): this instance then
   * knows its own sign-outs until the read or the feed succeeds.
   */
  async start(): Promise<void> {
    try {
      await this.#read();
    } catch (error) {
      this.#member?.report(error as Error);
    }
    this.#timer = setInterval(() => {
      this.#read().catch(() => {
        // The store is away: the ids held stay, the feed catches up when it returns.
      });
    }, REREAD_MS);
    this.#timer.unref();
  }

  close(): void {
    clearInterval(this.#timer);
  }

  async #read(): Promise<void> {
    const store = this.#member?.store;
    if (!store) return;
    const listed = await store.list<number>(REVOKED_SESSION_NS);
    this.#sweep();
    for (const [id, expiresAt] of listed) this.#add(id, expiresAt);
  }

  #add(id: string, expiresAt: unknown): void {
    if (typeof expiresAt === 'number' && expiresAt > this.#clock())
      this.#revoked.set(id, expiresAt);
  }

  /** A cookie past its expiry is refused anyway: its id need not be held. */
  #sweep(): void {
    const now = this.#clock();
    for (const [id, until] of this.#revoked) if (until <= now) this.#revoked.delete(id);
  }

  #follower(): FeedFollower {
    return {
      namespaces: [REVOKED_SESSION_NS],
      apply: (change: Change) => {
        // A deleted key is an expired one: its cookie is refused for its expiry.
        if (change.value !== undefined) this.#add(change.key, change.value);
      },
      reload: () => this.#read(),
    };
  }
}
