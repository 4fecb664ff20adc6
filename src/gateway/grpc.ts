// What marks a request as a gRPC call (gRPC over HTTP/2 protocol spec,
// "Requests"): content-type application/grpc, alone or with a +suffix
// (+proto, +json) or parameters.
import type { IncomingMessage } from 'node:http';

const GRPC_TYPE = 'application/grpc';

/** Whether a content type is gRPC's: application/grpc, application/grpc+proto, application/grpc;… */
export function isGrpcContentType(value: string | undefined): boolean {
  if (value === undefined || value.length < GRPC_TYPE.length) return false;
  if (value.slice(0, GRPC_TYPE.length).toLowerCase() !== GRPC_TYPE) return false;
  const next = value.charCodeAt(GRPC_TYPE.length);
  // End, '+', ';' or a space: not application/grpc-web (another protocol).
  return Number.isNaN(next) || next === 43 || next === 59 || next === 32;
}

export function isGrpc(req: IncomingMessage): boolean {
  return isGrpcContentType(req.headers['content-type']);
}
