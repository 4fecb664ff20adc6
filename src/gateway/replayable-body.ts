// A streamed request body on its way to an HTTP/2 backend (a gRPC call's
// messages): handed to undici as an async iterable, and kept — up to a cap,
// until the answer starts — so that a stream the upstream refused before
// processing it can be sent again on a new session, from its first byte.
//
// Why an iterable and not the stream: undici writes a stream body to an h2
// stream through stream.pipeline (lib/dispatcher/client-h2.js writeStream),
// whose clean-up aborts an AbortController per request (a DOMException with a
// stack trace each time); an iterable goes through a plain loop (writeIterable).
// Measured in bench/h2-client-micro.ts: see docs/decisions.md (issue 12).
// Why kept: RFC 9113 §8.7 — a stream above a GOAWAY's last stream ID, or reset
// with REFUSED_STREAM, was not processed and may be retried; undici retries
// only bodies it can replay itself (a Buffer), never a stream.
//
// Only one reader is live at a time: a replay detaches the reader of the
// refused attempt, whose pending read fails (undici then drops that attempt).
import type { Readable } from 'node:stream';

/** A read of a detached reader (its attempt was refused), or a body that closed before its end. */
export class RequestBodyClosedError extends Error {
  constructor() {
    super('request body closed before its end');
    this.name = 'RequestBodyClosedError';
  }
}

const DONE: IteratorReturnResult<undefined> = Object.freeze({ done: true, value: undefined });

interface Waiting {
  readonly reader: BodyReader;
  resolve(result: IteratorResult<Buffer>): void;
  reject(error: Error): void;
}

/** One attempt's view of the body: what undici iterates. */
export class BodyReader implements AsyncIterableIterator<Buffer> {
  readonly #body: ReplayableBody;
  /** Index of the next kept chunk to send again (a replay starts at 0). */
  at: number;

  constructor(body: ReplayableBody) {
    this.#body = body;
    this.at = 0;
  }

  next(): Promise<IteratorResult<Buffer>> {
    return this.#body.read(this);
  }

  /** undici left its loop (the stream failed): nothing more to read for this attempt. */
  return(): Promise<IteratorResult<Buffer>> {
    this.#body.detach(this);
    return Promise.resolve(DONE);
  }

  [Symbol.asyncIterator](): this {
    return this;
  }
}

/**
 * A reader as a dispatch body: undici takes any (async) iterable body
 * (lib/core/request.js) though its DispatchOptions type lists no iterables.
 */
export function asDispatchBody(reader: BodyReader): Readable {
  return reader as unknown as Readable;
}

export class ReplayableBody {
  readonly #source: Readable;
  /** Chunks already handed to a reader, while a replay may still need them. */
  readonly #kept: Buffer[];
  #keptBytes: number;
  /** Past the cap, or once the answer started, nothing is kept any more. */
  #replayable: boolean;
  readonly #cap: number;
  #reader: BodyReader | null;
  #waiting: Waiting | null;
  #ended: boolean;
  #error: Error | null;
  readonly #onReadable: () => void;
  readonly #onEnd: () => void;
  readonly #onError: (error: Error) => void;
  readonly #onClose: () => void;

  /** `cap`: most bytes kept for a replay; a longer body is sent once only. */
  constructor(source: Readable, cap: number) {
    this.#source = source;
    this.#kept = [];
    this.#keptBytes = 0;
    this.#replayable = cap > 0;
    this.#cap = cap;
    this.#reader = null;
    this.#waiting = null;
    this.#ended = false;
    this.#error = null;
    this.#onReadable = () => this.#wake();
    this.#onEnd = () => {
      this.#ended = true;
      this.#wake();
    };
    this.#onError = (error) => this.#fail(error);
    // Destroyed without an error (the client went away mid-body): not a whole body.
    this.#onClose = () => {
      if (!this.#ended) this.#fail(new RequestBodyClosedError());
    };
    source.on('readable', this.#onReadable);
    source.once('end', this.#onEnd);
    source.on('error', this.#onError);
    source.once('close', this.#onClose);
  }

  /** The reader for the first attempt. */
  firstReader(): BodyReader {
    this.#reader = new BodyReader(this);
    return this.#reader;
  }

  /**
   * A reader that sends the body again from its first byte, detaching the
   * current one; undefined when the body was not kept whole (past the cap, or
   * the answer had started).
   */
  replay(): BodyReader | undefined {
    if (!this.#replayable) return undefined;
    const previous = this.#reader;
    this.#reader = new BodyReader(this);
    if (previous !== null) this.detach(previous);
    return this.#reader;
  }

  /** The answer started: a replay is no longer possible, so stop keeping chunks. */
  answerStarted(): void {
    this.#stopKeeping();
  }

  /**
   * The exchange is over while the body may still be coming (the answer came
   * first, or the attempt failed): stop reading it, as undici does when it
   * destroys a stream body it was sending.
   */
  abandon(error?: Error): void {
    this.#stopKeeping();
    const reader = this.#reader;
    this.#reader = null;
    if (reader !== null) this.detach(reader);
    this.#unlisten();
    if (!this.#ended && !this.#source.destroyed) this.#source.destroy(error);
  }

  /** A reader of a refused or finished attempt reads nothing more; its pending read fails. */
  detach(reader: BodyReader): void {
    if (this.#reader === reader) this.#reader = null;
    const waiting = this.#waiting;
    if (waiting !== null && waiting.reader === reader) {
      this.#waiting = null;
      waiting.reject(new RequestBodyClosedError());
    }
  }

  read(reader: BodyReader): Promise<IteratorResult<Buffer>> {
    if (reader !== this.#reader) return Promise.reject(new RequestBodyClosedError());
    const chunk = this.#take(reader);
    if (chunk !== null) return Promise.resolve({ done: false, value: chunk });
    if (this.#error !== null) return Promise.reject(this.#error);
    if (this.#ended) return Promise.resolve(DONE);
    return new Promise((resolve, reject) => {
      this.#waiting = { reader, resolve, reject };
    });
  }

  /** The next chunk for `reader`: a kept one it has not sent yet, else one from the source. */
  #take(reader: BodyReader): Buffer | null {
    const kept = this.#kept;
    if (reader.at < kept.length) return kept[reader.at++];
    if (!this.#replayable && kept.length > 0) {
      // The last kept chunk a replay had to send is sent: let them go.
      kept.length = 0;
      reader.at = 0;
    }
    const chunk = this.#source.read() as Buffer | null;
    if (chunk === null) return null;
    if (this.#replayable) {
      if (this.#keptBytes + chunk.length <= this.#cap) {
        kept.push(chunk);
        this.#keptBytes += chunk.length;
        reader.at = kept.length;
      } else this.#stopKeeping();
    }
    return chunk;
  }

  #wake(): void {
    const waiting = this.#waiting;
    if (waiting === null) return;
    const chunk = this.#take(waiting.reader);
    if (chunk !== null) {
      this.#waiting = null;
      waiting.resolve({ done: false, value: chunk });
    } else if (this.#ended) {
      this.#waiting = null;
      waiting.resolve(DONE);
    }
  }

  #fail(error: Error): void {
    if (this.#error !== null) return;
    this.#error = error;
    const waiting = this.#waiting;
    if (waiting === null) return;
    this.#waiting = null;
    waiting.reject(error);
  }

  /** Drops the kept chunks the live reader has sent; those it has not are still to go. */
  #stopKeeping(): void {
    this.#replayable = false;
    const reader = this.#reader;
    const sent = reader === null ? this.#kept.length : reader.at;
    this.#kept.splice(0, sent);
    if (reader !== null) reader.at = 0;
    this.#keptBytes = 0;
  }

  #unlisten(): void {
    const source = this.#source;
    source.off('readable', this.#onReadable);
    source.off('end', this.#onEnd);
    source.off('error', this.#onError);
    source.off('close', this.#onClose);
  }
}
