// Response buffering for clients slower than their backend (nginx's
// `proxy_buffering on` with its proxy_buffers, Envoy's per-connection buffer
// limit) and the client send timeout (nginx's `send_timeout`).
//
// Without it, a client that reads slowly pauses the upstream response at
// once (backpressure), so the upstream connection stays busy as long as the
// client dawdles: a few hundred clients that never read hold every
// connection of a backend. With it, the answer keeps flowing into memory up
// to `responseBuffer` bytes per request (and `bufferMemory` for the process);
// an answer that fits frees its upstream connection as soon as the upstream
// is done, and only a larger one pauses the upstream, past the buffer.
//
// The send timeout: from the moment the client's connection stops taking
// bytes, it must drain what is held within `sendTimeout`, or the connection
// is closed. A stall while the upstream is paused is the client's doing and
// never an upstream failure: undici does not fire its body timeout while the
// parser is paused (undici lib/dispatcher/client-h1.js, onParserTimeout:
// `if (!paused)`), and a client cut here aborts the upstream request as a
// client cancel (499, no breaker or outlier record).
import type { ServerResponse } from 'node:http';
import type { BufferBudget } from './buffer-budget.ts';

export interface ResponseBuffering {
  /** Bytes held per request before the upstream is paused. */
  readonly responseBuffer: number;
  /** ms a client may leave held bytes undrained. */
  readonly sendTimeout: number;
  readonly budget: BufferBudget;
  /** Counts and logs a connection closed by the send timeout. */
  sendTimedOut(res: ServerResponse): void;
}

/** The upstream side of the answer, paused and resumed by the slow client. */
export interface UpstreamValve {
  resumeUpstream(): void;
}

function onSendTimeout(client: SlowClient): void {
  client.timedOut();
}

/** One answer whose client fell behind; created on the first write the client did not take at once. */
export class SlowClient {
  readonly #res: ServerResponse;
  readonly #settings: ResponseBuffering;
  readonly #valve: UpstreamValve;
  /** Bytes charged to the budget since the client last drained. */
  #held: number;
  /** A 'drain' of the client's connection is awaited. */
  #waiting: boolean;
  /** The upstream was paused past the buffer. */
  #paused: boolean;
  #timer: NodeJS.Timeout | undefined;
  readonly #onDrain: () => void;
  readonly #onDone: () => void;

  constructor(res: ServerResponse, settings: ResponseBuffering, valve: UpstreamValve) {
    this.#res = res;
    this.#settings = settings;
    this.#valve = valve;
    this.#held = 0;
    this.#waiting = false;
    this.#paused = false;
    this.#timer = undefined;
    this.#onDrain = () => this.#drained();
    this.#onDone = () => this.#done();
    res.once('finish', this.#onDone);
    res.once('close', this.#onDone);
  }

  /**
   * The client's connection did not take a chunk of `bytes` at once. True:
   * keep reading the upstream (the chunk is held in memory); false: pause the
   * upstream until the client drains (resumeUpstream).
   */
  hold(bytes: number): boolean {
    if (!this.#waiting) {
      this.#waiting = true;
      this.#res.once('drain', this.#onDrain);
      if (this.#timer === undefined)
        this.#timer = setTimeout(onSendTimeout, this.#settings.sendTimeout, this);
      else this.#timer.refresh();
    }
    if (
      this.#held + bytes <= this.#settings.responseBuffer &&
      this.#settings.budget.tryTake(bytes)
    ) {
      this.#held += bytes;
      return true;
    }
    this.#paused = true;
    return false;
  }

  /** Gives back what was held; the timer is left to lapse (it checks #waiting) and is refreshed by the next hold. */
  #release(): void {
    this.#settings.budget.give(this.#held);
    this.#held = 0;
    this.#waiting = false;
  }

  #drained(): void {
    this.#release();
    if (this.#paused) {
      this.#paused = false;
      this.#valve.resumeUpstream();
    }
  }

  /** Everything flushed after the answer ended, or the connection closed. */
  #done(): void {
    this.#res.off('drain', this.#onDrain);
    this.#res.off('finish', this.#onDone);
    this.#res.off('close', this.#onDone);
    this.#release();
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
  }

  /** The client took nothing for sendTimeout: close its connection (its 'close' aborts the upstream request, if still running). */
  timedOut(): void {
    // A timer left over from a drained stretch: the client kept up.
    if (!this.#waiting) return;
    this.#timer = undefined;
    this.#settings.sendTimedOut(this.#res);
    this.#res.destroy();
  }
}
