// The fleet on Redis (`state: redis://…`): several machines share one
// versioned store, change feed, lease, instance list, figures and token
// buckets. Every atomic step is one Lua script (scripts-store.ts,
// scripts-fleet.ts); reads of one hash or sorted set are plain commands.
//
// Three connections: `main` for everything but token takes (1 s timeout),
// `fast` for takeTokens (50 ms: it is on the request path, and on a socket of
// its own no large read queues ahead of it), and, once someone listens, a
// subscriber for the change hint. Every call may reject with
// StateUnavailableError or StateTimeoutError; callers fail static.
//
// Unlike Memory and Local, a new Redis store's version starts at its creation
// time in ms, not 0 (scripts-store.ts says why): `version()` on an empty Redis
// answers that start, and `changesSince(0)` answers 'reload'.
import { describeRedisTarget, parseRedisUrl, STATE_PREFIX } from '../../config/index.ts';
import { StateError } from '../../errors.ts';
import type {
  ChangesSince,
  CommitGuard,
  CommitResult,
  FigureSlot,
  FleetOp,
  FleetStore,
  HistoryRow,
  InstanceInfo,
  InstanceSeen,
  LeaseHold,
  TokenGrant,
  Versioned,
} from '../fleet.ts';
import {
  compareHistoryRows,
  HISTORY_PRUNE_SPAN_MS,
  historyField,
  historyRoutePrefix,
  historyRowOf,
} from '../history-rows.ts';
import { RedisConnection } from './connection.ts';
import { FleetKeys } from './keys.ts';
import * as reply from './replies.ts';
import {
  ACQUIRE,
  HEARTBEAT,
  HOLDER,
  INSTANCES,
  LEAVE,
  PUBLISH_FIGURES,
  READ_FIGURES,
  RELEASE,
  RENEW,
  TAKE_TOKENS,
} from './scripts-fleet.ts';
import { READ_HISTORY, WRITE_HISTORY } from './scripts-history.ts';
import { CHANGES, COMMIT, VERSION } from './scripts-store.ts';

export interface RedisFleetOptions {
  /** redis://, rediss://, redis+sentinel:// or redis+cluster:// (config/redis-url.ts). */
  readonly url: string;
  /** Key prefix and hash tag; default `cutover`. Fleets with different prefixes share one Redis. */
  readonly prefix?: string;
  /** ms before any call but takeTokens fails with StateTimeoutError; default 1000. */
  readonly commandTimeout?: number;
  /** ms before takeTokens (the request path) fails with StateTimeoutError; default 50. */
  readonly tokenTimeout?: number;
}

/** Told once per change: true when the connection to Redis is up, false with the reason when it is lost. */
export type ConnectionListener = (up: boolean, reason?: string) => void;

const DEFAULT_PREFIX = 'cutover';
const DEFAULT_COMMAND_TIMEOUT_MS = 1_000;
const DEFAULT_TOKEN_TIMEOUT_MS = 50;
/** Minutes of history one read script visits: a few ms of Redis's time, then the next call. */
const HISTORY_READ_MINUTES = 60;

export class RedisFleet implements FleetStore {
  readonly kind = 'redis';
  /** `redis://host:port/db prefix P`, never the password. */
  readonly description: string;
  readonly #keys: FleetKeys;
  readonly #main: RedisConnection;
  readonly #fast: RedisConnection;
  #sub: RedisConnection | undefined;
  readonly #open: () => RedisConnection;
  readonly #changeListeners = new Set<() => void>();
  readonly #connectionListeners = new Set<ConnectionListener>();
  #up: boolean | undefined;
  #closed = false;

  constructor(options: RedisFleetOptions) {
    const target = parseRedisUrl(options.url);
    if ('error' in target) throw new StateError(`state: ${target.error}`);
    const prefix = options.prefix ?? DEFAULT_PREFIX;
    if (!STATE_PREFIX.test(prefix))
      throw new StateError(`state prefix ${JSON.stringify(prefix)}: expected ${STATE_PREFIX}`);
    const store = `${describeRedisTarget(target)} prefix ${prefix}`;
    this.description = store;
    this.#keys = new FleetKeys(prefix);
    const name = (role: string) => `cutover:${prefix}:${role}`;
    const timeout = options.commandTimeout ?? DEFAULT_COMMAND_TIMEOUT_MS;
    this.#main = new RedisConnection(target, { name: name('main'), timeout }, store);
    const tokenTimeout = options.tokenTimeout ?? DEFAULT_TOKEN_TIMEOUT_MS;
    this.#fast = new RedisConnection(
      target,
      { name: name('tokens'), timeout: tokenTimeout },
      store,
    );
    this.#open = () =>
      new RedisConnection(
        target,
        { name: name('hint'), timeout: undefined, subscriber: true },
        store,
      );
    this.#main.client.on('ready', () => this.#setUp(true));
    this.#main.client.on('close', () =>
      this.#setUp(false, this.#main.lastError ?? 'connection closed'),
    );
  }

  /** Whether the main connection is up right now. */
  get connected(): boolean {
    return this.#main.ready;
  }

  /** Calls `listener` once per change of the connection (up, or down with the reason); returns the unsubscribe. */
  onConnection(listener: ConnectionListener): () => void {
    this.#connectionListeners.add(listener);
    return () => this.#connectionListeners.delete(listener);
  }

  #setUp(up: boolean, reason?: string): void {
    if (this.#closed || this.#up === up) return;
    this.#up = up;
    for (const l of [...this.#connectionListeners]) l(up, reason);
  }

  // -- StateStore ---------------------------------------------------------------

  async get<T>(ns: string, key: string): Promise<T | undefined> {
    return (await this.getVersioned<T>(ns, key))?.value;
  }

  async set(ns: string, key: string, value: unknown): Promise<void> {
    await this.commit([{ op: 'set', ns, key, value }]);
  }

  /** Deletes the key if present (a commit that expects the version just read, retried if it moved). */
  async delete(ns: string, key: string): Promise<boolean> {
    for (;;) {
      const cur = await this.getVersioned(ns, key);
      if (!cur) return false;
      const done = await this.commit([{ op: 'delete', ns, key }], {
        expect: [{ ns, key, version: cur.version }],
      });
      if (done.ok) return true;
    }
  }

  async list<T>(ns: string): Promise<Map<string, T>> {
    const out = new Map<string, T>();
    for (const [k, v] of await this.listVersioned<T>(ns)) out.set(k, v.value);
    return out;
  }

  // -- versioned store and change feed -------------------------------------------

  async getVersioned<T>(ns: string, key: string): Promise<Versioned<T> | undefined> {
    const stored = await this.#main.call('get', (c) => c.hget(this.#keys.values(ns), key));
    return stored === null ? undefined : reply.versioned<T>(stored);
  }

  async listVersioned<T>(ns: string): Promise<Map<string, Versioned<T>>> {
    const all = await this.#main.call('list', (c) => c.hgetall(this.#keys.values(ns)));
    const out = new Map<string, Versioned<T>>();
    for (const k of Object.keys(all).sort()) out.set(k, reply.versioned<T>(all[k]));
    return out;
  }

  async commit(ops: readonly FleetOp[], guard: CommitGuard = {}): Promise<CommitResult> {
    const args = reply.commitArgs(ops, guard);
    return reply.commitResult(await this.#versioned(COMMIT, args));
  }

  async version(): Promise<number> {
    return Number(await this.#versioned(VERSION, []));
  }

  async changesSince(version: number): Promise<ChangesSince | 'reload'> {
    return reply.changesSince(await this.#versioned(CHANGES, [version]));
  }

  onChange(listener: () => void): () => void {
    const once = () => listener();
    this.#changeListeners.add(once);
    this.#subscribe();
    return () => this.#changeListeners.delete(once);
  }

  async entries<T>(ns: string, limit: number): Promise<{ seq: number; value: T }[]> {
    if (limit <= 0) return [];
    const log = this.#keys.log(ns);
    return reply.logEntries<T>(
      await this.#main.call('entries', (c) => c.zrange(log, String(-limit), '-1')),
    );
  }

  // -- lease ---------------------------------------------------------------------

  async acquire(name: string, holder: string, ttlMs: number): Promise<LeaseHold | undefined> {
    return reply.leaseHold(name, holder, await this.#versioned(ACQUIRE, [name, holder, ttlMs]));
  }

  async renew(name: string, holder: string, epoch: number, ttlMs: number): Promise<boolean> {
    return Number(await this.#versioned(RENEW, [name, holder, epoch, ttlMs])) === 1;
  }

  async release(name: string, holder: string, epoch: number): Promise<void> {
    await this.#versioned(RELEASE, [name, holder, epoch]);
  }

  async holder(name: string): Promise<LeaseHold | undefined> {
    return reply.leaseHolder(name, await this.#versioned(HOLDER, [name]));
  }

  // -- instances and figures -------------------------------------------------------

  async heartbeat(info: InstanceInfo, ttlMs: number): Promise<void> {
    await this.#versioned(HEARTBEAT, [info.id, reply.jsonText(info), ttlMs]);
  }

  async instances(): Promise<InstanceSeen[]> {
    return reply.instances(await this.#versioned(INSTANCES, []));
  }

  async leave(id: string): Promise<void> {
    await this.#versioned(LEAVE, [id]);
  }

  async publishFigures(slot: FigureSlot, retainSeconds: number): Promise<void> {
    const index = this.#keys.figuresIndex;
    const args = [slot.second, slot.instance, slot.payload, retainSeconds];
    await this.#main.call(PUBLISH_FIGURES.name, (c) => PUBLISH_FIGURES.run(c, [index], args));
  }

  async readFigures(fromSecond: number, toSecond: number): Promise<FigureSlot[]> {
    const index = this.#keys.figuresIndex;
    const args = [fromSecond, toSecond];
    return reply.figures(
      await this.#main.call(READ_FIGURES.name, (c) => READ_FIGURES.run(c, [index], args)),
    );
  }

  // -- minute history ------------------------------------------------------------------

  async writeHistory(rows: readonly HistoryRow[], retainMs: number): Promise<void> {
    const index = this.#keys.historyIndex;
    const args: (string | number)[] = [retainMs, HISTORY_PRUNE_SPAN_MS];
    for (const r of rows) args.push(r.minute, historyField(r), r.payload);
    await this.#main.call(WRITE_HISTORY.name, (c) => WRITE_HISTORY.run(c, [index], args));
  }

  async readHistory(fromMs: number, untilMs: number, route?: string): Promise<HistoryRow[]> {
    const index = this.#keys.historyIndex;
    const prefix = route === undefined ? '' : historyRoutePrefix(route);
    const out: HistoryRow[] = [];
    let from = fromMs;
    for (;;) {
      const args = [from, untilMs, prefix, HISTORY_READ_MINUTES];
      const flat = (await this.#main.call(READ_HISTORY.name, (c) =>
        READ_HISTORY.run(c, [index], args),
      )) as (string | number)[];
      const minutes = Number(flat[0]);
      for (let i = 1; i + 2 < flat.length; i += 3) {
        const row = historyRowOf(Number(flat[i]), String(flat[i + 1]), String(flat[i + 2]));
        if (row) out.push(row);
      }
      if (minutes < HISTORY_READ_MINUTES) break;
      from = Number(flat[flat.length - 1]) + 1;
    }
    return out.sort(compareHistoryRows);
  }

  // -- shared counters -------------------------------------------------------------

  async takeTokens(key: string, rps: number, burst: number, want: number): Promise<TokenGrant> {
    const bucket = this.#keys.bucket(key);
    return reply.tokenGrant(
      await this.#fast.call(TAKE_TOKENS.name, (c) =>
        TAKE_TOKENS.run(c, [bucket], [rps, burst, want]),
      ),
    );
  }

  async ping(): Promise<void> {
    await this.#main.call('ping', (c) => c.ping());
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#changeListeners.clear();
    this.#connectionListeners.clear();
    this.#main.close();
    this.#fast.close();
    this.#sub?.close();
  }

  /** Runs a versioned-state script (KEYS[1] = the version key) on the main connection. */
  #versioned(script: typeof COMMIT, args: readonly (string | number)[]): Promise<unknown> {
    return this.#main.call(script.name, (c) => script.run(c, [this.#keys.version], args));
  }

  /**
   * The hint: the commit script publishes on `{prefix}:changes`. Listeners are
   * also called once subscribed and after every resubscription, since
   * messages published meanwhile are lost (the poll is the guarantee; this
   * only makes it sooner).
   */
  #subscribe(): void {
    if (this.#sub || this.#closed) return;
    const sub = this.#open();
    this.#sub = sub;
    const channel = this.#keys.channel;
    let subscribed = false;
    sub.client.on('message', (from: string) => {
      if (from === channel) this.#hint();
    });
    sub.client.on('ready', () => {
      if (subscribed) this.#hint();
    });
    sub.client.subscribe(channel).then(
      () => {
        subscribed = true;
        this.#hint();
      },
      () => {}, // closed before it was subscribed
    );
  }

  #hint(): void {
    for (const l of this.#changeListeners) queueMicrotask(l);
  }
}
