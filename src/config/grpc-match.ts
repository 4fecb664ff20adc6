// `match.grpc`: what a gRPC service or method name may be, and the request
// path a gRPC match stands for (gRPC over HTTP/2, PROTOCOL-HTTP2.md:
// ":path → / Service-Name / {method name}").

/** A service's full name: its package and name, dot-separated identifiers (protobuf language spec). */
export const GRPC_SERVICE = /^[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*$/;
/** A method's name: one identifier. */
export const GRPC_METHOD = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** `/shop.v1.Orders/Get` for one method; `/shop.v1.Orders/:method` (exactly one segment) for the service. */
export function grpcPath(grpc: { readonly service: string; readonly method?: string }): string {
  return `/${grpc.service}/${grpc.method ?? ':method'}`;
}
