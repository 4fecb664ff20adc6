// The Local fleet's checkpointer thread (see checkpoints.ts): copies the
// write-ahead log back into the database file every `everyMs`, on its own
// connection, so no commit on an event loop pays for it.
import { DatabaseSync } from 'node:sqlite';
import { workerData } from 'node:worker_threads';

export interface CheckpointWorkerData {
  readonly file: string;
  readonly everyMs: number;
  /** Frames in the log above which a checkpoint waits for writers, so the log can start over (empty). */
  readonly restartFrames: number;
}

const { file, everyMs, restartFrames } = workerData as CheckpointWorkerData;
// This thread may wait for the lock: it holds no event loop that serves requests.
const db = new DatabaseSync(file, { timeout: 1000 });
db.exec('PRAGMA synchronous = NORMAL');
const passive = db.prepare('PRAGMA wal_checkpoint(PASSIVE)');
// Under steady writes a PASSIVE checkpoint never catches the log's end, and
// the log only starts over when it does; TRUNCATE makes writers wait for it
// (their usual short busy wait, then a retry on a timer) and gives the
// file's space back after a burst.
const truncate = db.prepare('PRAGMA wal_checkpoint(TRUNCATE)');

setInterval(() => {
  try {
    const done = passive.get() as { log: number; checkpointed: number };
    if (done.log > restartFrames) truncate.get();
  } catch {
    // Busy (another process is checkpointing) or a moment of trouble with
    // the file: the next tick tries again; nothing is lost meanwhile.
  }
}, everyMs);
