// How long the primary waits before it restarts a worker that died: a worker
// that dies as it starts (a port taken, a state file it cannot open) must not
// be forked again in a tight loop, and one that ran for a while and crashed
// once should come back at once.

/** First delay: long enough that a crash loop costs little CPU, short enough to go unnoticed. */
const FIRST_MS = 100;
/** Doubling stops here: a worker that keeps dying is tried every 5 s. */
const MAX_MS = 5_000;
/** A worker that ran this long was healthy: its next death starts from FIRST_MS again. */
const RESET_AFTER_MS = 10_000;

export class RestartBackoff {
  #nextMs = FIRST_MS;

  /** The delay before restarting a worker that ran `ranMs` before it died; doubles each time. */
  delayAfter(ranMs: number): number {
    if (ranMs >= RESET_AFTER_MS) this.#nextMs = FIRST_MS;
    const delay = this.#nextMs;
    this.#nextMs = Math.min(delay * 2, MAX_MS);
    return delay;
  }
}
