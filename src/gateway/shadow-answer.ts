// One answer of a shadow pair being collected — the candidate's, legacy's
// (fed by the client's exchange) or a noise probe's: its head, its body up to
// shadow.maxBodyBytes and within the shadow memory budget, and its trailers.
import type { Dispatcher } from 'undici';
import type { ResponseSample } from '../compare/index.ts';

/** Who is asked before a chunk is kept: the copy, which holds the budget. */
export interface ChunkKeeper {
  /** Reserve `bytes` of the shadow memory budget; false abandons the copy. */
  keep(bytes: number): boolean;
  release(bytes: number): void;
}

const OVER_MAX_BODY = 'shadow answer over maxBodyBytes';
export const OVER_BUDGET = 'shadow memory budget (server.shadowMemory) exhausted';

/** One answer being collected, up to a size and within the shadow memory budget. */
export class Collected implements Dispatcher.DispatchHandler {
  state: 'pending' | 'done' | 'failed' = 'pending';
  controller: Dispatcher.DispatchController | null = null;
  start = 0;
  max = Number.POSITIVE_INFINITY;
  onDone: (() => void) | undefined;
  status = 0;
  headers: Record<string, string | string[] | undefined> = {};
  /** The answer's trailers, when it had any (gRPC's status comes there). */
  trailers: Record<string, string | string[] | undefined> | undefined = undefined;
  /** The request was dispatched (a gRPC copy waits for its request body first). */
  sent = false;
  readonly chunks: Buffer[] = [];
  size = 0;
  tooLarge = false;
  /** Kept chunks were let go (too large, or the copy was abandoned); nothing more is kept. */
  dropped = false;
  /** Bytes of `chunks` reserved from the budget. */
  kept = 0;
  /** Cancel the request as soon as it starts (abandoned while queued for a connection). */
  #abortReason: string | undefined = undefined;
  ms = 0;
  readonly #keeper: ChunkKeeper;

  constructor(keeper: ChunkKeeper) {
    this.#keeper = keeper;
  }

  add(chunk: Buffer, max: number): void {
    if (this.dropped) return;
    this.size += chunk.length;
    if (this.size > max) {
      this.tooLarge = true;
      this.drop();
    } else if (this.#keeper.keep(chunk.length)) {
      this.chunks.push(chunk);
      this.kept += chunk.length;
    }
  }

  /** Let the kept chunks go and give their bytes back; nothing more is kept. */
  drop(): void {
    this.dropped = true;
    this.chunks.length = 0;
    this.#keeper.release(this.kept);
    this.kept = 0;
  }

  /** Stop reading this answer (its request is cancelled, now or when it starts). */
  abort(reason: string): void {
    if (this.state !== 'pending') return;
    if (this.controller) this.controller.abort(new Error(reason));
    else this.#abortReason = reason;
  }

  /** Not wanted any more: cancelled when sent, over at once when it never was. */
  giveUp(reason: string): void {
    if (this.sent) this.abort(reason);
    else this.#end('failed');
  }

  sample(): ResponseSample {
    const body = Buffer.concat(this.chunks, this.size);
    // One buffer from now on: the chunks and their copy are never held together.
    this.chunks.length = 0;
    this.chunks.push(body);
    const { status, headers, trailers } = this;
    return trailers === undefined ? { status, headers, body } : { status, headers, body, trailers };
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
    if (this.#abortReason !== undefined) controller.abort(new Error(this.#abortReason));
  }

  onResponseStart(
    _c: Dispatcher.DispatchController,
    statusCode: number,
    headers: Record<string, string | string[] | undefined>,
  ): void {
    this.status = statusCode;
    this.headers = headers;
  }

  onResponseData(_c: Dispatcher.DispatchController, chunk: Buffer): void {
    this.add(chunk, this.max);
    // Past the limit (or the budget) the pair will not be compared: stop reading.
    if (this.dropped) this.abort(this.tooLarge ? OVER_MAX_BODY : OVER_BUDGET);
  }

  onResponseEnd(
    _c: Dispatcher.DispatchController,
    trailers: Record<string, string | string[] | undefined>,
  ): void {
    if (Object.keys(trailers).length > 0) this.trailers = trailers;
    this.#end('done');
  }

  onResponseError(): void {
    this.#end(this.tooLarge ? 'done' : 'failed');
  }

  #end(state: 'done' | 'failed'): void {
    if (this.state !== 'pending') return;
    this.ms = performance.now() - this.start;
    this.state = state;
    this.onDone?.();
  }
}
