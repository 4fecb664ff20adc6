// The worker thread that parses and checks one config file (load-file.ts
// starts it). Whatever the file does to this thread — seconds of parsing,
// memory, a stack overflow — the gateway's event loop keeps serving.
// parse-process.ts answers the same job in a child process.
import { parentPort, workerData } from 'node:worker_threads';
import { ConfigError, type ConfigIssue } from '../errors.ts';
import type { Env } from './interpolate.ts';
import { parseConfigText } from './load.ts';
import type { Config } from './types.ts';

export interface ParseJob {
  readonly bytes: Uint8Array;
  readonly file: string;
  readonly env: Env;
}

/** What the worker posts back; a Config survives structured cloning (Maps, Sets, plain objects). */
export type ParseAnswer =
  | { readonly ok: true; readonly config: Config }
  | { readonly ok: false; readonly issues: readonly ConfigIssue[] }
  | { readonly ok: false; readonly failure: string };

/** Parses and checks the job's bytes; the answer survives structured cloning. */
export function answer(job: ParseJob): ParseAnswer {
  const text = Buffer.from(job.bytes.buffer, job.bytes.byteOffset, job.bytes.byteLength).toString(
    'utf8',
  );
  try {
    return { ok: true, config: parseConfigText(text, job.file, job.env) };
  } catch (err) {
    // An Error loses its class and fields in structured cloning: send the issues.
    if (err instanceof ConfigError) return { ok: false, issues: err.issues };
    return { ok: false, failure: (err as Error).message ?? String(err) };
  }
}

// In a child process (parse-process.ts imports answer) there is no parentPort,
// and `?.` skips the whole call: nothing runs here.
parentPort?.postMessage(answer(workerData as ParseJob));
