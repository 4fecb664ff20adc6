// One thread of the compare pool (see pool.ts). It answers one job at a time:
// compile the route's rules (cached by their JSON text, so a config reload
// that keeps a route's rules keeps its compiled trie), build the route's
// protobuf types for a gRPC pair (cached by the descriptors' key), compare,
// post back.

import { parentPort } from 'node:worker_threads';
import type { ProtoDescriptors } from '../config/index.ts';
import type { ProtoContext } from './grpc-answer.ts';
import type { CompareResult } from './json-diff.ts';
import { ProtoSchema } from './proto-schema.ts';
import { compareResponses, type ResponseHeaders } from './response.ts';
import { type CompareRules, type CompiledCompareRules, compileCompareRules } from './rules.ts';

/** One side of a pair as it crosses the thread boundary: the body is a transferred buffer. */
export interface WorkerSample {
  readonly status: number;
  readonly headers: ResponseHeaders;
  readonly body: Uint8Array;
  readonly trailers?: ResponseHeaders;
}

/**
 * A gRPC pair's descriptors as plain data (a string of protobufjs JSON: the
 * types are rebuilt here, once per key) and the call's path.
 */
export interface WorkerProto {
  readonly descriptors: ProtoDescriptors | undefined;
  readonly path: string;
}

export interface WorkerJob {
  readonly id: number;
  readonly legacy: WorkerSample;
  readonly candidate: WorkerSample;
  /** `JSON.stringify(rules)`, computed once per rules object by the pool. */
  readonly rulesKey: string;
  readonly rules: CompareRules;
  readonly noisy: readonly string[] | ReadonlySet<string> | undefined;
  readonly proto: WorkerProto | undefined;
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

// A route has one set of descriptors; the cap, as for rules, guards weeks of reloads.
const MAX_CACHED_SCHEMAS = 32;
const schemas = new Map<string, ProtoSchema>();

function protoContext(proto: WorkerProto | undefined): ProtoContext | undefined {
  if (proto === undefined) return undefined;
  const d = proto.descriptors;
  if (d === undefined) return { schema: undefined, path: proto.path };
  let schema = schemas.get(d.key);
  if (schema === undefined) {
    schema = new ProtoSchema(d);
    if (schemas.size >= MAX_CACHED_SCHEMAS) schemas.clear();
    schemas.set(d.key, schema);
  }
  return { schema, path: proto.path };
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
    const proto = protoContext(job.proto);
    return {
      id: job.id,
      result: compareResponses(job.legacy, job.candidate, rules, { noisy, proto }),
    };
  } catch (err) {
    // A job that throws (a rule that does not compile, a document nested past
    // the stack) fails alone; the thread stays up for the next one.
    return { id: job.id, error: failure(err) };
  }
}

const port = parentPort;
if (port === null) throw new Error('src/compare/worker.ts runs only as a worker thread');
port.on('message', (job: WorkerJob) => port.postMessage(run(job)));
