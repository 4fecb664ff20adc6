// A copy of a request body that streams upstream as it comes (a gRPC call's:
// a stream may wait for answers before it sends more, so it is never held
// back), kept while it stays within a limit. A call whose body ended within
// the limit before its answer failed can then be sent again (retry, fallback
// to legacy) — a unary call's one message, typically. The copy's bytes are
// charged to the process's buffer budget (server.bufferMemory) like any
// buffered body; past the limit or the budget the copy is dropped and the
// call is sent once.
import type { BufferBudget } from './buffer-budget.ts';

/** Told when the copy is dropped: the body will never be whole, so nothing waits for it. */
export interface BodyCopyWatcher {
  bodyCopyDropped(): void;
}

export class StreamedBodyCopy {
  readonly #limit: number;
  readonly #budget: BufferBudget;
  /** undefined once dropped (too large, budget spent, released). */
  #chunks: Buffer[] | undefined;
  /** Bytes held, all charged to the budget. */
  #size: number;
  #ended: boolean;
  #watcher: BodyCopyWatcher | undefined;

  constructor(limit: number, budget: BufferBudget) {
    this.#limit = limit;
    this.#budget = budget;
    this.#chunks = [];
    this.#size = 0;
    this.#ended = false;
    this.#watcher = undefined;
  }

  /** Who hears that the copy was dropped (the exchange holding an answer's head for it). */
  watch(watcher: BodyCopyWatcher): void {
    this.#watcher = watcher;
  }

  /** A chunk of the body as it passes upstream. */
  add(chunk: Buffer): void {
    const chunks = this.#chunks;
    if (chunks === undefined) return;
    if (this.#size + chunk.length > this.#limit || !this.#budget.tryTake(chunk.length)) {
      this.#drop();
      this.#watcher?.bodyCopyDropped();
      return;
    }
    chunks.push(chunk);
    this.#size += chunk.length;
  }

  /** The client sent the body's end. */
  end(): void {
    if (this.#chunks !== undefined) this.#ended = true;
  }

  /** The copy may still become the whole body (not dropped; it may not have ended yet). */
  get kept(): boolean {
    return this.#chunks !== undefined;
  }

  /** The whole body, when it ended within the limit; undefined otherwise. */
  whole(): Buffer | undefined {
    const chunks = this.#chunks;
    if (chunks === undefined || !this.#ended) return undefined;
    if (chunks.length !== 1) {
      // One buffer from now on: each resend sends the same one.
      const body = Buffer.concat(chunks, this.#size);
      chunks.length = 0;
      chunks.push(body);
    }
    return chunks[0] ?? Buffer.alloc(0);
  }

  /** The exchange is over: give the bytes back; nothing more is kept. */
  release(): void {
    this.#drop();
  }

  #drop(): void {
    if (this.#chunks === undefined) return;
    this.#chunks = undefined;
    this.#ended = false;
    this.#budget.give(this.#size);
    this.#size = 0;
  }
}
