// What the request pipeline hands an exchange: one object built once per
// request, instead of a dozen constructor parameters. The exchange keeps it
// and reads through it, so its own shape stays small and fixed.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';
import type { GrpcCodeSets, ProxySpan } from '../telemetry/index.ts';
import type { StreamedBodyCopy } from './body-copy.ts';
import type { GrpcDeadline } from './grpc-timeout.ts';
import type { ShadowCopy } from './shadow.ts';
import type { Side } from './split.ts';
import type { CompiledRoute } from './table.ts';

export interface ForwardRequest {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly route: CompiledRoute;
  /** The side the split chose; the exchange may fall back from it. */
  readonly side: Side;
  readonly requestId: string;
  readonly span: ProxySpan | undefined;
  /** The normalised path and original query (request-target.ts): forwarded and logged. */
  readonly target: string;
  /** The head as forwarded, names and values flat; the Host value is rewritten per instance. */
  readonly headers: string[];
  /** Index in `headers` of the Host value; -1 with preserveHost. */
  readonly hostAt: number;
  /** A gRPC call (content-type application/grpc…): it needs HTTP/2 to its backend. */
  readonly grpcCall: boolean;
}

export interface ProxyRequest extends ForwardRequest {
  /** null (none), a Buffer (kept, can be resent) or a stream (sent once, unless `bodyCopy` ends whole). */
  readonly body: Buffer | Readable | null;
  /** The candidate copy of this request, fed with legacy's answer as it streams. */
  readonly shadow: ShadowCopy | undefined;
  /** A gRPC call: its route's failure and retry codes; undefined for any other request. */
  readonly grpc: GrpcCodeSets | undefined;
  /** What passed of a streamed body, kept for a resend (a gRPC call on a route that resends). */
  readonly bodyCopy: StreamedBodyCopy | undefined;
  /** A gRPC call's deadline (grpc-timeout): bounds each attempt and is passed on reduced. */
  readonly deadline: GrpcDeadline | undefined;
}

export interface UpgradeRequest extends ForwardRequest {
  /** The protocol asked for, lower-cased. */
  readonly protocol: string;
}
