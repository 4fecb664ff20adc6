// The SQL of the Local fleet (src/state/sqlite.ts), one statement per step,
// over the tables of schema.ts. Prepared once per connection.
import type { DatabaseSync, StatementSync } from 'node:sqlite';

/** Every statement the fleet runs, prepared once per connection. */
const SQL = {
  kvGet: 'SELECT value, version FROM kv WHERE namespace = ? AND key = ?',
  kvList: 'SELECT key, value, version FROM kv WHERE namespace = ? ORDER BY key',
  kvVersion: 'SELECT version FROM kv WHERE namespace = ? AND key = ?',
  kvPut: `INSERT INTO kv (namespace, key, value, updated_at, version) VALUES (?, ?, ?, ?, ?)
      ON CONFLICT (namespace, key) DO UPDATE SET
        value = excluded.value, updated_at = excluded.updated_at, version = excluded.version`,
  kvDelete: 'DELETE FROM kv WHERE namespace = ? AND key = ?',
  metaGet: 'SELECT value FROM meta WHERE name = ?',
  bumpVersion: "UPDATE meta SET value = value + 1 WHERE name = 'version' RETURNING value",
  nextSeq: `INSERT INTO meta (name, value) VALUES (?, 1)
      ON CONFLICT (name) DO UPDATE SET value = value + 1 RETURNING value`,
  feedAdd: 'INSERT INTO feed (version, ns, key, value) VALUES (?, ?, ?, ?)',
  feedSince: 'SELECT version, ns, key, value FROM feed WHERE version > ? ORDER BY id',
  raiseFloor: `UPDATE meta SET value = MAX(value, COALESCE(
        (SELECT MAX(version) FROM feed WHERE id <= ?1), value)) WHERE name = 'feed_floor'`,
  feedPrune: 'DELETE FROM feed WHERE id <= ?',
  logAdd: 'INSERT INTO logs (ns, seq, value) VALUES (?, ?, ?)',
  logPrune: 'DELETE FROM logs WHERE ns = ? AND seq <= ?',
  logLast: 'SELECT seq, value FROM logs WHERE ns = ? ORDER BY seq DESC LIMIT ?',
  leaseGet: 'SELECT holder, epoch, expires_at FROM leases WHERE name = ?',
  leasePut: `INSERT INTO leases (name, holder, epoch, expires_at) VALUES (?, ?, ?, ?)
      ON CONFLICT (name) DO UPDATE SET
        holder = excluded.holder, epoch = excluded.epoch, expires_at = excluded.expires_at`,
  leaseRenew: `UPDATE leases SET expires_at = ?
      WHERE name = ? AND holder = ? AND epoch = ? AND expires_at > ?`,
  // Released = expired now; the row stays to remember the epoch.
  leaseRelease: 'UPDATE leases SET expires_at = 0 WHERE name = ? AND holder = ? AND epoch = ?',
  instancePut: `INSERT INTO instances (id, info, started_at, last_seen, ttl) VALUES (?, ?, ?, ?, ?)
      ON CONFLICT (id) DO UPDATE SET info = excluded.info, started_at = excluded.started_at,
        last_seen = excluded.last_seen, ttl = excluded.ttl`,
  instancesExpire: 'DELETE FROM instances WHERE last_seen + ttl <= ?',
  instancesLive: `SELECT info, last_seen FROM instances WHERE last_seen + ttl > ?
      ORDER BY started_at, id`,
  instanceDelete: 'DELETE FROM instances WHERE id = ?',
  figurePut: `INSERT INTO figures (second, instance, payload) VALUES (?, ?, ?)
      ON CONFLICT (second, instance) DO UPDATE SET payload = excluded.payload`,
  figuresExpire: 'DELETE FROM figures WHERE second < ?',
  figuresRange: `SELECT instance, second, payload FROM figures WHERE second BETWEEN ? AND ?
      ORDER BY second, instance`,
  historyPut: `INSERT INTO history (minute, route, kind, side, instance, payload)
      VALUES (?, ?, ?, ?, ?, ?)
      ON CONFLICT (minute, route, kind, side, instance) DO UPDATE SET payload = excluded.payload`,
  // ?1: the retention's oldest minute; ?2: the most one write drops (history-rows.ts).
  historyPrune: `DELETE FROM history
      WHERE minute < MIN(?1, COALESCE((SELECT MIN(minute) FROM history), 0) + ?2)`,
  historyRange: `SELECT minute, route, kind, side, instance, payload FROM history
      WHERE minute BETWEEN ? AND ? ORDER BY minute, route, kind, side, instance`,
  historyRouteRange: `SELECT minute, route, kind, side, instance, payload FROM history
      WHERE minute BETWEEN ? AND ? AND route = ? ORDER BY minute, route, kind, side, instance`,
  bucketGet: 'SELECT tokens, at FROM buckets WHERE key = ?',
  bucketPut: `INSERT INTO buckets (key, tokens, at) VALUES (?, ?, ?)
      ON CONFLICT (key) DO UPDATE SET tokens = excluded.tokens, at = excluded.at`,
  ping: 'SELECT 1',
};

export type Statements = { readonly [K in keyof typeof SQL]: StatementSync };

export function prepareAll(db: DatabaseSync): Statements {
  const out: Partial<Record<keyof typeof SQL, StatementSync>> = {};
  for (const name of Object.keys(SQL) as (keyof typeof SQL)[]) out[name] = db.prepare(SQL[name]);
  return out as Statements;
}
