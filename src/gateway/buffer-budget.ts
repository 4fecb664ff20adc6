// The process-wide cap on buffered body bytes (`server.bufferMemory`). Request
// bodies read whole before dispatch and answers held for slow clients draw
// from it; when it is used up, bodies stream as with buffers of 0, so the cap
// bounds memory without refusing anyone. (nginx spills to temporary files
// past its buffers instead; we have no disk spill.)
export class BufferBudget {
  #limit: number;
  #used: number;

  constructor(limit: number) {
    this.#limit = limit;
    this.#used = 0;
  }

  /** A reloaded config's cap; bytes already taken stay taken. */
  set limit(limit: number) {
    this.#limit = limit;
  }

  get used(): number {
    return this.#used;
  }

  /** Takes `bytes` when they fit under the cap; false (nothing taken) when not. */
  tryTake(bytes: number): boolean {
    if (this.#used + bytes > this.#limit) return false;
    this.#used += bytes;
    return true;
  }

  give(bytes: number): void {
    this.#used -= bytes;
  }
}
