// Shadow copies (issue 4): a share of the requests that legacy serves is
// also sent to the candidate, marked `x-cutover-shadow: 1`. The client only
// ever gets legacy's answer, streamed as usual; both answers are kept (up to
// shadow.maxBodyBytes) and compared when both are complete. A slow or dead
// candidate costs the client nothing: the copy runs beside the request, and
// copies beyond shadow.maxInFlight are dropped and counted, never queued.
// Every byte a copy keeps is reserved from one process-wide budget
// (server.shadowMemory, shadow-memory.ts); a copy that does not fit is
// abandoned and counted as `skipped_memory`.
// A gRPC call (issue 12) is copied only when it is unary: see shadow-grpc.ts
// for its request and `legacyData` below for its answer; both answers keep
// their trailers, where gRPC puts its status.
import type { Readable } from 'node:stream';
import {
  ComparePool,
  type CompareResult,
  compareResponses,
  GrpcMessageCounter,
  type ProtoContext,
  type ResponseSample,
  type SkipReason,
} from '../compare/index.ts';
import type { Backend } from './backends.ts';
import type { RouteShadow } from './route-shadow.ts';
import { type ChunkKeeper, Collected, OVER_BUDGET } from './shadow-answer.ts';
import { type GrpcRequestOutcome, GrpcRequestTee } from './shadow-grpc.ts';
import type { ShadowMemory } from './shadow-memory.ts';

export { RouteShadow } from './route-shadow.ts';

export const SHADOW_HEADER = 'x-cutover-shadow';

/**
 * Pairs larger than this are compared in a worker thread: a 1 MiB JSON pair
 * takes 10–30 ms to parse and diff (bench/compare-micro.ts), far too long to
 * hold the event loop; a 2 KiB pair takes ≈ 20 µs, less than a thread hop.
 */
const WORKER_ABOVE_BYTES = 64 * 1024;

/**
 * For gRPC pairs the bar is lower: decoding protobuf into JSON and diffing it
 * costs ≈ 3× a JSON pair per body byte (bench/compare-grpc-micro.ts: a
 * 776 KB pair in 35 ms), so 16 KiB of protobuf costs what 64 KiB of JSON does.
 */
const GRPC_WORKER_ABOVE_BYTES = 16 * 1024;

let pool: ComparePool | undefined;

/** One pool for the process, made on first use; its idle workers never keep the process alive. */
function comparePool(): ComparePool {
  // transfer: false — the bodies are still read afterwards (samples, noise learning).
  pool ??= new ComparePool({ size: 1, maxQueue: 64, transfer: false });
  return pool;
}

/**
 * Send a copy of a request to one instance of a backend (over its protocol:
 * HTTP/1.1 or HTTP/2, as its pool is set up), collecting the answer in `into`.
 */
function sendCopy(
  backend: Backend,
  r: ShadowRequest,
  body: Buffer | null,
  marker: string,
  into: Collected,
): void {
  const instance = backend.pick();
  const headers = r.headers.slice();
  if (r.hostAt !== -1) headers[r.hostAt] = instance.host;
  headers.push(SHADOW_HEADER, marker);
  into.start = performance.now();
  into.sent = true;
  instance.pool.dispatch(
    {
      path: instance.basePath + r.url,
      method: r.method as 'GET',
      headers,
      body,
      headersTimeout: r.timeout,
      bodyTimeout: r.idleTimeout,
    },
    into,
  );
}

function isOneMessage(body: Buffer | null): boolean {
  const counter = new GrpcMessageCounter();
  if (body !== null) counter.push(body);
  return counter.started === 1 && counter.whole;
}

export interface ShadowRequest {
  readonly method: string;
  readonly url: string;
  readonly requestHeaders: Record<string, string | string[] | undefined>;
  /** Flat upstream header list (as sent to legacy); copied, not changed. */
  readonly headers: readonly string[];
  readonly hostAt: number;
  /** The kept body; null for none, and for a gRPC call whose body is still streaming in. */
  readonly body: Buffer | null;
  readonly timeout: number;
  readonly idleTimeout: number;
  /** Safe to send twice (a noise probe may): RouteShadow.isSafe. */
  readonly safe: boolean;
  /** A gRPC call's path (`/pkg.Service/Method`); undefined for other requests. */
  readonly grpcPath: string | undefined;
}

/** The candidate's copy of one request, and the pairing with legacy's answer. */
export class ShadowCopy implements ChunkKeeper {
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
  /** The body the copies carry (a gRPC call's arrives once its stream ends). */
  #body: Buffer | null;
  /** A gRPC call's request still streaming in; undefined otherwise. */
  #tee: GrpcRequestTee | undefined;
  /** Why the copy was given up before an answer (a gRPC stream, a request over the limit). */
  #skip: SkipReason | undefined;
  /**
   * Messages of legacy's answer to a gRPC call not known to be unary: a
   * second one means a server stream, and the copy is given up.
   */
  readonly #legacyMessages: GrpcMessageCounter | undefined;

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
    this.#body = request.body;
    this.#tee = undefined;
    this.#skip = undefined;
    const path = request.grpcPath;
    this.#legacyMessages =
      path === undefined || shadow.grpcMethod(path) !== undefined
        ? undefined
        : new GrpcMessageCounter();
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
    this.#tee?.stop();
    this.#releaseBody();
    this.legacy.drop();
    this.#candidate.drop();
    this.#candidate.giveUp(OVER_BUDGET);
    const again = this.#legacyAgain;
    if (again) {
      again.drop();
      again.giveUp(OVER_BUDGET);
    }
  }

  /**
   * No comparison for this call (`reason`; undefined when legacy's own
   * failure will say why): stop taking its request, cancel what was sent.
   */
  #giveUp(reason: SkipReason | undefined): void {
    this.#skip ??= reason;
    this.#tee?.stop();
    this.#candidate.drop();
    this.#candidate.giveUp(`shadow copy given up: ${reason ?? 'legacy failed'}`);
    const again = this.#legacyAgain;
    if (again) {
      again.drop();
      again.giveUp('shadow copy given up');
    }
  }

  #releaseBody(): void {
    this.#memory.release(this.#bodyBytes);
    this.#bodyBytes = 0;
  }

  /** Send the copy to the candidate (and, when learning noise, a second one to legacy). */
  send(candidate: Backend, legacy: Backend): void {
    if (this.#request.grpcPath !== undefined && !isOneMessage(this.#body)) {
      // A gRPC body read whole (it had a Content-Length) that is not one message: a client stream.
      this.#giveUp('streaming');
      return;
    }
    if (this.#shadow.wantsNoiseProbe(this.#request.safe)) {
      const again = new Collected(this);
      again.max = this.#max;
      again.onDone = () => this.#learn();
      this.#legacyAgain = again;
      sendCopy(legacy, this.#request, this.#body, 'noise', again);
    }
    sendCopy(candidate, this.#request, this.#body, '1', this.#candidate);
  }

  /**
   * A gRPC call whose body streams to legacy: the copies go once the client
   * has ended its stream with exactly one message (shadow-grpc.ts), or not
   * at all. Called in the tick that starts the body's pipe to legacy.
   */
  sendAfterRequest(req: Readable, candidate: Backend, legacy: Backend): void {
    this.#tee = new GrpcRequestTee(req, this.#max, this, (outcome: GrpcRequestOutcome) => {
      if ('skip' in outcome) {
        this.#giveUp(outcome.skip);
        return;
      }
      // Its bytes were reserved chunk by chunk (keep); released with the copy.
      this.#body = outcome.body;
      this.#bodyBytes += outcome.body.length;
      this.send(candidate, legacy);
    });
  }

  /** Legacy's answer tee: headers. */
  legacyStart(status: number, headers: Record<string, string | string[] | undefined>): void {
    this.legacy.status = status;
    this.legacy.headers = headers;
  }

  legacyData(chunk: Buffer): void {
    // A server that answers before the client ended its request is streaming.
    if (this.#tee?.pending) this.#giveUp('streaming');
    const messages = this.#legacyMessages;
    if (messages !== undefined && this.#skip === undefined) {
      messages.push(chunk);
      if (messages.started > 1) this.#giveUp('streaming');
    }
    this.legacy.add(chunk, this.#max);
  }

  /** Legacy's answer is over (`trailers`: gRPC's status, when it came in trailers). */
  legacyEnd(ok: boolean, trailers?: Record<string, string | string[] | undefined>): void {
    if (this.legacy.state !== 'pending') return;
    if (this.#tee?.pending) this.#giveUp(ok ? 'streaming' : undefined);
    this.legacy.ms = performance.now() - this.#start;
    if (trailers !== undefined && Object.keys(trailers).length > 0) this.legacy.trailers = trailers;
    this.legacy.state = ok ? 'done' : 'failed';
    this.#learn();
    this.#settle();
  }

  /** How a gRPC call's answers are decoded; undefined for other requests. */
  #proto(): ProtoContext | undefined {
    const path = this.#request.grpcPath;
    return path === undefined ? undefined : this.#shadow.protoContext(path);
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
      noise.probeEnded(this.legacy.sample(), again.sample(), this.#proto());
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
    this.#tee?.stop();
    const skipped: SkipReason | undefined = this.#abandoned
      ? 'memory'
      : this.#skip !== undefined
        ? this.#skip
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
    const proto = this.#proto();
    const bytes = legacy.body.length + candidate.body.length;
    if (bytes <= (proto === undefined ? WORKER_ABOVE_BYTES : GRPC_WORKER_ABOVE_BYTES)) {
      const result = compareResponses(legacy, candidate, shadow.compiled, { noisy, proto });
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
    const pending = comparePool().compare(legacy, candidate, shadow.config.compare, noisy, proto);
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
    shadow.compared({
      match: result.match,
      fields: result.match ? [] : realPatterns(result),
      legacyMs: this.legacy.ms,
      candidateMs: this.#candidate.ms,
      legacyStatus: legacy.status,
      candidateStatus: candidate.status,
    });
  }
}

/** The patterns of a mismatched pair that are not noise, each once (the report's top fields). */
function realPatterns(result: CompareResult): Set<string> {
  const out = new Set<string>();
  for (const d of result.differences) if (!d.noise) out.add(d.pattern);
  return out;
}
