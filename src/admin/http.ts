// The admin API's small HTTP pieces: JSON and text answers, a bounded JSON
// body, and names taken from path segments. Errors are CutoverErrors, which
// the server turns into problem+json (RFC 9457).
import type { IncomingMessage, ServerResponse } from 'node:http';
import { InvalidArgumentError } from '../errors.ts';

/** Largest admin request body; the API takes small JSON documents only. */
const MAX_BODY = 64 * 1024;

export function sendJson(
  res: ServerResponse,
  status: number,
  value: unknown,
  headers?: Record<string, string | string[]>,
): void {
  const body = JSON.stringify(value);
  res.writeHead(status, {
    ...headers,
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
  });
  res.end(body);
}

export function sendText(
  res: ServerResponse,
  status: number,
  text: string,
  type = 'text/plain; charset=utf-8',
): void {
  res.writeHead(status, {
    'content-type': type,
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
  });
  res.end(text);
}

/**
 * A name from a path segment. A segment that is not valid percent-encoding
 * (`%ZZ`, a lone `%`, bytes that are not UTF-8) is the client's mistake: 400,
 * not a URIError that would surface as a 500 (RFC 3986 §2.1 defines `%` HEX HEX).
 */
export function nameFromSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new InvalidArgumentError(
      `${JSON.stringify(segment)} in the path is not valid percent-encoding (RFC 3986 §2.1)`,
    );
  }
}

/** The request target as a URL; a target Node accepted but WHATWG URL refuses is a 400 too. */
export function targetOf(req: IncomingMessage): URL {
  try {
    return new URL(req.url ?? '/', 'http://admin');
  } catch {
    throw new InvalidArgumentError('the request target is not a valid URL path');
  }
}

export async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY) throw new InvalidArgumentError(`request body over ${MAX_BODY} bytes`);
    chunks.push(chunk as Buffer);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new InvalidArgumentError('request body is not valid JSON');
  }
}
