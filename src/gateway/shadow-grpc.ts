// The request side of a gRPC call's shadow copy (issue 12). A gRPC request
// body streams to legacy from its first byte (a stream may wait for an answer
// before it sends more, so holding it could deadlock the call); the copy for
// the candidate is taken beside it, never in its way: this listens to the
// client's request as it flows, keeps its bytes up to maxBodyBytes, and hands
// them over only once the client has ended its stream having sent exactly one
// message, as a unary call does. A second message means a stream: the copy
// is given up at once and nothing more is kept, however long the stream
// lasts. Nothing here can hold the call: the client's bytes go to legacy
// whether or not a copy is being made.
import type { Readable } from 'node:stream';
import { GrpcMessageCounter, type SkipReason } from '../compare/index.ts';
import type { ChunkKeeper } from './shadow-answer.ts';

/** What became of the copy of the request: its one message, or why there is none. */
export type GrpcRequestOutcome =
  | { readonly body: Buffer }
  /** `undefined`: the request stopped before its end (reset, client gone): legacy's failure says why. */
  | { readonly skip: SkipReason | undefined };

export class GrpcRequestTee {
  readonly #req: Readable;
  readonly #max: number;
  readonly #keeper: ChunkKeeper;
  readonly #done: (outcome: GrpcRequestOutcome) => void;
  readonly #counter = new GrpcMessageCounter();
  readonly #chunks: Buffer[] = [];
  /** Bytes kept (and reserved from the budget) so far. */
  #kept = 0;
  #over = false;

  /**
   * Starts listening to `req` now. Attached in the same tick as the pipe
   * that carries the body to legacy (intake.ts), before any chunk flows, so
   * both see every chunk. `done` is called once.
   */
  constructor(
    req: Readable,
    max: number,
    keeper: ChunkKeeper,
    done: (outcome: GrpcRequestOutcome) => void,
  ) {
    this.#req = req;
    this.#max = max;
    this.#keeper = keeper;
    this.#done = done;
    req.on('data', this.#onData);
    req.once('end', this.#onEnd);
    req.once('close', this.#onClose);
  }

  /** True until the outcome is known. */
  get pending(): boolean {
    return !this.#over;
  }

  /** The copy is over before the request ended (legacy answered first, or failed): stop listening. */
  stop(): void {
    if (this.#over) return;
    this.#detach();
    this.#release();
  }

  readonly #onData = (chunk: Buffer): void => {
    this.#counter.push(chunk);
    if (this.#counter.started > 1) this.#skip('streaming');
    else if (this.#kept + chunk.length > this.#max) this.#skip('too_large');
    else if (!this.#keeper.keep(chunk.length)) this.#skip('memory');
    else {
      this.#chunks.push(chunk);
      this.#kept += chunk.length;
    }
  };

  readonly #onEnd = (): void => {
    if (this.#over) return;
    // No message (a client stream that sent none) or a cut one is not a unary call.
    if (this.#counter.started !== 1 || !this.#counter.whole) {
      this.#skip('streaming');
      return;
    }
    this.#detach();
    // The kept bytes now belong to the copy, as a body read whole would.
    this.#done({ body: Buffer.concat(this.#chunks, this.#kept) });
  };

  readonly #onClose = (): void => {
    if (this.#over) return;
    this.#detach();
    this.#release();
    this.#done({ skip: undefined });
  };

  #skip(reason: SkipReason): void {
    // Stopped meanwhile (the copy ran out of budget while keeping this chunk).
    if (this.#over) return;
    this.#detach();
    this.#release();
    this.#done({ skip: reason });
  }

  #detach(): void {
    this.#over = true;
    this.#req.off('data', this.#onData);
    this.#req.off('end', this.#onEnd);
    this.#req.off('close', this.#onClose);
  }

  #release(): void {
    this.#chunks.length = 0;
    this.#keeper.release(this.#kept);
    this.#kept = 0;
  }
}
