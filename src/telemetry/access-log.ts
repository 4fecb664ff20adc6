// The access log: one JSON line per request, written into the logger's own
// destination. pino's generic serialisation (object walk, ISO time per line)
// was a measured share of the proxy's CPU (bench/RESULTS.md); this writer
// builds the fixed-shape line directly and reuses the timestamp string for
// every line within the same millisecond.
import { pino } from 'pino';
import type { Logger } from './log.ts';
import type { TunnelEnd } from './metrics.ts';

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
    this.#tunnelPid = `","pid":${process.pid},"msg":"tunnel","reqId":`;
  }

  readonly #pid: string;
  readonly #tunnelPid: string;

  #time(): string {
    const now = Date.now();
    if (now !== this.#lastMs) {
      this.#lastMs = now;
      this.#lastTime = new Date(now).toISOString();
    }
    return this.#lastTime;
  }

  /**
   * The fixed part of a line naming route, side and backend (what is known):
   * computed once per route and side (names come from the checked config).
   */
  static fragment(route?: string, side?: string, backend?: string): string {
    let f = '';
    if (route !== undefined) f += `,"route":${str(route)}`;
    if (side !== undefined) f += `,"side":${str(side)}`;
    if (backend !== undefined) f += `,"backend":${str(backend)}`;
    return f;
  }

  /** One request's line; `fragment` comes from AccessLog.fragment. */
  write(
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

  /**
   * The end of an upgraded connection, whose access line was written at its
   * 101: how long it stayed open, the bytes each way (`bytesIn` from the
   * client, `bytesOut` to it) and why it ended (see TunnelEnd).
   */
  tunnel(
    reqId: string,
    fragment: string,
    ms: number,
    bytesIn: number,
    bytesOut: number,
    reason: TunnelEnd,
  ): void {
    this.#dest.write(
      `${this.#prefix}${this.#time()}${this.#tunnelPid}${str(reqId)}${fragment},"ms":${ms},"bytesIn":${bytesIn},"bytesOut":${bytesOut},"reason":"${reason}"}\n`,
    );
  }
}
