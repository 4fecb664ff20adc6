// Error answers as problem details (RFC 9457): a JSON object with type,
// title, status and detail, plus Cutover's stable error `code`. A gRPC call
// over HTTP/2 is answered with a gRPC status instead (grpcStatusAnswer).
import type { ServerResponse } from 'node:http';
import { STATUS_CODES } from 'node:http';
import { Http2ServerResponse } from 'node:http2';
import type { CutoverError } from './errors.ts';
import { encodeGrpcMessage, grpcStatusOfHttp, isGrpcContentType } from './grpc-protocol.ts';

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

/**
 * Answer with a problem; `headers` are added (for example x-request-id).
 * Every answer Cutover gives a request itself goes through here, so this is
 * the one place a gRPC call's refusal becomes a gRPC status.
 */
export function sendProblem(
  res: ServerResponse,
  p: Problem,
  headers?: Record<string, string | number>,
): void {
  const req = res.req;
  // Over HTTP/1.1 no gRPC client could read a status (the pipeline refuses such calls with a problem).
  if (req?.httpVersionMajor === 2 && isGrpcContentType(req.headers['content-type'])) {
    grpcStatusAnswer(res, p, headers);
    return;
  }
  const body = problemBody(p);
  // HTTP/2 has no connection-specific fields (RFC 9113 §8.2.2): a close is a GOAWAY, not a header.
  if (headers?.connection !== undefined && (res as unknown) instanceof Http2ServerResponse) {
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

/**
 * A gRPC call's "Trailers-Only" answer (PROTOCOL-HTTP2.md: a call that fails
 * at once gets one HEADERS frame, ending the stream, with :status 200,
 * content-type, grpc-status and grpc-message) carrying the problem: its
 * status mapped (grpcStatusOfHttp), its detail as grpc-message, its code as
 * `x-cutover-error` metadata. The HTTP/2 compat API sends headers set with
 * setHeader and then end() as that one frame; writeHead would leave the
 * stream open for a body and the status would never reach grpc-js.
 */
function grpcStatusAnswer(
  res: ServerResponse,
  p: Problem,
  headers: Record<string, string | number> | undefined,
): void {
  res.statusCode = 200;
  for (const name in headers) {
    // Connection-specific (RFC 9113 §8.2.2), or about a body this answer does not have.
    if (name !== 'connection' && name !== 'content-length') res.setHeader(name, headers[name]);
  }
  res.setHeader('content-type', 'application/grpc');
  res.setHeader('grpc-status', String(grpcStatusOfHttp(p.status)));
  res.setHeader('grpc-message', encodeGrpcMessage(p.detail));
  res.setHeader('x-cutover-error', p.code);
  res.end();
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
