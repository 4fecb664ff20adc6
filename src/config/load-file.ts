// The one way a config file is loaded — at start, on every reload and by
// `cutover validate`: read without blocking (read.ts), then parsed and checked
// in a worker thread within a time limit. A huge or hostile file can no longer
// stall traffic (issue 9: 20,000 keys blocked every request for 7 s, a 50 MB
// file hung the gateway for minutes); past a limit it is refused and the
// running config stays. A big file loaded at start-up is parsed in a child
// process instead (parse-process.ts says why).
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import {
  ConfigError,
  ConfigFileError,
  ConfigTimeoutError,
  ConfigTooLargeError,
} from '../errors.ts';
import { DEFAULTS } from './defaults.ts';
import type { Env } from './interpolate.ts';
import { parseConfigText } from './load.ts';
import type { ParseAnswer, ParseJob } from './parse-worker.ts';
import { readConfigBytes } from './read.ts';
import type { Config } from './types.ts';
import { parseDuration, parseSize } from './units.ts';

export interface LoadLimits {
  /** Files larger than this are refused before they are read. */
  readonly maxBytes: number;
  /** A parse and check that takes longer is stopped and refused. */
  readonly timeoutMs: number;
}

export interface LoadOptions {
  /** Stops the load (the worker is terminated); used when the process shuts down. */
  readonly signal?: AbortSignal;
  /** Instead of the limits from the environment. */
  readonly limits?: LoadLimits;
  /**
   * Parse on the calling thread: for a process that serves nothing yet (the
   * start-up load, the CLI), where there is no traffic to stall and a
   * worker's start (≈ 0.3 s measured here) is pure cost. The size limit and
   * the regular-file check still apply; reloads always parse off the loop.
   */
  readonly inThread?: boolean;
  /**
   * With inThread, a file of at least this many bytes is parsed in a child
   * process instead (default OWN_PROCESS_BYTES), so the parse's transient
   * heap leaves with that process.
   */
  readonly ownProcessBytes?: number;
}

/**
 * 256 KiB, about 1,800 generated routes: below it the parse's heap peak is a
 * few MB and a process's start (≈ 0.3–0.5 s here) would be pure cost.
 */
export const OWN_PROCESS_BYTES = 256 * 1024;

/** Environment variables that override the limits: the file cannot set its own. */
export const MAX_BYTES_VARIABLE = 'CUTOVER_CONFIG_MAX_BYTES';
export const TIMEOUT_VARIABLE = 'CUTOVER_CONFIG_TIMEOUT';

const WORKER_URL = new URL('./parse-worker.ts', import.meta.url);
const PROCESS_PATH = fileURLToPath(new URL('./parse-process.ts', import.meta.url));

/** The limits for loading `file`: the defaults, or the environment's CUTOVER_CONFIG_* values. */
export function loadLimits(file: string, env: Env): LoadLimits {
  const bytesText = env[MAX_BYTES_VARIABLE];
  const timeoutText = env[TIMEOUT_VARIABLE];
  const maxBytes = bytesText ? parseSize(bytesText) : DEFAULTS.configMaxBytes;
  const timeoutMs = timeoutText ? parseDuration(timeoutText) : DEFAULTS.configTimeout;
  if (maxBytes === undefined || maxBytes < 1) {
    throw new ConfigFileError(
      file,
      `${MAX_BYTES_VARIABLE} must be a size such as 10MiB, got ${JSON.stringify(bytesText)}`,
    );
  }
  if (timeoutMs === undefined || timeoutMs < 1) {
    throw new ConfigFileError(
      file,
      `${TIMEOUT_VARIABLE} must be a duration such as 10s, got ${JSON.stringify(timeoutText)}`,
    );
  }
  return { maxBytes, timeoutMs };
}

/** Structured cloning drops Object.freeze; the Config every module reads is frozen again. */
function deepFreeze<T>(value: T): T {
  if (value === null || typeof value !== 'object' || Object.isFrozen(value)) return value;
  if (value instanceof Map) for (const v of value.values()) deepFreeze(v);
  else if (!(value instanceof Set)) for (const v of Object.values(value)) deepFreeze(v);
  return Object.freeze(value);
}

function workerFailure(file: string, error: Error & { code?: string }): Error {
  if (error.code === 'ERR_WORKER_OUT_OF_MEMORY') {
    return new ConfigTooLargeError(
      file,
      `checking it needed more than ${DEFAULTS.configWorkerHeapMb} MiB of memory`,
    );
  }
  return new ConfigFileError(file, `could not be checked: ${error.message}`, { cause: error });
}

/** The Config of an answer, frozen again, or the error it carries. */
function settleAnswer(
  answer: ParseAnswer,
  file: string,
  resolve: (config: Config) => void,
  reject: (error: Error) => void,
): void {
  if (answer.ok) resolve(deepFreeze(answer.config));
  else if ('issues' in answer) reject(new ConfigError(answer.issues));
  else reject(new ConfigFileError(file, `could not be checked: ${answer.failure}`));
}

/**
 * Parses and checks config bytes in a short-lived child process (start-up
 * loads of big files): no time limit, as on the calling thread, since nothing
 * is served yet.
 */
export function parseConfigInProcess(bytes: Uint8Array, file: string, env: Env): Promise<Config> {
  return new Promise((resolve, reject) => {
    // No execArgv: an --inspect port or a preloaded module is the gateway's, not the parser's.
    const child = fork(PROCESS_PATH, [], {
      serialization: 'advanced',
      execArgv: [],
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    });
    let settled = false;
    child.once('message', (answer: ParseAnswer) => {
      settled = true;
      settleAnswer(answer, file, resolve, reject);
    });
    child.once('error', (error) => {
      if (settled) return;
      settled = true;
      reject(new ConfigFileError(file, `could not be checked: ${error.message}`, { cause: error }));
    });
    child.once('exit', (code, signal) => {
      if (settled) return;
      settled = true;
      reject(
        new ConfigFileError(
          file,
          `the checking process stopped (${signal ?? `exit code ${code}`})`,
        ),
      );
    });
    const job: ParseJob = { bytes, file, env: { ...env } };
    child.send(job);
  });
}

/** Parses and checks config bytes in a worker thread; rejects past the time limit or on abort. */
export function parseConfigOffThread(
  bytes: Uint8Array,
  file: string,
  env: Env,
  options: LoadOptions & { readonly limits: LoadLimits },
): Promise<Config> {
  const { signal, limits } = options;
  signal?.throwIfAborted();
  return new Promise((resolve, reject) => {
    const job: ParseJob = { bytes, file, env: { ...env } };
    const worker = new Worker(WORKER_URL, {
      workerData: job,
      resourceLimits: { maxOldGenerationSizeMb: DEFAULTS.configWorkerHeapMb },
    });
    let settled = false;
    const finish = (outcome: () => void): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      outcome();
    };
    const stop = (error: unknown): void =>
      finish(() => {
        void worker.terminate();
        reject(error);
      });
    const onAbort = (): void => stop(signal?.reason);
    const timer = setTimeout(
      () => stop(new ConfigTimeoutError(file, limits.timeoutMs)),
      limits.timeoutMs,
    );
    signal?.addEventListener('abort', onAbort, { once: true });
    worker.once('message', (answer: ParseAnswer) =>
      finish(() => settleAnswer(answer, file, resolve, reject)),
    );
    worker.once('error', (error: Error) => finish(() => reject(workerFailure(file, error))));
    worker.once('exit', (code) =>
      finish(() =>
        reject(new ConfigFileError(file, `the checking thread stopped (exit code ${code})`)),
      ),
    );
  });
}

/** Reads `file` (named in messages exactly as given), then parses and checks it off the event loop. */
export async function loadConfigFile(
  file: string,
  env: Env = process.env,
  options: LoadOptions = {},
): Promise<Config> {
  const limits = options.limits ?? loadLimits(file, env);
  const bytes = await readConfigBytes(file, limits.maxBytes);
  if (options.inThread) {
    if (bytes.byteLength >= (options.ownProcessBytes ?? OWN_PROCESS_BYTES)) {
      return parseConfigInProcess(bytes, file, env);
    }
    return parseConfigText(Buffer.from(bytes).toString('utf8'), file, env);
  }
  return parseConfigOffThread(bytes, file, env, { ...options, limits });
}
