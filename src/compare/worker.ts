// One thread of the compare pool (see pool.ts). It answers one job at a time:
// compile the route's rules (cached by their JSON text, so a config reload
// that keeps a route's rules keeps its compiled trie), compare, post back.

import { parentPort } from 'node:worker_threads';
import type { CompareResult } from './json-diff.ts';
import { compareResponses, type ResponseHeaders } from './response.ts';
import { type CompareRules, type CompiledCompareRules, compileCompareRules } from './rules.ts';

/** One side of a pair as it crosses the thread boundary: the body is a transferred buffer. */
export interface WorkerSample {
  readonly status: number;
  readonly headers: ResponseHeaders;
  readonly body: Uint8Array;
}

export interface WorkerJob {
  readonly id: number;
  readonly legacy: WorkerSample;
  readonly candidate: WorkerSample;
  /** `JSON.stringify(rules)`, computed once per rules object by the pool. */
  readonly rulesKey: string;
  readonly rules: CompareRules;
  readonly noisy: readonly string[] | ReadonlySet<string> | undefined;
}

/** An error thrown by a job, in a form that survives structured cloning with its code. */
export interface WorkerFailure {
  readonly name: string;
  readonly message: string;
  readonly code: string | undefined;
}

export type WorkerReply =
  | { readonly id: number; readonly result: CompareResult }
  | { readonly id: number; readonly error: WorkerFailure };

// Distinct rules are one per route and config version; the cap only guards a
// process that hot-reloads changed rules for weeks.
const MAX_CACHED_RULES = 256;
const compiled = new Map<string, CompiledCompareRules>();

function compiledRules(key: string, rules: CompareRules): CompiledCompareRules {
  let c = compiled.get(key);
  if (c === undefined) {
    c = compileCompareRules(rules);
    if (compiled.size >= MAX_CACHED_RULES) compiled.clear();
    compiled.set(key, c);
  }
  return c;
}

function failure(err: unknown): WorkerFailure {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return {
      name: err.name,
      message: err.message,
      code: typeof code === 'string' ? code : undefined,
    };
  }
  return { name: 'Error', message: String(err), code: undefined };
}

function run(job: WorkerJob): WorkerReply {
  try {
    const rules = compiledRules(job.rulesKey, job.rules);
    const noisy = job.noisy === undefined ? undefined : new Set(job.noisy);
    return { id: job.id, result: compareResponses(job.legacy, job.candidate, rules, { noisy }) };
  } catch (err) {
    // A job that throws (a rule that does not compile, a document nested past
    // the stack) fails alone; the thread stays up for the next one.
    return { id: job.id, error: failure(err) };
  }
}

const port = parentPort;
if (port === null) throw new Error('src/compare/worker.ts runs only as a worker thread');
port.on('message', (job: WorkerJob) => port.postMessage(run(job)));
