// The access log: one JSON line per request, written into the logger's own
// destination. pino's generic serialisation (object walk, ISO time per line)
// was a measured share of the proxy's CPU (bench/RESULTS.md), and so was a
// template-literal line turned into bytes at each flush; this writer encodes
// the fixed-shape line straight into the LineWriter's buffer, with the line's
// head (level, time to the second, pid) cached as bytes for a whole second.
import { pino } from 'pino';
import { GRPC_STATUS_NAMES } from '../config/index.ts';
import { NO_GRPC_STATUS } from './grpc-status.ts';
import {
  asciiBytes,
  MAX_NUMBER,
  maxJsonString,
  putBytes,
  putJsonString,
  putNumberField,
  putRaw,
  putStringField,
} from './json-bytes.ts';
import { LineWriter } from './line-writer.ts';
import type { Logger } from './log.ts';
import type { TunnelEnd } from './metrics.ts';

/** Where a line is encoded: a LineWriter, or StringSink around any other stream. */
interface LineSink {
  reserve(bytes: number): Buffer;
  readonly offset: number;
  commit(end: number): void;
}

interface Destination {
  write(line: string): unknown;
}

/** Lines for a destination that takes strings (not a LineWriter). */
class StringSink implements LineSink {
  readonly #dest: Destination;
  #buf = Buffer.allocUnsafe(4096);

  constructor(dest: Destination) {
    this.#dest = dest;
  }

  reserve(bytes: number): Buffer {
    if (bytes > this.#buf.length) this.#buf = Buffer.allocUnsafe(bytes);
    return this.#buf;
  }

  get offset(): number {
    return 0;
  }

  commit(end: number): void {
    this.#dest.write(this.#buf.toString('utf8', 0, end));
  }
}

const ACCESS = asciiBytes('access","reqId":');
const TUNNEL = asciiBytes('tunnel","reqId":');
const [STATUS, MS, BYTES, ATTEMPTS, FALLBACK, ERR, BYTES_IN, BYTES_OUT, REASON] = [
  'status',
  'ms',
  'bytes',
  'attempts',
  'fallback',
  'err',
  'bytesIn',
  'bytesOut',
  'reason',
].map((name) => asciiBytes(`,"${name}":`)) as [Uint8Array, ...Uint8Array[]];
const END = asciiBytes('}\n');
/** `,"grpc_status":"<NAME>"` by code, encoded once: a gRPC line pays one copy. */
const GRPC_FIELDS = GRPC_STATUS_NAMES.map((name) => asciiBytes(`,"grpc_status":"${name}"`));
const GRPC_FIELD_BYTES = Math.max(...GRPC_FIELDS.map((f) => f.length));
/**
 * Cached line middles (fragment, method): route fragments × the methods the
 * HTTP parser knows; past the bound a middle is encoded for its line only.
 */
const MAX_MIDDLES = 4096;

/**
 * A bound for the head (≈ 80 bytes), every constant part (≈ 100) and the
 * numbers of one line together, for `reserve`.
 */
const FIXED_BYTES = 256 + 6 * MAX_NUMBER;

/** JSON string literal; client-supplied text may hold quotes, backslashes or control bytes. */
function str(value: string): string {
  return JSON.stringify(value);
}

export class AccessLog {
  readonly #sink: LineSink;
  readonly #pid: number;
  /** `{"level":"info","time":"<ISO time of #second>","pid":N,"msg":"`, as bytes. */
  #head: Uint8Array = new Uint8Array(0);
  /** Where the milliseconds' three digits sit in #head. */
  #msAt = 0;
  #second = Number.NaN;
  /** `<fragment>,"method":"<method>","path":` as bytes, by fragment then method. */
  readonly #middles = new Map<string, Map<string, Uint8Array>>();
  #middleCount = 0;

  constructor(logger: Logger) {
    const dest = (logger as unknown as Record<symbol, Destination>)[pino.symbols.streamSym];
    this.#sink = dest instanceof LineWriter ? dest : new StringSink(dest);
    this.#pid = process.pid;
  }

  /** The line up to its request id: the current time to the millisecond, `msg`, `reqId`. */
  #putHead(buf: Buffer, at: number, msg: Uint8Array, reqId: string): number {
    const now = Date.now();
    const second = Math.floor(now / 1000);
    if (second !== this.#second) {
      this.#second = second;
      const time = new Date(second * 1000).toISOString();
      const head = `{"level":"info","time":"${time}","pid":${this.#pid},"msg":"`;
      this.#head = asciiBytes(head);
      this.#msAt = head.indexOf(time) + time.length - 4;
    }
    const end = putBytes(buf, at, this.#head);
    const ms = (now - second * 1000) | 0;
    const tens = (ms / 10) | 0;
    const hundreds = (ms / 100) | 0;
    const digits = at + this.#msAt;
    buf[digits] = 0x30 + hundreds;
    buf[digits + 1] = 0x30 + tens - hundreds * 10;
    buf[digits + 2] = 0x30 + ms - tens * 10;
    return putJsonString(buf, putBytes(buf, end, msg), reqId);
  }

  /** The bytes between the request id and the path: one copy instead of four writes. */
  #middle(fragment: string, method: string): Uint8Array {
    let byMethod = this.#middles.get(fragment);
    let bytes = byMethod?.get(method);
    if (bytes === undefined) {
      // The method is written as it is: the HTTP parser admits only token characters.
      bytes = Buffer.from(`${fragment},"method":"${method}","path":`);
      if (this.#middleCount < MAX_MIDDLES) {
        this.#middleCount++;
        if (byMethod === undefined) {
          byMethod = new Map();
          this.#middles.set(fragment, byMethod);
        }
        byMethod.set(method, bytes);
      }
    }
    return bytes;
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

  /**
   * One request's line; `fragment` comes from AccessLog.fragment;
   * `grpcStatus`: the code of a gRPC call's answer, else NO_GRPC_STATUS (no field).
   */
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
    grpcStatus = NO_GRPC_STATUS,
  ): void {
    const sink = this.#sink;
    let max =
      FIXED_BYTES +
      maxJsonString(reqId) +
      3 * (fragment.length + method.length) +
      maxJsonString(path);
    if (fallback !== undefined) max += maxJsonString(fallback);
    if (err !== undefined) max += maxJsonString(err);
    if (grpcStatus !== NO_GRPC_STATUS) max += GRPC_FIELD_BYTES;
    const buf = sink.reserve(max);
    let o = this.#putHead(buf, sink.offset, ACCESS, reqId);
    o = putBytes(buf, o, this.#middle(fragment, method));
    o = putJsonString(buf, o, path);
    o = putNumberField(buf, o, STATUS, status);
    o = putNumberField(buf, o, MS, ms);
    o = putNumberField(buf, o, BYTES, bytes);
    if (grpcStatus !== NO_GRPC_STATUS) o = putBytes(buf, o, GRPC_FIELDS[grpcStatus]!);
    if (attempts > 1) o = putNumberField(buf, o, ATTEMPTS, attempts);
    if (fallback !== undefined) o = putStringField(buf, o, FALLBACK, fallback);
    if (err !== undefined) o = putStringField(buf, o, ERR, err);
    sink.commit(putBytes(buf, o, END));
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
    const sink = this.#sink;
    const buf = sink.reserve(
      FIXED_BYTES + maxJsonString(reqId) + 3 * (fragment.length + reason.length),
    );
    let o = this.#putHead(buf, sink.offset, TUNNEL, reqId);
    o = putRaw(buf, o, fragment);
    o = putNumberField(buf, o, MS, ms);
    o = putNumberField(buf, o, BYTES_IN, bytesIn);
    o = putNumberField(buf, o, BYTES_OUT, bytesOut);
    o = putStringField(buf, o, REASON, reason);
    sink.commit(putBytes(buf, o, END));
  }
}
