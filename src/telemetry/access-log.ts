// The access log: one JSON line per request, written into the logger's own
// destination. pino's generic serialisation (object walk, ISO time per line)
// was a measured share of the proxy's CPU (bench/RESULTS.md); this writer
// builds the fixed-shape line directly and reuses the timestamp string for
// every line within the same millisecond.
import { pino } from 'pino';
import type { Logger } from './log.ts';

export interface AccessEntry {
  reqId: string;
  route: string | undefined;
  side: string | undefined;
  backend: string | undefined;
  method: string | undefined;
  path: string | undefined;
  status: number;
  ms: number;
  bytes: number;
  attempts: number;
  fallback: string | undefined;
  err: string | undefined;
}

interface Destination {
  write(line: string): unknown;
}

/** JSON string literal; client-supplied text may hold quotes, backslashes or control bytes. */
function str(value: string): string {
  return JSON.stringify(value);
}

export class AccessLog {
  readonly #dest: Destination;
  readonly #prefix: string;
  #lastMs = 0;
  #lastTime = '';

  constructor(logger: Logger) {
    this.#dest = (logger as unknown as Record<symbol, Destination>)[pino.symbols.streamSym];
    this.#prefix = `{"level":"info","time":"`;
    this.#pid = `","pid":${process.pid},"msg":"access","reqId":`;
  }

  readonly #pid: string;

  #time(): string {
    const now = Date.now();
    if (now !== this.#lastMs) {
      this.#lastMs = now;
      this.#lastTime = new Date(now).toISOString();
    }
    return this.#lastTime;
  }

  /**
   * The fixed part of a proxied request's line for one route and side:
   * computed once per route (names come from the checked config).
   */
  static fragment(route: string, side: string, backend: string): string {
    return `,"route":${str(route)},"side":${str(side)},"backend":${str(backend)}`;
  }

  /** A proxied request's line; `fragment` comes from AccessLog.fragment. */
  proxied(
    reqId: string,
    fragment: string,
    method: string,
    path: string,
    status: number,
    ms: number,
    bytes: number,
    attempts: number,
    fallback: string | undefined,
    err: string | undefined,
  ): void {
    let line = `${this.#prefix}${this.#time()}${this.#pid}${str(reqId)}${fragment},"method":"${method}","path":${str(path)},"status":${status},"ms":${ms},"bytes":${bytes}`;
    if (attempts > 1) line += `,"attempts":${attempts}`;
    if (fallback !== undefined) line += `,"fallback":${str(fallback)}`;
    if (err !== undefined) line += `,"err":${str(err)}`;
    this.#dest.write(`${line}}\n`);
  }

  write(e: AccessEntry): void {
    let line = this.#prefix + this.#time() + this.#pid + str(e.reqId);
    if (e.route !== undefined) line += `,"route":${str(e.route)}`;
    if (e.side !== undefined) line += `,"side":"${e.side}"`;
    if (e.backend !== undefined) line += `,"backend":${str(e.backend)}`;
    line += `,"method":${str(e.method ?? '')},"path":${str(e.path ?? '')},"status":${e.status},"ms":${e.ms},"bytes":${e.bytes}`;
    if (e.attempts > 1) line += `,"attempts":${e.attempts}`;
    if (e.fallback !== undefined) line += `,"fallback":${str(e.fallback)}`;
    if (e.err !== undefined) line += `,"err":${str(e.err)}`;
    this.#dest.write(`${line}}\n`);
  }
}
