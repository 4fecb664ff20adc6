// Shadow copies (issue 4): a share of the requests that legacy serves is
// also sent to the candidate, marked `x-cutover-shadow: 1`. The client only
// ever gets legacy's answer, streamed as usual; both answers are kept (up to
// shadow.maxBodyBytes) and compared when both are complete. A slow or dead
// candidate costs the client nothing: the copy runs beside the request, and
// copies beyond shadow.maxInFlight are dropped and counted, never queued.
// Every byte a copy keeps is reserved from one process-wide budget
// (server.shadowMemory, shadow-memory.ts); a copy that does not fit is
// abandoned and counted as `skipped_memory`.
import type { Dispatcher } from 'undici';
import {
  ComparePool,
  type CompareResult,
  compareResponses,
  type ResponseSample,
  type SkipReason,
} from '../compare/index.ts';
import type { Backend } from './backends.ts';
import type { RouteShadow } from './route-shadow.ts';
import type { ShadowMemory } from './shadow-memory.ts';

export { RouteShadow } from './route-shadow.ts';

export const SHADOW_HEADER = 'x-cutover-shadow';

/**
 * Pairs larger than this are compared in a worker thread: a 1 MiB JSON pair
 * takes 10–30 ms to parse and diff (bench/compare-micro.ts), far too long to
 * hold the event loop; a 2 KiB pair takes ≈ 20 µs, less than a thread hop.
 */
const WORKER_ABOVE_BYTES = 64 * 1024;

let pool: ComparePool | undefined;

/** One pool for the process, made on first use; its idle workers never keep the process alive. */
function comparePool(): ComparePool {
  // transfer: false — the bodies are still read afterwards (samples, noise learning).
  pool ??= new ComparePool({ size: 1, maxQueue: 64, transfer: false });
  return pool;
}

/** Who a Collected asks before it keeps a chunk: the copy, which holds the budget. */
interface Keeper {
  /** Reserve `bytes` of the shadow memory budget; false abandons the copy. */
  keep(bytes: number): boolean;
  release(bytes: number): void;
}

const OVER_MAX_BODY = 'shadow answer over maxBodyBytes';
const OVER_BUDGET = 'shadow memory budget (server.shadowMemory) exhausted';

/** One answer being collected, up to a size and within the shadow memory budget. */
class Collected implements Dispatcher.DispatchHandler {
  state: 'pending' | 'done' | 'failed' = 'pending';
  controller: Dispatcher.DispatchController | null = null;
  start = 0;
  max = Number.POSITIVE_INFINITY;
  onDone: (() => void) | undefined;
  status = 0;
  headers: Record<string, string | string[] | undefined> = {};
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
  readonly #keeper: Keeper;

  constructor(keeper: Keeper) {
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

  sample(): ResponseSample {
    const body = Buffer.concat(this.chunks, this.size);
    // One buffer from now on: the chunks and their copy are never held together.
    this.chunks.length = 0;
    this.chunks.push(body);
    return { status: this.status, headers: this.headers, body };
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

  onResponseEnd(): void {
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

/** Send a copy of a request to one instance of a backend, collecting the answer in `into`. */
function sendCopy(backend: Backend, r: ShadowRequest, marker: string, into: Collected): void {
  const instance = backend.pick();
  const headers = r.headers.slice();
  if (r.hostAt !== -1) headers[r.hostAt] = instance.host;
  headers.push(SHADOW_HEADER, marker);
  into.start = performance.now();
  instance.pool.dispatch(
    {
      path: instance.basePath + r.url,
      method: r.method as 'GET',
      headers,
      body: r.body,
      headersTimeout: r.timeout,
      bodyTimeout: r.idleTimeout,
    },
    into,
  );
}

export interface ShadowRequest {
  readonly method: string;
  readonly url: string;
  readonly requestHeaders: Record<string, string | string[] | undefined>;
  /** Flat upstream header list (as sent to legacy); copied, not changed. */
  readonly headers: readonly string[];
  readonly hostAt: number;
  readonly body: Buffer | null;
  readonly timeout: number;
  readonly idleTimeout: number;
}

/** The candidate's copy of one request, and the pairing with legacy's answer. */
export class ShadowCopy implements Keeper {
  readonly #shadow: RouteShadow;
  readonly #request: ShadowRequest;
  readonly #start: number;
  readonly #max: number;
  readonly #memory: ShadowMemory;
  /** The kept request body's bytes, reserved by `RouteShadow.acquire` until the copy is over. */
  #bodyBytes: number;
  /** The budget ran out for this copy: everything it kept is let go, it will not be compared. */
  #abandoned: boolean;
  /** The pair is over (compared or skipped); only a late noise probe may still need legacy's answer. */
  #settled: boolean;
  /** Legacy's answer, filled by the client's exchange (the tee). */
  readonly legacy: Collected;
  readonly #candidate: Collected;
  /** Legacy asked a second time, to learn noise; undefined for most copies. */
  #legacyAgain: Collected | undefined;

  constructor(shadow: RouteShadow, request: ShadowRequest) {
    this.#shadow = shadow;
    this.#request = request;
    this.#start = performance.now();
    this.#max = shadow.config.maxBodyBytes;
    this.#memory = shadow.memory;
    this.#bodyBytes = request.body?.length ?? 0;
    this.#abandoned = false;
    this.#settled = false;
    this.legacy = new Collected(this);
    this.#candidate = new Collected(this);
    this.#candidate.max = this.#max;
    this.#candidate.onDone = () => this.#settle();
    this.#legacyAgain = undefined;
  }

  keep(bytes: number): boolean {
    if (this.#abandoned) return false;
    if (this.#memory.tryReserve(bytes)) return true;
    this.#abandon();
    return false;
  }

  release(bytes: number): void {
    this.#memory.release(bytes);
  }

  /** Out of budget: give back every byte now and cancel the copy's own requests. */
  #abandon(): void {
    this.#abandoned = true;
    this.#releaseBody();
    this.legacy.drop();
    this.#candidate.drop();
    this.#candidate.abort(OVER_BUDGET);
    const again = this.#legacyAgain;
    if (again) {
      again.drop();
      again.abort(OVER_BUDGET);
    }
  }

  #releaseBody(): void {
    this.#memory.release(this.#bodyBytes);
    this.#bodyBytes = 0;
  }

  /** Send the copy to the candidate (and, when learning noise, a second one to legacy). */
  send(candidate: Backend, legacy: Backend): void {
    if (this.#shadow.wantsNoiseProbe(this.#request.method)) {
      const again = new Collected(this);
      again.max = this.#max;
      again.onDone = () => this.#learn();
      this.#legacyAgain = again;
      sendCopy(legacy, this.#request, 'noise', again);
    }
    sendCopy(candidate, this.#request, '1', this.#candidate);
  }

  /** Legacy's answer tee: headers. */
  legacyStart(status: number, headers: Record<string, string | string[] | undefined>): void {
    this.legacy.status = status;
    this.legacy.headers = headers;
  }

  legacyData(chunk: Buffer): void {
    this.legacy.add(chunk, this.#max);
  }

  legacyEnd(ok: boolean): void {
    if (this.legacy.state !== 'pending') return;
    this.legacy.ms = performance.now() - this.#start;
    this.legacy.state = ok ? 'done' : 'failed';
    this.#learn();
    this.#settle();
  }

  /** Two legacy answers to one request: what differs between them is noise. */
  #learn(): void {
    const again = this.#legacyAgain;
    if (!again || again.state === 'pending' || this.legacy.state === 'pending') return;
    this.#legacyAgain = undefined;
    const noise = this.#shadow.noise;
    if (
      again.state === 'done' &&
      this.legacy.state === 'done' &&
      !again.dropped &&
      !this.legacy.dropped
    ) {
      noise.probeEnded(this.legacy.sample(), again.sample());
    } else {
      noise.probeEnded();
    }
    again.drop();
    if (this.#settled) this.legacy.drop();
  }

  #settle(): void {
    if (this.legacy.state === 'pending' || this.#candidate.state === 'pending') return;
    const shadow = this.#shadow;
    shadow.release();
    this.#releaseBody();
    const skipped: SkipReason | undefined = this.#abandoned
      ? 'memory'
      : this.legacy.state === 'failed'
        ? 'legacy_error'
        : this.#candidate.state === 'failed'
          ? 'candidate_error'
          : this.legacy.tooLarge || this.#candidate.tooLarge
            ? 'too_large'
            : undefined;
    if (skipped !== undefined) {
      this.#letGo();
      shadow.recordSkip(skipped);
      return;
    }
    const legacy = this.legacy.sample();
    const candidate = this.#candidate.sample();
    const noisy = shadow.noise.noisyPatterns();
    const bytes = legacy.body.length + candidate.body.length;
    if (bytes <= WORKER_ABOVE_BYTES) {
      const result = compareResponses(legacy, candidate, shadow.compiled, { noisy });
      this.#letGo();
      this.#record(legacy, candidate, result);
      return;
    }
    // The pool copies both bodies for its worker (transfer: false): those bytes count too.
    if (!this.#memory.tryReserve(bytes)) {
      this.#letGo();
      shadow.recordSkip('memory');
      return;
    }
    const pending = comparePool().compare(legacy, candidate, shadow.config.compare, noisy);
    if (!pending) {
      this.#memory.release(bytes);
      this.#letGo();
      shadow.recordSkip('dropped');
      return;
    }
    pending.then(
      (result) => {
        this.#memory.release(bytes);
        this.#letGo();
        this.#record(legacy, candidate, result);
      },
      () => {
        this.#memory.release(bytes);
        this.#letGo();
        shadow.recordSkip('dropped');
      },
    );
  }

  /**
   * The pair is over: its answers leave the budget. A mismatch kept as a
   * sample still references them; those are bounded by `shadow.samples`.
   */
  #letGo(): void {
    this.#settled = true;
    // A noise probe still on its way compares against legacy's answer: kept until it is back.
    if (this.#legacyAgain === undefined) this.legacy.drop();
    this.#candidate.drop();
  }

  #record(legacy: ResponseSample, candidate: ResponseSample, result: CompareResult): void {
    const shadow = this.#shadow;
    shadow.results.record(
      {
        method: this.#request.method,
        url: this.#request.url,
        requestHeaders: this.#request.requestHeaders,
        legacy,
        candidate,
        legacyMs: this.legacy.ms,
        candidateMs: this.#candidate.ms,
      },
      result,
    );
    shadow.compared(result.match);
  }
}
