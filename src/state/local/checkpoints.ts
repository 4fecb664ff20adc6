// Checkpoints off the event loop. In WAL mode a commit appends to the log, and
// SQLite copies the log back into the database file (a checkpoint, with its
// fsyncs) inside the commit that crosses 1,000 pages. node:sqlite runs that
// on the caller's thread: bench/local-fleet-micro.ts measured such a commit
// holding the event loop 3–4 ms on a quiet disk and over 100 ms on a busy one.
// So every connection of the fleet turns automatic checkpoints off and one
// worker thread per file and process checkpoints on a timer. Should that
// thread fail, the connections fall back to SQLite's automatic checkpoints.
import type { DatabaseSync } from 'node:sqlite';
import { Worker } from 'node:worker_threads';
import type { CheckpointWorkerData } from './checkpoint-worker.ts';

const WORKER_URL = new URL('./checkpoint-worker.ts', import.meta.url);

/** SQLite's default wal_autocheckpoint, restored when the worker is gone. */
const AUTO_PAGES = 1000;

interface Checkpointer {
  readonly worker: Worker;
  readonly users: Set<DatabaseSync>;
  failed: boolean;
}

/** One checkpointer per database file in this process, shared by its connections. */
const byFile = new Map<string, Checkpointer>();

/**
 * Hands the checkpoints of `db` (a connection to `file`) to the file's worker,
 * started on first use. Returns the function that gives them back (close).
 */
export function checkpointInBackground(
  file: string,
  db: DatabaseSync,
  everyMs: number,
): () => void {
  let cp = byFile.get(file);
  if (!cp) {
    const workerData: CheckpointWorkerData = { file, everyMs, restartFrames: 4 * AUTO_PAGES };
    const worker = new Worker(WORKER_URL, { workerData });
    // It never keeps the process alive: a process that exits leaves the log
    // to the next checkpoint, by any process (nothing is lost).
    worker.unref();
    const created: Checkpointer = { worker, users: new Set(), failed: false };
    const fallBack = () => {
      if (created.failed) return;
      created.failed = true;
      if (byFile.get(file) === created) byFile.delete(file);
      for (const user of created.users) autoCheckpoints(user, AUTO_PAGES);
    };
    worker.on('error', fallBack);
    worker.on('exit', () => {
      if (created.users.size > 0) fallBack();
    });
    byFile.set(file, created);
    cp = created;
  }
  const mine = cp;
  mine.users.add(db);
  autoCheckpoints(db, 0);
  return () => {
    mine.users.delete(db);
    if (mine.users.size > 0 || mine.failed) return;
    if (byFile.get(file) === mine) byFile.delete(file);
    void mine.worker.terminate();
  };
}

function autoCheckpoints(db: DatabaseSync, pages: number): void {
  if (db.isOpen) db.exec(`PRAGMA wal_autocheckpoint = ${pages}`);
}
