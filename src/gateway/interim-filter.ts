// Removes `100 Continue` answers from an upstream connection's bytes before
// undici's parser sees them. RFC 9110 §15.2: a client "MUST be able to parse
// one or more 1xx responses received prior to a final response, even if the
// client does not expect one". undici parses 102 and 103 but destroys the
// connection on any 100 (lib/dispatcher/client-h1.js onHeadersComplete,
// "bad response"), so a backend that sends 100 unasked (some do for every
// POST) would cost its client a 502 for an answer that was on its way.
// Cutover never forwards Expect (headers.ts), so every 100 is unasked and
// dropped, as Envoy drops upstream 100s with proxy_100_continue off.
//
// A 100 can only stand where a response starts. undici announces each
// request head on the `undici:client:sendHeaders` diagnostics channel (its
// documented hook, lib/core/diagnostics.js) just before writing it; with one
// request per connection at a time (pipelining 1) the next bytes read start
// its response. From there the filter looks at status lines until the first
// final one, and is idle (one flag test per read) for the rest.
import { subscribe } from 'node:diagnostics_channel';
import { maxHeaderSize } from 'node:http';
import type { Socket } from 'node:net';
import { buildConnector } from 'undici';

const FILTER = Symbol('cutover.interimFilter');
type FilteredSocket = Socket & { [FILTER]?: InterimFilter };

/** `HTTP/1.1 100` and the byte after it: the shortest prefix that tells a 100 apart. */
const STATUS_PREFIX = 13;
const CR = 13;
const LF = 10;
const SPACE = 32;

/** The prefix `HTTP/1.x ` (bytes 0–8) of every HTTP/1 status line. */
function isStatusLineStart(data: Buffer, at: number, length: number): boolean {
  const s = 'HTTP/1.';
  for (let i = 0; i < length && i < 9; i++) {
    const byte = data[at + i];
    if (i < 7 ? byte !== s.charCodeAt(i) : i === 7 ? byte < 48 || byte > 57 : byte !== SPACE) {
      return false;
    }
  }
  return true;
}

/** A status line `HTTP/1.x 100` followed by a space or CR (not 1000, not 101). */
function isContinue(data: Buffer, at: number): boolean {
  const after = data[at + 12];
  return (
    data[at + 9] === 49 &&
    data[at + 10] === 48 &&
    data[at + 11] === 48 &&
    (after === SPACE || after === CR)
  );
}

/** Where the head starting at `at` ends (index after its CRLF CRLF), or -1. */
function headEnd(data: Buffer, at: number): number {
  for (let i = at + 3; i < data.length; i++) {
    if (data[i] === LF && data[i - 1] === CR && data[i - 2] === LF && data[i - 3] === CR) {
      return i + 1;
    }
  }
  return -1;
}

class InterimFilter {
  /** True from a request head written until the first final status line read. */
  awaiting = false;
  /** Bytes held back until they show whether they are a 100. */
  #held: Buffer | null = null;

  /** The bytes to hand the parser: `chunk` minus any 100 answer; null when all are held or dropped. */
  filter(chunk: Buffer): Buffer | null {
    const data = this.#held === null ? chunk : Buffer.concat([this.#held, chunk]);
    this.#held = null;
    const kept: Buffer[] = [];
    let at = 0;
    while (this.awaiting && at < data.length) {
      const left = data.length - at;
      if (!isStatusLineStart(data, at, left)) {
        this.awaiting = false;
        break;
      }
      if (left > 9 && data[at + 9] !== 49 /* 1 */) {
        this.awaiting = false;
        break;
      }
      if (left < STATUS_PREFIX) {
        this.#held = data.subarray(at);
        return this.#joined(kept, data, at, at);
      }
      if (data[at + 10] === 48 && data[at + 11] === 49 /* 101 */) {
        this.awaiting = false;
        break;
      }
      const end = headEnd(data, at);
      if (end === -1) {
        // A head larger than undici accepts (its limit is Node's http.maxHeaderSize): let undici fail it.
        if (left > maxHeaderSize) {
          this.awaiting = false;
          break;
        }
        this.#held = data.subarray(at);
        return this.#joined(kept, data, at, at);
      }
      // 102, 103 and the like go on to undici, which hands them to the exchange.
      if (!isContinue(data, at)) kept.push(data.subarray(at, end));
      at = end;
    }
    return this.#joined(kept, data, at, data.length);
  }

  /** `kept` plus data[from, to), as one buffer; null when empty. */
  #joined(kept: Buffer[], data: Buffer, from: number, to: number): Buffer | null {
    if (from < to) kept.push(data.subarray(from, to));
    if (kept.length === 0) return null;
    return kept.length === 1 ? kept[0] : Buffer.concat(kept);
  }
}

function onSendHeaders(message: unknown): void {
  const socket = (message as { socket?: FilteredSocket }).socket;
  const filter = socket?.[FILTER];
  if (filter !== undefined) filter.awaiting = true;
}

let subscribed = false;

/** Puts the filter between `socket` and undici's parser (which reads with socket.read()). */
function filterInterim(socket: FilteredSocket): void {
  if (!subscribed) {
    subscribed = true;
    subscribe('undici:client:sendHeaders', onSendHeaders);
  }
  const filter = new InterimFilter();
  socket[FILTER] = filter;
  const read = socket.read;
  socket.read = function filteredRead(this: Socket, size?: number) {
    const chunk: Buffer | null = read.call(this, size);
    if (chunk === null || !filter.awaiting) return chunk;
    return filter.filter(chunk);
  };
}

/** undici's own connector (same options as a Pool builds by default), with the filter on each socket. */
export function interimFilteringConnector(
  options: buildConnector.BuildOptions,
): buildConnector.connector {
  const connect = buildConnector(options);
  return (opts, callback) => {
    connect(opts, (error, socket) => {
      if (error !== null) callback(error, null);
      else {
        filterInterim(socket as FilteredSocket);
        callback(null, socket);
      }
    });
  };
}
