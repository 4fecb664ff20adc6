// Change hints across processes for the Local fleet. SQLite has no pub/sub;
// `PRAGMA data_version` is a per-connection number that moves when ANOTHER
// connection committed to the file (https://sqlite.org/pragma.html#pragma_data_version),
// read from shared memory without touching the tables. While someone listens
// it is polled every `pollMs`; when it moved, the store's version is read and
// listeners are called only if that moved too (heartbeats, figures and token
// takes also commit, and are not changes of the store).
import type { DatabaseSync, StatementSync } from 'node:sqlite';

export class ChangeHints {
  readonly #dataVersion: StatementSync;
  readonly #storeVersion: () => number;
  readonly #pollMs: number;
  readonly #listeners = new Set<() => void>();
  #timer: NodeJS.Timeout | undefined = undefined;
  #lastData = 0;
  #lastStore = 0;

  constructor(db: DatabaseSync, storeVersion: () => number, pollMs: number) {
    this.#dataVersion = db.prepare('PRAGMA data_version');
    this.#storeVersion = storeVersion;
    this.#pollMs = pollMs;
  }

  /** Adds a listener; the poll runs while there is at least one. */
  listen(listener: () => void): () => void {
    // A wrapper per call, so the same function added twice is two listeners
    // and each unsubscribe removes its own.
    const one = () => listener();
    this.#listeners.add(one);
    if (this.#timer === undefined) this.#start();
    return () => {
      this.#listeners.delete(one);
      if (this.#listeners.size === 0) this.stop();
    };
  }

  /** This connection committed the store at `version`: other connections see it by polling, ours is told now. */
  committed(version: number): void {
    if (version > this.#lastStore) this.#lastStore = version;
    this.#notify();
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  #start(): void {
    this.#lastData = this.#readDataVersion();
    this.#lastStore = this.#storeVersion();
    this.#timer = setInterval(() => this.#poll(), this.#pollMs);
    // A listener must not keep the process alive on its own.
    this.#timer.unref();
  }

  #poll(): void {
    let store: number;
    try {
      const data = this.#readDataVersion();
      if (data === this.#lastData) return;
      this.#lastData = data;
      store = this.#storeVersion();
    } catch {
      // The file is busy or gone for a moment: a hint is best effort, the
      // callers' own poll is the guarantee. Try again at the next tick.
      return;
    }
    // A lower version means the file was replaced: tell listeners, they reload.
    if (store === this.#lastStore) return;
    this.#lastStore = store;
    this.#notify();
  }

  #notify(): void {
    for (const l of this.#listeners) queueMicrotask(l);
  }

  #readDataVersion(): number {
    return (this.#dataVersion.get() as { data_version: number }).data_version;
  }
}
