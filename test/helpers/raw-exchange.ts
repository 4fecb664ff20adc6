// Raw HTTP/1.1 over a plain socket, for attacks that only exist as bytes (two
// Host fields, dot segments a client library would resolve, pipelined
// garbage), and a strict parser of what comes back, so a response cut short or
// corrupted fails the test instead of being smoothed over.
import { connect } from 'node:net';

export interface RawResponse {
  readonly status: number;
  /** Header names lower-cased; repeated fields joined with ", ". */
  readonly headers: Record<string, string>;
  readonly body: Buffer;
}

/**
 * Writes `bytes` to the gateway at `url` and resolves with everything it sent
 * back once it closed the connection. The caller's bytes decide when that is
 * (`Connection: close`, or a request the gateway refuses and closes on).
 */
export function rawExchange(url: string, bytes: string | Buffer): Promise<Buffer> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname);
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('end', () => {
      socket.end();
      resolve(Buffer.concat(chunks));
    });
    socket.on('error', reject);
    socket.write(bytes);
  });
}

function headEnd(data: Buffer, from: number): number {
  const at = data.indexOf('\r\n\r\n', from, 'latin1');
  if (at === -1) throw new Error(`incomplete response head at byte ${from}`);
  return at;
}

/** A chunked body (RFC 9112 §7.1) starting at `from`: the body and where the message ends. */
function readChunked(data: Buffer, from: number): [Buffer, number] {
  const parts: Buffer[] = [];
  let at = from;
  for (;;) {
    const lineEnd = data.indexOf('\r\n', at, 'latin1');
    if (lineEnd === -1) throw new Error(`chunked body cut short at byte ${at}`);
    const sizeText = data.subarray(at, lineEnd).toString('latin1').split(';')[0];
    if (!/^[0-9a-fA-F]+$/.test(sizeText)) {
      throw new Error(`bad chunk size ${JSON.stringify(sizeText)} at byte ${at}`);
    }
    const size = Number.parseInt(sizeText, 16);
    at = lineEnd + 2;
    if (size === 0) {
      const end = data.indexOf('\r\n\r\n', at - 2, 'latin1');
      if (end === -1) throw new Error('chunked body without its final CRLF');
      return [Buffer.concat(parts), end + 4];
    }
    if (at + size + 2 > data.length) throw new Error(`chunk cut short at byte ${at}`);
    parts.push(data.subarray(at, at + size));
    if (data.toString('latin1', at + size, at + size + 2) !== '\r\n') {
      throw new Error(`chunk not followed by CRLF at byte ${at + size}`);
    }
    at += size + 2;
  }
}

/**
 * Every response in `data`, in order; throws when the bytes are not a clean
 * sequence of complete HTTP/1.1 responses (Content-Length or chunked bodies).
 */
export function parseResponses(data: Buffer): RawResponse[] {
  const out: RawResponse[] = [];
  let at = 0;
  while (at < data.length) {
    const end = headEnd(data, at);
    const lines = data.toString('latin1', at, end).split('\r\n');
    const m = /^HTTP\/1\.[01] (\d{3}) /.exec(`${lines[0]} `);
    if (!m) throw new Error(`not a status line at byte ${at}: ${JSON.stringify(lines[0])}`);
    const headers: Record<string, string> = {};
    for (const line of lines.slice(1)) {
      const colon = line.indexOf(':');
      const name = line.slice(0, colon).toLowerCase();
      const value = line.slice(colon + 1).trim();
      headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`;
    }
    const status = Number(m[1]);
    let body: Buffer;
    if (headers['transfer-encoding']?.toLowerCase() === 'chunked') {
      [body, at] = readChunked(data, end + 4);
    } else {
      const length = Number(headers['content-length'] ?? 0);
      if (end + 4 + length > data.length) throw new Error(`body cut short at byte ${end + 4}`);
      body = data.subarray(end + 4, end + 4 + length);
      at = end + 4 + length;
    }
    out.push({ status, headers, body });
  }
  return out;
}

/** The one response in `data` (throws unless there is exactly one). */
export function parseResponse(data: Buffer): RawResponse {
  const all = parseResponses(data);
  if (all.length !== 1) throw new Error(`expected one response, got ${all.length}`);
  return all[0];
}

/**
 * Writes `bytes` and resolves with the status of the first response head,
 * then closes the socket: for answers that never end on their own (a 101
 * tunnel, a keep-alive connection).
 */
export function firstStatus(url: string, bytes: string | Buffer): Promise<number> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname);
    let seen = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      seen = Buffer.concat([seen, chunk]);
      if (seen.indexOf('\r\n\r\n') === -1) return;
      const m = /^HTTP\/1\.[01] (\d{3}) /.exec(seen.toString('latin1'));
      socket.destroy();
      if (m) resolve(Number(m[1]));
      else reject(new Error(`not an HTTP response: ${JSON.stringify(seen.toString('latin1'))}`));
    });
    socket.on('end', () => reject(new Error('closed before a response head')));
    socket.on('error', reject);
    socket.write(bytes);
  });
}
