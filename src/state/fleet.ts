// The fleet interface: everything the instances of one gateway share, behind
// one contract with three implementations — Memory (one process, tests),
// Local (SQLite, several processes on one machine) and Redis (several
// machines). test/state/fleet-contract.ts runs the same suite against each.
//
// Five parts:
// - a versioned key/value store: every write bumps the store's version and is
//   logged in a change feed, so an instance polls "what changed since v";
// - one atomic `commit` of several writes, refused as a whole when the
//   writer's lease epoch is stale (fencing) or a key moved meanwhile (CAS);
// - a leadership lease with a fencing epoch that only ever grows;
// - instance registration (heartbeats) and per-second figures;
// - shared token buckets, timed by the store's clock, never an instance's.
//
// Every call may reject (a store that is down, a command timeout); callers
// decide what failing static means for them (member.ts).
import type { StateStore } from './store.ts';

/** A value with the store version of its last write. */
export interface Versioned<T> {
  readonly value: T;
  readonly version: number;
}

export type FleetOp =
  | { readonly op: 'set'; readonly ns: string; readonly key: string; readonly value: unknown }
  | { readonly op: 'delete'; readonly ns: string; readonly key: string }
  /**
   * Appends to the log `ns` under the next sequence number (from the store,
   * never from a process; 0, 1, 2, …) and drops entries older than the last
   * `keep`.
   */
  | { readonly op: 'append'; readonly ns: string; readonly value: unknown; readonly keep: number };

export interface CommitGuard {
  /** Refused ('fenced') unless `lease` is currently held at exactly this epoch (by anyone: the epoch is unique). */
  readonly lease?: { readonly name: string; readonly epoch: number };
  /** Refused ('conflict') unless each key is still at this version (0 = absent). */
  readonly expect?: readonly {
    readonly ns: string;
    readonly key: string;
    readonly version: number;
  }[];
}

export type CommitResult =
  | {
      readonly ok: true;
      /** The store's version after this commit (every op of it shares it). */
      readonly version: number;
      /** The sequence number of each 'append' op, in order. */
      readonly seqs: readonly number[];
    }
  | { readonly ok: false; readonly reason: 'fenced' | 'conflict' };

/** One key's write, as the change feed lists it. Appends to logs are not in the feed. */
export interface Change {
  readonly version: number;
  readonly ns: string;
  readonly key: string;
  /** Undefined when the key was deleted. */
  readonly value: unknown;
}

export interface ChangesSince {
  /** The store's version the answer is complete up to. */
  readonly version: number;
  /** Oldest first; only the last write of a key when several happened. */
  readonly changes: readonly Change[];
}

export interface LeaseHold {
  readonly name: string;
  readonly holder: string;
  /** Grows by one at each acquisition by a different holder or after expiry; never reused. */
  readonly epoch: number;
  /** Epoch ms by the store's clock. */
  readonly expiresAt: number;
}

export interface InstanceInfo {
  readonly id: string;
  readonly host: string;
  readonly pid: number;
  readonly version: string;
  /** ISO 8601. */
  readonly startedAt: string;
  /** Where its admin API answers, for `cutover instances`. */
  readonly admin?: string;
}

export interface InstanceSeen extends InstanceInfo {
  /** ISO 8601, by the store's clock. */
  readonly lastSeen: string;
}

/** One instance's figures for one second (the payload is telemetry's, opaque here). */
export interface FigureSlot {
  readonly instance: string;
  /** Epoch seconds. */
  readonly second: number;
  readonly payload: string;
}

/**
 * One instance's aggregate of one minute (the payload is telemetry's, opaque
 * here: src/telemetry/minute-history.ts). Keyed by kind + route + side +
 * minute + instance: writing the same key again replaces the payload (an
 * instance rewrites its current minute as it fills).
 */
export interface HistoryRow {
  /** What the payload holds (`route`, `shadow`); the store only keys by it. */
  readonly kind: string;
  readonly route: string;
  /** `legacy`, `candidate`, or '' for a row of the whole route. */
  readonly side: string;
  /** Epoch ms of the minute's start (a multiple of 60,000). */
  readonly minute: number;
  readonly instance: string;
  readonly payload: string;
}

export interface TokenGrant {
  /** Tokens granted: from 0 to the number asked. */
  readonly granted: number;
  /** Whole tokens left in the shared bucket after the grant. */
  readonly remaining: number;
  /** Milliseconds until the bucket is full again. */
  readonly fullInMs: number;
  /** Milliseconds until one token is back; 0 when tokens are left. */
  readonly nextInMs: number;
}

export interface FleetStore extends StateStore {
  readonly kind: 'memory' | 'local' | 'redis';

  // -- versioned store and change feed --------------------------------------
  getVersioned<T>(ns: string, key: string): Promise<Versioned<T> | undefined>;
  listVersioned<T>(ns: string): Promise<Map<string, Versioned<T>>>;
  /** All ops or none. set/delete of StateStore are a commit of one op with no guard. */
  commit(ops: readonly FleetOp[], guard?: CommitGuard): Promise<CommitResult>;
  /** The store's current version (0 for a new store). */
  version(): Promise<number>;
  /**
   * What changed after `version`; 'reload' when the feed no longer reaches
   * that far back (kept: at least the last 1,000 changes) or the store was
   * replaced (its version is below `version`): read everything again.
   */
  changesSince(version: number): Promise<ChangesSince | 'reload'>;
  /**
   * Calls `listener` soon after any instance commits (pub/sub in Redis; a
   * hint only: it may be lost, duplicated or late — the poll is the guarantee).
   */
  onChange(listener: () => void): () => void;
  /** The last `limit` entries of a log, oldest first. */
  entries<T>(ns: string, limit: number): Promise<{ seq: number; value: T }[]>;

  // -- lease ------------------------------------------------------------------
  /** Takes the lease if it is free or expired, or renews it if `holder` holds it; undefined when another holds it. */
  acquire(name: string, holder: string, ttlMs: number): Promise<LeaseHold | undefined>;
  /** Extends the lease if `holder` still holds it at `epoch`; false when it was lost. */
  renew(name: string, holder: string, epoch: number, ttlMs: number): Promise<boolean>;
  /** Gives the lease up at once (SIGTERM) if held at `epoch`; the epoch is not reused. */
  release(name: string, holder: string, epoch: number): Promise<void>;
  /** The current unexpired holder, if any. */
  holder(name: string): Promise<LeaseHold | undefined>;

  // -- instances and figures ----------------------------------------------------
  /** Registers or refreshes the instance; it is listed until `ttlMs` without a heartbeat. */
  heartbeat(info: InstanceInfo, ttlMs: number): Promise<void>;
  /** Instances seen within their ttl, oldest start first. */
  instances(): Promise<InstanceSeen[]>;
  /** Removes the instance at once (clean shutdown). */
  leave(id: string): Promise<void>;
  /** Stores one instance's figures for a second; kept `retainSeconds`, then dropped by the store. */
  publishFigures(slot: FigureSlot, retainSeconds: number): Promise<void>;
  /** Every instance's slots with fromSecond <= second <= toSecond. */
  readFigures(fromSecond: number, toSecond: number): Promise<FigureSlot[]>;

  // -- minute history (the report's) ------------------------------------------------
  /**
   * Upserts the rows (one step: all or none) and drops rows whose minute is
   * older than `retainMs` by the store's clock; a row already that old is not
   * written. Pruning is bounded per call (an hour of minutes at most), so a
   * shortened retention is caught up over a few writes, never in one long step.
   */
  writeHistory(rows: readonly HistoryRow[], retainMs: number): Promise<void>;
  /** Rows with fromMs <= minute <= untilMs (of `route` only, when given), by minute, route, kind, side, instance. */
  readHistory(fromMs: number, untilMs: number, route?: string): Promise<HistoryRow[]>;

  // -- shared counters -----------------------------------------------------------
  /**
   * Takes up to `want` tokens from the shared bucket `key` (capacity `burst`,
   * refilled at `rps` a second by the store's clock), atomically.
   */
  takeTokens(key: string, rps: number, burst: number, want: number): Promise<TokenGrant>;

  /** Resolves when the store answers (health checks). */
  ping(): Promise<void>;
}
