// The Local fleet (`state: sqlite:PATH`): the instances of one machine share
// one SQLite file (node:sqlite, no native addon). Each process opens its own
// connection; every atomic step of the contract (src/state/fleet.ts) is one
// `BEGIN IMMEDIATE … COMMIT`, so SQLite's write lock serialises the processes
// the way Redis runs one script at a time.
//
// The store's clock is the machine's clock (Date.now): every process of the
// fleet runs on this machine and reads the same one. Lease expiry and token
// refills are computed from it inside the transaction.
import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { DatabaseSync } from 'node:sqlite';
import { StateError } from '../errors.ts';
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
} from './fleet.ts';
import { HISTORY_PRUNE_SPAN_MS } from './history-rows.ts';
import { checkpointInBackground } from './local/checkpoints.ts';
import { ChangeHints } from './local/hints.ts';
import { openDatabase } from './local/schema.ts';
import { prepareAll, type Statements } from './local/statements.ts';
import { Transactions } from './local/transaction.ts';
import { FEED_KEEP, refill } from './rules.ts';

export interface LocalFleetOptions {
  /** The store's clock, epoch ms (tests). Default Date.now. */
  readonly clock?: () => number;
  /** How often `PRAGMA data_version` is polled while someone listens. Default 100 ms. */
  readonly pollMs?: number;
  /** How long one step may wait for another process's lock in all. Default 2,000 ms. */
  readonly busyBudgetMs?: number;
  /**
   * SQLite's own busy wait (PRAGMA busy_timeout) per attempt, which sleeps on
   * the event loop. Default 0: every wait is on timers (local/transaction.ts).
   */
  readonly busyWaitMs?: number;
  /**
   * How often the checkpointer thread copies the log into the file
   * (local/checkpoints.ts). Default 100 ms; 0 leaves it to SQLite, inside the
   * commit that crosses 1,000 pages of log.
   */
  readonly checkpointMs?: number;
}

/** Feed rows leave in batches: one prune every this many rows keeps commits short. */
const PRUNE_EVERY = 64;

/** An op with its JSON done before the transaction (so the lock is held for SQL only). */
type PreparedOp =
  | {
      readonly op: 'set' | 'delete';
      readonly ns: string;
      readonly key: string;
      readonly text?: string;
    }
  | { readonly op: 'append'; readonly ns: string; readonly text: string; readonly keep: number };

interface LeaseRow {
  holder: string;
  epoch: number;
  expires_at: number;
}

export class LocalFleet implements FleetStore {
  readonly description: string;
  readonly kind = 'local';
  readonly #db: DatabaseSync;
  readonly #tx: Transactions;
  readonly #hints: ChangeHints;
  readonly #clock: () => number;
  readonly #sql: Statements;
  readonly #stopCheckpoints: () => void;

  constructor(path: string, options: LocalFleetOptions = {}) {
    const file = resolve(path);
    this.description = `sqlite:${file}`;
    this.#clock = options.clock ?? Date.now;
    const budget = options.busyBudgetMs ?? 2000;
    try {
      mkdirSync(dirname(file), { recursive: true });
      this.#db = openDatabase(file, options.busyWaitMs ?? 0, budget);
    } catch (cause) {
      throw new StateError(`cannot open state ${this.description}: ${(cause as Error).message}`, {
        cause,
      });
    }
    const every = options.checkpointMs ?? 100;
    this.#stopCheckpoints = every > 0 ? checkpointInBackground(file, this.#db, every) : () => {};
    this.#sql = prepareAll(this.#db);
    this.#tx = new Transactions(this.#db, budget, this.description);
    this.#hints = new ChangeHints(this.#db, () => this.#meta('version'), options.pollMs ?? 100);
  }

  // -- StateStore -----------------------------------------------------------

  async get<T>(ns: string, key: string): Promise<T | undefined> {
    return (await this.getVersioned<T>(ns, key))?.value;
  }

  async set(ns: string, key: string, value: unknown): Promise<void> {
    await this.commit([{ op: 'set', ns, key, value }]);
  }

  async delete(ns: string, key: string): Promise<boolean> {
    const ops = prepareOps([{ op: 'delete', ns, key }]);
    // The check and the delete are one step: a key deleted meanwhile by
    // another process is reported absent, and no version is spent on it.
    const version = await this.#tx.write(() =>
      this.#sql.kvVersion.get(ns, key) ? this.#apply(ops, this.#clock()).version : 0,
    );
    if (version > 0) this.#hints.committed(version);
    return version > 0;
  }

  async list<T>(ns: string): Promise<Map<string, T>> {
    const out = new Map<string, T>();
    for (const [k, v] of await this.listVersioned<T>(ns)) out.set(k, v.value);
    return out;
  }

  // -- versioned store and change feed --------------------------------------

  async getVersioned<T>(ns: string, key: string): Promise<Versioned<T> | undefined> {
    const row = this.#tx.query(() => this.#sql.kvGet.get(ns, key)) as
      | { value: string; version: number }
      | undefined;
    return row && { value: JSON.parse(row.value) as T, version: row.version };
  }

  async listVersioned<T>(ns: string): Promise<Map<string, Versioned<T>>> {
    const rows = this.#tx.query(() => this.#sql.kvList.all(ns)) as {
      key: string;
      value: string;
      version: number;
    }[];
    return new Map(
      rows.map((r) => [r.key, { value: JSON.parse(r.value) as T, version: r.version }]),
    );
  }

  async commit(ops: readonly FleetOp[], guard: CommitGuard = {}): Promise<CommitResult> {
    const prepared = prepareOps(ops);
    const result = await this.#tx.write((): CommitResult => {
      const now = this.#clock();
      if (guard.lease) {
        const l = this.#sql.leaseGet.get(guard.lease.name) as LeaseRow | undefined;
        if (!l || l.epoch !== guard.lease.epoch || l.expires_at <= now)
          return { ok: false, reason: 'fenced' };
      }
      for (const e of guard.expect ?? []) {
        const row = this.#sql.kvVersion.get(e.ns, e.key) as { version: number } | undefined;
        if ((row?.version ?? 0) !== e.version) return { ok: false, reason: 'conflict' };
      }
      return this.#apply(prepared, now);
    });
    if (result.ok) this.#hints.committed(result.version);
    return result;
  }

  /** The writes of one commit, inside its transaction, after its checks passed. */
  #apply(ops: readonly PreparedOp[], now: number): { ok: true; version: number; seqs: number[] } {
    const { value: version } = this.#sql.bumpVersion.get() as { value: number };
    const seqs: number[] = [];
    let firstId = 0;
    let lastId = 0;
    for (const op of ops) {
      if (op.op === 'append') {
        seqs.push(this.#append(op.ns, op.text, op.keep));
        continue;
      }
      if (op.text === undefined) this.#sql.kvDelete.run(op.ns, op.key);
      else this.#sql.kvPut.run(op.ns, op.key, op.text, now, version);
      lastId = Number(
        this.#sql.feedAdd.run(version, op.ns, op.key, op.text ?? null).lastInsertRowid,
      );
      if (firstId === 0) firstId = lastId;
    }
    if (lastId > 0 && Math.floor(lastId / PRUNE_EVERY) > Math.floor((firstId - 1) / PRUNE_EVERY)) {
      // Rows leave by id; the floor is the newest version that lost a row, so
      // an instance at or past it still gets every change it is missing.
      const cut = lastId - FEED_KEEP;
      this.#sql.raiseFloor.run(cut);
      this.#sql.feedPrune.run(cut);
    }
    return { ok: true, version, seqs };
  }

  #append(ns: string, text: string, keep: number): number {
    const { value } = this.#sql.nextSeq.get(`log:${ns}`) as { value: number };
    const seq = value - 1;
    this.#sql.logAdd.run(ns, seq, text);
    this.#sql.logPrune.run(ns, seq - keep);
    return seq;
  }

  async version(): Promise<number> {
    return this.#tx.query(() => this.#meta('version'));
  }

  async changesSince(version: number): Promise<ChangesSince | 'reload'> {
    return this.#tx.read(() => {
      const current = this.#meta('version');
      if (version > current || version < this.#meta('feed_floor')) return 'reload';
      const rows = this.#sql.feedSince.all(version) as {
        version: number;
        ns: string;
        key: string;
        value: string | null;
      }[];
      const last = new Map<string, (typeof rows)[number]>();
      for (const r of rows) last.set(`${r.ns}\u0000${r.key}`, r);
      const changes = [...last.values()]
        .sort((a, b) => a.version - b.version)
        .map((r) => ({
          version: r.version,
          ns: r.ns,
          key: r.key,
          value: r.value === null ? undefined : JSON.parse(r.value),
        }));
      return { version: current, changes };
    });
  }

  onChange(listener: () => void): () => void {
    return this.#hints.listen(listener);
  }

  async entries<T>(ns: string, limit: number): Promise<{ seq: number; value: T }[]> {
    const rows = this.#tx.query(() => this.#sql.logLast.all(ns, limit)) as {
      seq: number;
      value: string;
    }[];
    return rows.reverse().map((r) => ({ seq: r.seq, value: JSON.parse(r.value) as T }));
  }

  // -- lease ------------------------------------------------------------------

  async acquire(name: string, holder: string, ttlMs: number): Promise<LeaseHold | undefined> {
    return this.#tx.write(() => {
      const now = this.#clock();
      const cur = this.#sql.leaseGet.get(name) as LeaseRow | undefined;
      const live = cur !== undefined && cur.expires_at > now;
      if (live && cur.holder !== holder) return undefined;
      // The row outlives a release or an expiry, so its epoch is the last given.
      const epoch = live ? cur.epoch : (cur?.epoch ?? 0) + 1;
      this.#sql.leasePut.run(name, holder, epoch, now + ttlMs);
      return { name, holder, epoch, expiresAt: now + ttlMs };
    });
  }

  async renew(name: string, holder: string, epoch: number, ttlMs: number): Promise<boolean> {
    return this.#tx.write(() => {
      const now = this.#clock();
      return this.#sql.leaseRenew.run(now + ttlMs, name, holder, epoch, now).changes > 0;
    });
  }

  async release(name: string, holder: string, epoch: number): Promise<void> {
    await this.#tx.write(() => this.#sql.leaseRelease.run(name, holder, epoch));
  }

  async holder(name: string): Promise<LeaseHold | undefined> {
    const cur = this.#tx.query(() => this.#sql.leaseGet.get(name)) as LeaseRow | undefined;
    if (!cur || cur.expires_at <= this.#clock()) return undefined;
    return { name, holder: cur.holder, epoch: cur.epoch, expiresAt: cur.expires_at };
  }

  // -- instances and figures ----------------------------------------------------

  async heartbeat(info: InstanceInfo, ttlMs: number): Promise<void> {
    const text = JSON.stringify(info);
    await this.#tx.write(() => {
      const now = this.#clock();
      this.#sql.instancePut.run(info.id, text, info.startedAt, now, ttlMs);
      // Instances that stopped beating are dropped here, lazily: no sweeper.
      this.#sql.instancesExpire.run(now);
    });
  }

  async instances(): Promise<InstanceSeen[]> {
    const rows = this.#tx.query(() => this.#sql.instancesLive.all(this.#clock())) as {
      info: string;
      last_seen: number;
    }[];
    return rows.map((r) => ({
      ...(JSON.parse(r.info) as InstanceInfo),
      lastSeen: new Date(r.last_seen).toISOString(),
    }));
  }

  async leave(id: string): Promise<void> {
    await this.#tx.write(() => this.#sql.instanceDelete.run(id));
  }

  async publishFigures(slot: FigureSlot, retainSeconds: number): Promise<void> {
    await this.#tx.write(() => {
      this.#sql.figurePut.run(slot.second, slot.instance, slot.payload);
      // Old seconds are dropped by whoever publishes next, lazily.
      this.#sql.figuresExpire.run(Math.floor(this.#clock() / 1000) - retainSeconds);
    });
  }

  async readFigures(fromSecond: number, toSecond: number): Promise<FigureSlot[]> {
    const rows = this.#tx.query(() =>
      this.#sql.figuresRange.all(fromSecond, toSecond),
    ) as unknown as FigureSlot[];
    // Plain objects, like the other fleets' (node:sqlite rows have no prototype).
    return rows.map((r) => ({ instance: r.instance, second: r.second, payload: r.payload }));
  }

  // -- minute history ----------------------------------------------------------------

  async writeHistory(rows: readonly HistoryRow[], retainMs: number): Promise<void> {
    await this.#tx.write(() => {
      const oldest = this.#clock() - retainMs;
      for (const r of rows) {
        if (r.minute < oldest) continue;
        this.#sql.historyPut.run(r.minute, r.route, r.kind, r.side, r.instance, r.payload);
      }
      this.#sql.historyPrune.run(oldest, HISTORY_PRUNE_SPAN_MS);
    });
  }

  async readHistory(fromMs: number, untilMs: number, route?: string): Promise<HistoryRow[]> {
    const rows = this.#tx.query(() =>
      route === undefined
        ? this.#sql.historyRange.all(fromMs, untilMs)
        : this.#sql.historyRouteRange.all(fromMs, untilMs, route),
    ) as unknown as HistoryRow[];
    return rows.map((r) => ({
      kind: r.kind,
      route: r.route,
      side: r.side,
      minute: r.minute,
      instance: r.instance,
      payload: r.payload,
    }));
  }

  // -- shared counters -----------------------------------------------------------

  async takeTokens(key: string, rps: number, burst: number, want: number): Promise<TokenGrant> {
    return this.#tx.write(() => {
      const now = this.#clock();
      const b = (this.#sql.bucketGet.get(key) as { tokens: number; at: number } | undefined) ?? {
        tokens: burst,
        at: now,
      };
      const { grant, tokens } = refill(b.tokens, b.at, now, rps, burst, want);
      this.#sql.bucketPut.run(key, tokens, now);
      return grant;
    });
  }

  async ping(): Promise<void> {
    this.#tx.query(() => this.#sql.ping.get());
  }

  async close(): Promise<void> {
    this.#hints.stop();
    this.#stopCheckpoints();
    if (this.#db.isOpen) this.#db.close();
  }

  #meta(name: string): number {
    return (this.#sql.metaGet.get(name) as { value: number } | undefined)?.value ?? 0;
  }
}

function prepareOps(ops: readonly FleetOp[]): PreparedOp[] {
  return ops.map((op) => {
    if (op.op === 'append')
      return { op: 'append', ns: op.ns, text: JSON.stringify(op.value), keep: op.keep };
    // A set of undefined stores nothing: like the Memory fleet, it deletes.
    const text = op.op === 'set' ? JSON.stringify(op.value) : undefined;
    return { op: op.op, ns: op.ns, key: op.key, text };
  });
}
