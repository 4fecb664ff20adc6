// Error answers as problem details (RFC 9457): a JSON object with type,
// title, status and detail, plus Cutover's stable error `code`.
import type { ServerResponse } from 'node:http';
import { STATUS_CODES } from 'node:http';
import type { CutoverError } from './errors.ts';

export interface Problem {
  status: number;
  code: string;
  detail: string;
  /** Extra members such as `route`, `backend` or `requestId`. */
  extra?: Record<string, unknown>;
}

export function problemBody(p: Problem): string {
  return JSON.stringify({
    type: `https://cutover.dev/errors/${p.code}`,
    title: STATUS_CODES[p.status] ?? 'Error',
    status: p.status,
    code: p.code,
    detail: p.detail,
    ...p.extra,
  });
}

export function problemFromError(error: CutoverError, extra?: Record<string, unknown>): Problem {
  return { status: error.status, code: error.code, detail: error.message, extra };
}

/** Answer with a problem; `headers` are added (for example x-request-id). */
export function sendProblem(
  res: ServerResponse,
  p: Problem,
  headers?: Record<string, string | number>,
): void {
  const body = problemBody(p);
  // HTTP/2 has no connection-specific fields (RFC 9113 §8.2.2): a close is a GOAWAY, not a header.
  if (headers?.connection !== undefined && res.req?.httpVersionMajor === 2) {
    const { connection: _, ...rest } = headers;
    headers = rest;
  }
  res.writeHead(p.status, {
    ...headers,
    'content-type': 'application/problem+json',
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
  });
  res.end(body);
}

/** A whole HTTP/1.1 response carrying a problem, for sockets outside ServerResponse (parse errors). */
export function rawProblemResponse(p: Problem): string {
  const body = problemBody(p);
  return (
    `HTTP/1.1 ${p.status} ${STATUS_CODES[p.status] ?? 'Error'}\r\n` +
    'content-type: application/problem+json\r\n' +
    `content-length: ${Buffer.byteLength(body)}\r\n` +
    `connection: close\r\n\r\n${body}`
  );
}
