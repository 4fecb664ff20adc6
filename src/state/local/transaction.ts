// One atomic step of the Local fleet: `BEGIN IMMEDIATE … COMMIT` on one
// connection, retried while another process holds the file's write lock.
//
// node:sqlite is synchronous, so SQLite's own busy wait (PRAGMA busy_timeout)
// would sleep on the event loop, at least 1 ms even when the other process's
// commit takes 15 µs. The fleet sets it to 0 by default and waits here
// instead, between attempts, on timers: requests keep flowing meanwhile.
// bench/local-fleet-micro.ts measured the same takes/s either way and fewer
// long event-loop holds with 0 (docs/decisions.md, "Local fleet on SQLite").
import type { DatabaseSync, StatementSync } from 'node:sqlite';
import { StateError } from '../../errors.ts';

// SQLite result codes (https://sqlite.org/rescode.html); extended codes keep
// the primary one in their low byte (SQLITE_BUSY_SNAPSHOT = 517 = 5 | 2 << 8).
const SQLITE_BUSY = 5;

/** True when `err` is SQLite saying another connection holds the lock. */
export function isBusy(err: unknown): boolean {
  const code = (err as { errcode?: unknown } | null)?.errcode;
  return typeof code === 'number' && (code & 0xff) === SQLITE_BUSY;
}

/** Pauses between attempts: short first (the usual holder is another commit), then longer. */
const BACKOFF_MS = [1, 2, 5, 10, 20, 50];

export class Transactions {
  readonly #db: DatabaseSync;
  readonly #budgetMs: number;
  readonly #description: string;
  readonly #begin: StatementSync;
  readonly #commit: StatementSync;
  readonly #rollback: StatementSync;

  /** `budgetMs`: how long one step may wait for the lock in all before it fails. */
  constructor(db: DatabaseSync, budgetMs: number, description: string) {
    this.#db = db;
    this.#budgetMs = budgetMs;
    this.#description = description;
    this.#begin = db.prepare('BEGIN IMMEDIATE');
    this.#commit = db.prepare('COMMIT');
    this.#rollback = db.prepare('ROLLBACK');
  }

  /**
   * Runs `work` in one write transaction and returns its result. `work` may
   * run more than once (after a busy attempt), so it must only touch the
   * database; what it decides takes effect when this resolves.
   */
  async write<T>(work: () => T): Promise<T> {
    const end = Date.now() + this.#budgetMs;
    for (let attempt = 0; ; attempt++) {
      try {
        return this.#once(work);
      } catch (err) {
        if (!isBusy(err)) throw this.#wrap(err);
        if (Date.now() >= end)
          throw new StateError(
            `state ${this.#description} stayed locked by another process for ${this.#budgetMs} ms`,
            { cause: err },
          );
      }
      const pause = BACKOFF_MS[Math.min(attempt, BACKOFF_MS.length - 1)];
      await new Promise((resolve) => setTimeout(resolve, pause));
    }
  }

  /** Runs one read statement (its own snapshot); its failure is reported as a StateError. */
  query<T>(work: () => T): T {
    try {
      return work();
    } catch (err) {
      throw this.#wrap(err);
    }
  }

  /** Runs `work` in one read transaction: one snapshot, never waits for a writer (WAL). */
  read<T>(work: () => T): T {
    try {
      this.#db.exec('BEGIN');
      try {
        const out = work();
        this.#commit.run();
        return out;
      } finally {
        if (this.#db.isTransaction) this.#rollback.run();
      }
    } catch (err) {
      throw this.#wrap(err);
    }
  }

  #once<T>(work: () => T): T {
    this.#begin.run();
    try {
      const out = work();
      this.#commit.run();
      return out;
    } finally {
      // Reached with a transaction still open only when work or COMMIT threw.
      if (this.#db.isTransaction) this.#rollback.run();
    }
  }

  #wrap(err: unknown): Error {
    if (err instanceof StateError) return err;
    return new StateError(`state ${this.#description}: ${(err as Error).message}`, {
      cause: err,
    });
  }
}
