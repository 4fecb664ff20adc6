// Raw HTTP/1.1 over a plain TCP socket, for tests that must send exact bytes
// (attacks, malformed requests) and read exactly what came back.
import { connect, type Socket } from 'node:net';

/** Writes `bytes` to 127.0.0.1:`port` and resolves with everything read until the server closes. */
export function rawExchange(port: number, bytes: string | Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const socket: Socket = connect(port, '127.0.0.1', () => socket.write(bytes));
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.once('error', reject);
    socket.once('close', () => resolve(Buffer.concat(chunks)));
  });
}

export interface RawResponse {
  readonly status: number;
  /** Lower-case names; repeated fields joined with ", ". */
  readonly headers: Record<string, string>;
  /** The body, de-chunked when Transfer-Encoding is chunked. */
  readonly body: Buffer;
}

/**
 * Parses one HTTP/1.1 response (head, then a Content-Length, chunked or
 * close-delimited body); interim 1xx answers before it (100 Continue) are skipped.
 */
export function parseResponse(raw: Buffer): RawResponse {
  while (/^HTTP\/1\.[01] 1(?!01)\d\d/.test(raw.subarray(0, 12).toString('latin1'))) {
    const interim = raw.indexOf('\r\n\r\n');
    if (interim === -1) break;
    raw = raw.subarray(interim + 4);
  }
  const end = raw.indexOf('\r\n\r\n');
  if (end === -1) throw new Error(`no complete response head in ${raw.length} bytes`);
  const lines = raw.subarray(0, end).toString('latin1').split('\r\n');
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(lines[0])?.[1]);
  const headers: Record<string, string> = {};
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    const name = line.slice(0, colon).toLowerCase();
    const value = line.slice(colon + 1).trim();
    headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`;
  }
  const rest = raw.subarray(end + 4);
  if (headers['transfer-encoding']?.toLowerCase() === 'chunked')
    return { status, headers, body: dechunk(rest) };
  const length = headers['content-length'];
  return {
    status,
    headers,
    body: length === undefined ? rest : rest.subarray(0, Number(length)),
  };
}

function dechunk(data: Buffer): Buffer {
  const out: Buffer[] = [];
  let at = 0;
  for (;;) {
    const eol = data.indexOf('\r\n', at);
    if (eol === -1) throw new Error('chunked body cut short');
    const size = Number.parseInt(data.subarray(at, eol).toString('latin1'), 16);
    if (size === 0) return Buffer.concat(out);
    out.push(data.subarray(eol + 2, eol + 2 + size));
    at = eol + 2 + size + 2;
  }
}
