// The active health check of a gRPC backend: the standard
// grpc.health.v1.Health/Check (grpc/grpc doc/health-checking.md), one unary
// call over the instance's own HTTP/2 pool. Its two messages are one field
// each, so they are framed and read here by hand (protobuf encoding spec)
// rather than through a protobuf library and a .proto file:
//   HealthCheckRequest  { string service = 1; }
//   HealthCheckResponse { ServingStatus status = 1; }  SERVING = 1
import type { Dispatcher } from 'undici';
import { GRPC_STATUS } from '../grpc-protocol.ts';

const CHECK_PATH = '/grpc.health.v1.Health/Check';

/** HealthCheckResponse.ServingStatus, by number. */
const SERVING_STATUS = ['UNKNOWN', 'SERVING', 'NOT_SERVING', 'SERVICE_UNKNOWN'];
const SERVING = 1;

/** Length-prefixed message (PROTOCOL-HTTP2.md): compressed flag, 4-byte big-endian length, message. */
const PREFIX = 5;

function varint(n: number): number[] {
  const out: number[] = [];
  while (n > 0x7f) {
    out.push((n & 0x7f) | 0x80);
    n >>>= 7;
  }
  out.push(n);
  return out;
}

/** A HealthCheckRequest for `service` ('' asks for the server as a whole), framed as one gRPC message. */
export function healthCheckRequest(service: string): Buffer {
  const name = Buffer.from(service, 'utf8');
  // Field 1, wire type 2 (length-delimited): key 0x0a. proto3 leaves an empty string out.
  const message =
    name.length === 0
      ? Buffer.alloc(0)
      : Buffer.concat([Buffer.from([0x0a, ...varint(name.length)]), name]);
  const frame = Buffer.alloc(PREFIX + message.length);
  frame.writeUInt32BE(message.length, 1);
  message.copy(frame, PREFIX);
  return frame;
}

/** Reads a varint at `at`: [value, next offset], or undefined past the end. */
function readVarint(buf: Buffer, at: number): [number, number] | undefined {
  let value = 0;
  for (let shift = 0; at < buf.length && shift < 64; shift += 7) {
    const byte = buf[at++];
    // Enum values and lengths here are small; beyond 2^53 precision does not matter.
    value += (byte & 0x7f) * 2 ** shift;
    if (byte < 0x80) return [value, at];
  }
  return undefined;
}

/**
 * The `status` of a framed HealthCheckResponse (0, UNKNOWN, when proto3 left
 * it out), or undefined when the body is not one uncompressed message.
 */
export function servingStatus(body: Buffer): number | undefined {
  if (body.length < PREFIX || body[0] !== 0) return undefined;
  const end = PREFIX + body.readUInt32BE(1);
  if (end > body.length) return undefined;
  const message = body.subarray(PREFIX, end);
  let status = 0;
  let at = 0;
  while (at < message.length) {
    const key = readVarint(message, at);
    if (key === undefined) return undefined;
    const [tag, next] = key;
    const wire = tag % 8;
    at = next;
    if (wire === 0) {
      const v = readVarint(message, at);
      if (v === undefined) return undefined;
      if (Math.floor(tag / 8) === 1) status = v[0];
      at = v[1];
    } else if (wire === 2) {
      const len = readVarint(message, at);
      if (len === undefined) return undefined;
      at = len[1] + len[0];
    } else if (wire === 1) at += 8;
    else if (wire === 5) at += 4;
    else return undefined;
  }
  return at === message.length ? status : undefined;
}

function header(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/** grpc-message is percent-encoded; a malformed one is shown as it came. */
function readableMessage(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

/** One check of `service` on `pool`: undefined when SERVING, else why not. */
export async function grpcHealthProblem(
  pool: Dispatcher,
  basePath: string,
  service: string,
  timeout: number,
): Promise<string | undefined> {
  const res = await pool.request({
    method: 'POST',
    path: basePath + CHECK_PATH,
    headers: {
      'content-type': 'application/grpc',
      te: 'trailers',
      // The server may give up when we do (PROTOCOL-HTTP2.md "Timeout").
      'grpc-timeout': `${timeout}m`,
      'user-agent': 'cutover-health',
    },
    body: healthCheckRequest(service),
    headersTimeout: timeout,
    bodyTimeout: timeout,
  });
  const body = Buffer.from(await res.body.arrayBuffer());
  if (res.statusCode !== 200) return `status ${res.statusCode}`;
  // In the head of a trailers-only answer, else in the trailers.
  const grpcStatus = header(res.headers['grpc-status']) ?? header(res.trailers['grpc-status']);
  if (grpcStatus !== String(GRPC_STATUS.OK)) {
    const message = header(res.headers['grpc-message']) ?? header(res.trailers['grpc-message']);
    return `grpc-status ${grpcStatus ?? 'missing'}${message ? ` (${readableMessage(message)})` : ''}`;
  }
  const status = servingStatus(body);
  if (status === undefined) return 'the answer is not a HealthCheckResponse';
  return status === SERVING ? undefined : (SERVING_STATUS[status] ?? `serving status ${status}`);
}
