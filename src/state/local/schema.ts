// The Local fleet's SQLite file: its connection settings and its tables, and
// the in-place migration of a file written by an earlier Cutover (a bare `kv`
// table without versions).
import { DatabaseSync } from 'node:sqlite';
import { isBusy } from './transaction.ts';

/** Bumped when the tables change; kept in `meta` under `schema`. */
export const SCHEMA_VERSION = 3;

// Every table the fleet uses. `kv` keeps the name and the first four columns
// of the earlier schema so an old file is migrated by adding `version` only.
const TABLES = `
CREATE TABLE IF NOT EXISTS kv (
  namespace TEXT NOT NULL,
  key TEXT NOT NULL,
  value TEXT NOT NULL,
  updated_at INTEGER NOT NULL,
  version INTEGER NOT NULL DEFAULT 1,
  PRIMARY KEY (namespace, key)
) WITHOUT ROWID;
-- The change feed: one row per set/delete (value NULL for a delete), in
-- commit order; the rowid orders writes of one commit.
CREATE TABLE IF NOT EXISTS feed (
  id INTEGER PRIMARY KEY,
  version INTEGER NOT NULL,
  ns TEXT NOT NULL,
  key TEXT NOT NULL,
  value TEXT
);
CREATE INDEX IF NOT EXISTS feed_by_version ON feed (version);
-- Counters: 'version' (the store's), 'feed_floor' (changes up to this version
-- have left the feed), 'schema', and 'log:NS' (the next sequence of log NS).
CREATE TABLE IF NOT EXISTS meta (
  name TEXT PRIMARY KEY,
  value INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS logs (
  ns TEXT NOT NULL,
  seq INTEGER NOT NULL,
  value TEXT NOT NULL,
  PRIMARY KEY (ns, seq)
) WITHOUT ROWID;
-- A lease row is never deleted: a release or an expiry leaves its epoch as the
-- last one given, so the next holder gets epoch + 1 and no epoch is reused.
CREATE TABLE IF NOT EXISTS leases (
  name TEXT PRIMARY KEY,
  holder TEXT NOT NULL,
  epoch INTEGER NOT NULL,
  expires_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS instances (
  id TEXT PRIMARY KEY,
  info TEXT NOT NULL,
  started_at TEXT NOT NULL,
  last_seen INTEGER NOT NULL,
  ttl INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS figures (
  second INTEGER NOT NULL,
  instance TEXT NOT NULL,
  payload TEXT NOT NULL,
  PRIMARY KEY (second, instance)
) WITHOUT ROWID;
-- The report's minute history (schema 3): one row per kind, route, side,
-- minute and instance. The key starts with the minute, so it is the index a
-- range read and the retention prune walk.
CREATE TABLE IF NOT EXISTS history (
  minute INTEGER NOT NULL,
  route TEXT NOT NULL,
  kind TEXT NOT NULL,
  side TEXT NOT NULL,
  instance TEXT NOT NULL,
  payload TEXT NOT NULL,
  PRIMARY KEY (minute, route, kind, side, instance)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS buckets (
  key TEXT PRIMARY KEY,
  tokens REAL NOT NULL,
  at INTEGER NOT NULL
) WITHOUT ROWID;
`;

/**
 * Opens `file` with the settings every handle needs: WAL, so readers never
 * wait for the writer and a commit is one append to the log; synchronous
 * NORMAL, so a commit survives the process being killed (the log write has
 * reached the OS before COMMIT returns) without an fsync per commit (see
 * docs/decisions.md, "Local fleet on SQLite"); `waitMs` of SQLite's own busy
 * wait per attempt (it sleeps on the event loop: 0 unless asked).
 */
export function openDatabase(file: string, waitMs: number, budgetMs: number): DatabaseSync {
  const db = new DatabaseSync(file, { timeout: waitMs });
  try {
    // Switching to WAL needs a moment alone with the file; processes starting
    // together may meet here, so it is retried like any busy step.
    retryBusySync(() => db.exec('PRAGMA journal_mode = WAL'), budgetMs);
    db.exec('PRAGMA synchronous = NORMAL');
    retryBusySync(() => migrate(db), budgetMs);
  } catch (err) {
    db.close();
    throw err;
  }
  return db;
}

/**
 * Creates the tables, or brings a file of the earlier schema up to date: its
 * keys get version 1, the store starts at version 1 with an empty feed (so an
 * instance asking for changes since 0 is told to reload). One transaction, so
 * processes opening an old file together migrate it once.
 */
function migrate(db: DatabaseSync): void {
  db.exec('BEGIN IMMEDIATE');
  try {
    const hadKv = db
      .prepare("SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = 'kv'")
      .get();
    if (hadKv) {
      const columns = db.prepare('PRAGMA table_info(kv)').all() as { name: string }[];
      if (!columns.some((c) => c.name === 'version'))
        db.exec('ALTER TABLE kv ADD COLUMN version INTEGER NOT NULL DEFAULT 1');
    }
    db.exec(TABLES);
    const start = db.prepare('SELECT COALESCE(MAX(version), 0) AS v FROM kv').get() as {
      v: number;
    };
    const seed = db.prepare('INSERT OR IGNORE INTO meta (name, value) VALUES (?, ?)');
    seed.run('version', start.v);
    seed.run('feed_floor', start.v);
    db.prepare(
      "INSERT INTO meta (name, value) VALUES ('schema', ?) ON CONFLICT (name) DO UPDATE SET value = MAX(value, excluded.value)",
    ).run(SCHEMA_VERSION);
    db.exec('COMMIT');
  } catch (err) {
    if (db.isTransaction) db.exec('ROLLBACK');
    throw err;
  }
}

/** Opening is synchronous (a constructor): busy steps there wait in place, within the budget. */
function retryBusySync(step: () => void, budgetMs: number): void {
  const end = Date.now() + budgetMs;
  for (;;) {
    try {
      step();
      return;
    } catch (err) {
      if (!isBusy(err) || Date.now() >= end) throw err;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5);
    }
  }
}
