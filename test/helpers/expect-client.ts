// A raw HTTP/1.1 client that behaves as curl does with `Expect: 100-continue`:
// it sends the head, holds the body back, sends it only after a `100
// Continue`, and reads whatever the server answers until it closes.
import { connect } from 'node:net';

export interface RawAnswer {
  /** Everything the server sent, latin1. */
  readonly raw: string;
  /** True when a 100 Continue came before the final answer. */
  readonly continued: boolean;
  /** True when the body was sent (only after a 100). */
  readonly bodySent: boolean;
  /** Status of the final (non-1xx) answer; 0 when none came. */
  readonly status: number;
  /** Head of the final answer, lower-cased names. */
  readonly headers: Record<string, string>;
  /** Body of the final answer (as far as it came). */
  readonly body: string;
  /** Interim answers (status lines) in the order they came. */
  readonly interim: readonly string[];
}

/** Splits a raw answer into interim status lines and the final answer. */
export function parseAnswer(raw: string): Omit<RawAnswer, 'continued' | 'bodySent' | 'raw'> {
  const interim: string[] = [];
  let rest = raw;
  for (;;) {
    const end = rest.indexOf('\r\n\r\n');
    if (end === -1) return { status: 0, headers: {}, body: '', interim };
    const head = rest.slice(0, end);
    const lines = head.split('\r\n');
    const status = Number(lines[0].split(' ')[1]);
    rest = rest.slice(end + 4);
    if (status >= 100 && status < 200) {
      interim.push(head);
      continue;
    }
    const headers: Record<string, string> = {};
    for (const line of lines.slice(1)) {
      const colon = line.indexOf(':');
      headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
    }
    return { status, headers, body: rest, interim };
  }
}

/**
 * Sends `head` (ending in CRLF CRLF) to `url`, then `body` once a 100
 * Continue arrives, and collects the answer until the server closes (send
 * `Connection: close` in `head`).
 */
export function expectContinue(url: string, head: string, body: Buffer): Promise<RawAnswer> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname);
    let raw = '';
    let bodySent = false;
    socket.on('data', (d: Buffer) => {
      raw += d.toString('latin1');
      if (!bodySent && raw.startsWith('HTTP/1.1 100 ') && raw.includes('\r\n\r\n')) {
        bodySent = true;
        socket.write(body);
      }
    });
    // A server that answers and closes while the body is on its way resets the write: the answer is what counts.
    socket.on('error', (e) => {
      if (raw === '') reject(e);
    });
    // A bound, not a measurement: a gateway that never answers fails the test instead of hanging it.
    socket.setTimeout(10_000, () => socket.destroy(new Error('no answer within 10 s')));
    socket.on('close', () => {
      const parsed = parseAnswer(raw);
      resolve({
        raw,
        continued: parsed.interim.some((l) => l.startsWith('HTTP/1.1 100 ')),
        bodySent,
        ...parsed,
      });
    });
    socket.write(head);
  });
}
