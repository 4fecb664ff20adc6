// What marks a request as a gRPC call (gRPC over HTTP/2 protocol spec,
// "Requests"): content-type application/grpc, alone or with a +suffix
// (+proto, +json) or parameters. The test itself is shared with problem.ts
// (src/grpc-protocol.ts).
import type { IncomingMessage } from 'node:http';
import { isGrpcContentType } from '../grpc-protocol.ts';

export { isGrpcContentType };

export function isGrpc(req: IncomingMessage): boolean {
  return isGrpcContentType(req.headers['content-type']);
}
