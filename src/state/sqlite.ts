// Embedded state in one SQLite file (node:sqlite, no native addon). WAL mode
// so a reader (`cutover` commands, backups) never blocks the gateway's writes.
import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { DatabaseSync, type StatementSync } from 'node:sqlite';
import { StateError } from '../errors.ts';
import type { StateStore } from './store.ts';

export class SqliteStore implements StateStore {
  readonly description: string;
  readonly #db: DatabaseSync;
  readonly #get: StatementSync;
  readonly #set: StatementSync;
  readonly #delete: StatementSync;
  readonly #list: StatementSync;

  constructor(path: string) {
    const file = resolve(path);
    this.description = `sqlite:${file}`;
    try {
      mkdirSync(dirname(file), { recursive: true });
      this.#db = new DatabaseSync(file);
      this.#db.exec('PRAGMA journal_mode = WAL; PRAGMA busy_timeout = 2000;');
      this.#db.exec(`CREATE TABLE IF NOT EXISTS kv (
        namespace TEXT NOT NULL,
        key TEXT NOT NULL,
        value TEXT NOT NULL,
        updated_at INTEGER NOT NULL,
        PRIMARY KEY (namespace, key)
      ) WITHOUT ROWID`);
    } catch (cause) {
      throw new StateError(`cannot open state ${this.description}: ${(cause as Error).message}`, {
        cause,
      });
    }
    this.#get = this.#db.prepare('SELECT value FROM kv WHERE namespace = ? AND key = ?');
    this.#set = this.#db.prepare(
      `INSERT INTO kv (namespace, key, value, updated_at) VALUES (?, ?, ?, ?)
       ON CONFLICT (namespace, key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`,
    );
    this.#delete = this.#db.prepare('DELETE FROM kv WHERE namespace = ? AND key = ?');
    this.#list = this.#db.prepare('SELECT key, value FROM kv WHERE namespace = ? ORDER BY key');
  }

  async get<T>(namespace: string, key: string): Promise<T | undefined> {
    const row = this.#get.get(namespace, key) as { value: string } | undefined;
    return row ? (JSON.parse(row.value) as T) : undefined;
  }

  async set(namespace: string, key: string, value: unknown): Promise<void> {
    this.#set.run(namespace, key, JSON.stringify(value), Date.now());
  }

  async delete(namespace: string, key: string): Promise<boolean> {
    return Number(this.#delete.run(namespace, key).changes) > 0;
  }

  async list<T>(namespace: string): Promise<Map<string, T>> {
    const rows = this.#list.all(namespace) as { key: string; value: string }[];
    return new Map(rows.map((r) => [r.key, JSON.parse(r.value) as T]));
  }

  async close(): Promise<void> {
    if (this.#db.isOpen) this.#db.close();
  }
}
