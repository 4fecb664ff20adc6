// Compare shadow pairs off the event loop. Comparing a 1 MiB JSON pair takes
// 10–18 ms, mostly in JSON.parse; on the gateway's thread that is 10–18 ms
// during which no request moves. A few worker threads do it instead, one job
// at a time each, with a bounded queue in front: when the queue is full the
// pair is skipped (shadow traffic is a sample, never a reason to fall behind).

import { isMarkedAsUntransferable, type ResourceLimits, Worker } from 'node:worker_threads';
import { CutoverError, InvalidArgumentError } from '../errors.ts';
import type { ProtoContext } from './grpc-answer.ts';
import type { CompareResult } from './json-diff.ts';
import type { ResponseSample } from './response.ts';
import type { CompareRules } from './rules.ts';
import type { WorkerFailure, WorkerJob, WorkerReply, WorkerSample } from './worker.ts';

const WORKER_URL = new URL('./worker.ts', import.meta.url);

export interface ComparePoolOptions {
  /** Worker threads, created on first use; default 1. */
  readonly size?: number;
  /** Jobs waiting for a free worker (beyond one running per worker); default 64. */
  readonly maxQueue?: number;
  /**
   * Hand the bodies' memory to the worker instead of copying it; default true.
   * A transferred body is detached: it reads as empty afterwards. Bodies that
   * are views into a larger or shared buffer are always copied.
   */
  readonly transfer?: boolean;
  /** V8 heap limits per worker: a pair too large for them fails alone, not the process. */
  readonly resourceLimits?: ResourceLimits;
}

export interface ComparePoolStats {
  /** Worker threads alive. */
  readonly workers: number;
  /** Jobs waiting for a worker. */
  readonly queued: number;
  /** Jobs a worker is running. */
  readonly inFlight: number;
  /** Jobs resolved with a result. */
  readonly completed: number;
  /** Jobs whose promise was rejected (a rule that does not compile, a worker that died, close()). */
  readonly rejected: number;
  /** Calls answered `undefined` because the queue was full. */
  readonly refused: number;
}

interface Job {
  readonly message: WorkerJob;
  readonly transfer: ArrayBuffer[];
  readonly resolve: (result: CompareResult) => void;
  readonly reject: (err: Error) => void;
}

interface Slot {
  readonly worker: Worker;
  job: Job | undefined;
  /** Why the thread died, when it did ('error' comes before 'exit'). */
  error: Error | undefined;
}

export class ComparePool {
  readonly #size: number;
  readonly #maxQueue: number;
  readonly #transfer: boolean;
  readonly #resourceLimits: ResourceLimits | undefined;
  readonly #slots: Slot[] = [];
  readonly #queue: Job[] = [];
  readonly #rulesKeys = new WeakMap<CompareRules, string>();
  #nextId = 0;
  #completed = 0;
  #rejected = 0;
  #refused = 0;
  #closed = false;

  constructor(options: ComparePoolOptions = {}) {
    const { size = 1, maxQueue = 64 } = options;
    if (!(Number.isInteger(size) && size >= 1)) {
      throw new InvalidArgumentError(`compare pool size: expected an integer ≥ 1, got ${size}`);
    }
    if (!(Number.isInteger(maxQueue) && maxQueue >= 0)) {
      throw new InvalidArgumentError(
        `compare pool maxQueue: expected an integer ≥ 0, got ${maxQueue}`,
      );
    }
    this.#size = size;
    this.#maxQueue = maxQueue;
    this.#transfer = options.transfer ?? true;
    this.#resourceLimits = options.resourceLimits;
  }

  /**
   * Compare two answers in a worker. Undefined when the queue is full or the
   * pool is closed: the caller counts the pair as skipped. Once accepted, the
   * bodies belong to the pool (see `transfer`). `proto` decodes gRPC answers:
   * its descriptors travel as their JSON text with every such job (copied,
   * not rebuilt: the worker keeps the types built from each key).
   */
  compare(
    legacy: ResponseSample,
    candidate: ResponseSample,
    rules: CompareRules,
    noisy?: readonly string[] | ReadonlySet<string>,
    proto?: ProtoContext,
  ): Promise<CompareResult> | undefined {
    if (this.#closed) return undefined;
    const slot = this.#idleSlot();
    if (slot === undefined && this.#queue.length >= this.#maxQueue) {
      this.#refused++;
      return undefined;
    }
    const transfer: ArrayBuffer[] = [];
    const message: WorkerJob = {
      id: this.#nextId++,
      legacy: this.#wireSample(legacy, transfer),
      candidate: this.#wireSample(candidate, transfer),
      rulesKey: this.#rulesKey(rules),
      rules,
      noisy: isEmpty(noisy) ? undefined : noisy,
      proto:
        proto === undefined
          ? undefined
          : { descriptors: proto.schema?.descriptors, path: proto.path },
    };
    return new Promise<CompareResult>((resolve, reject) => {
      const job: Job = { message, transfer, resolve, reject };
      if (slot === undefined) this.#queue.push(job);
      else this.#dispatch(slot, job);
    });
  }

  stats(): ComparePoolStats {
    let inFlight = 0;
    for (const s of this.#slots) if (s.job !== undefined) inFlight++;
    return {
      workers: this.#slots.length,
      queued: this.#queue.length,
      inFlight,
      completed: this.#completed,
      rejected: this.#rejected,
      refused: this.#refused,
    };
  }

  /** Stop every worker; jobs queued or running are rejected, later calls answer undefined. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const job of this.#queue.splice(0)) this.#fail(job, closedError());
    await Promise.all(this.#slots.map((s) => s.worker.terminate()));
  }

  /** A worker with nothing to do, or a new one while the pool is below its size. */
  #idleSlot(): Slot | undefined {
    for (const s of this.#slots) if (s.job === undefined) return s;
    return this.#slots.length < this.#size ? this.#spawn() : undefined;
  }

  #spawn(): Slot {
    const worker = new Worker(WORKER_URL, { resourceLimits: this.#resourceLimits });
    // An idle worker never keeps the process alive; a busy one does, for the
    // length of one comparison, so that an awaited result is not lost.
    worker.unref();
    const slot: Slot = { worker, job: undefined, error: undefined };
    worker.on('message', (reply: WorkerReply) => this.#settle(slot, reply));
    worker.on('error', (err) => {
      slot.error = err;
    });
    worker.on('exit', (code) => this.#exited(slot, code));
    this.#slots.push(slot);
    return slot;
  }

  #dispatch(slot: Slot, job: Job): void {
    slot.job = job;
    slot.worker.ref();
    slot.worker.postMessage(job.message, job.transfer);
  }

  #settle(slot: Slot, reply: WorkerReply): void {
    const job = slot.job;
    if (job === undefined || job.message.id !== reply.id) return;
    slot.job = undefined;
    if ('result' in reply) {
      this.#completed++;
      job.resolve(reply.result);
    } else {
      this.#fail(job, jobError(reply.error));
    }
    const next = this.#queue.shift();
    if (next === undefined) slot.worker.unref();
    else this.#dispatch(slot, next);
  }

  #exited(slot: Slot, code: number): void {
    const i = this.#slots.indexOf(slot);
    if (i >= 0) this.#slots.splice(i, 1);
    const job = slot.job;
    slot.job = undefined;
    if (job !== undefined) {
      this.#fail(
        job,
        this.#closed
          ? closedError()
          : new CutoverError(
              'CUTOVER_ERR_INTERNAL',
              `compare worker stopped (exit code ${code})${slot.error ? `: ${slot.error.message}` : ''}`,
              500,
              { cause: slot.error },
            ),
      );
    }
    // The dead worker's place is taken by a new one, as soon as there is work.
    while (!this.#closed && this.#queue.length > 0) {
      const free = this.#idleSlot();
      if (free === undefined) break;
      this.#dispatch(free, this.#queue.shift() as Job);
    }
  }

  #fail(job: Job, err: Error): void {
    this.#rejected++;
    job.reject(err);
  }

  #rulesKey(rules: CompareRules): string {
    let key = this.#rulesKeys.get(rules);
    if (key === undefined) {
      key = JSON.stringify(rules) ?? '';
      this.#rulesKeys.set(rules, key);
    }
    return key;
  }

  #wireSample(sample: ResponseSample, transfer: ArrayBuffer[]): WorkerSample {
    return {
      status: sample.status,
      headers: sample.headers,
      body: this.#ownedBody(sample.body, transfer),
      trailers: sample.trailers,
    };
  }

  /**
   * A body whose whole ArrayBuffer can move to the worker moves (no copy);
   * a view into a larger buffer (Node's shared Buffer pool, a slice) or a
   * SharedArrayBuffer is copied first, so that neither the rest of that
   * buffer is detached nor all of it cloned.
   */
  #ownedBody(body: Uint8Array, transfer: ArrayBuffer[]): Uint8Array {
    const buf = body.buffer;
    if (
      this.#transfer &&
      buf instanceof ArrayBuffer &&
      body.byteOffset === 0 &&
      body.byteLength === buf.byteLength &&
      !buf.resizable &&
      !transfer.includes(buf) &&
      !isMarkedAsUntransferable(buf)
    ) {
      transfer.push(buf);
      return body;
    }
    const copy = new Uint8Array(body.byteLength);
    copy.set(body);
    transfer.push(copy.buffer);
    return copy;
  }
}

function isEmpty(noisy: readonly string[] | ReadonlySet<string> | undefined): boolean {
  return noisy === undefined || ('size' in noisy ? noisy.size : noisy.length) === 0;
}

function closedError(): CutoverError {
  return new CutoverError('CUTOVER_ERR_INTERNAL', 'compare pool closed before the job ran', 500);
}

/** Rebuild a job's error on this side, keeping the class users match on. */
function jobError(f: WorkerFailure): Error {
  if (f.code === 'CUTOVER_ERR_INVALID_ARGUMENT') return new InvalidArgumentError(f.message);
  return new CutoverError('CUTOVER_ERR_INTERNAL', `compare failed: ${f.name}: ${f.message}`, 500);
}
