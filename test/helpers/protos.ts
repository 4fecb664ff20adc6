// The protobuf fixture of the gRPC tests (test/fixtures/grpc): its types as
// the tests' peers see them, written as a descriptor set or read as the
// config loader reads them, and answers framed as a gRPC server sends them.
import { existsSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';
import descriptor from 'protobufjs/ext/descriptor.js';
import type { ResponseHeaders, ResponseSample } from '../../src/compare/index.ts';
import { ProtoSchema } from '../../src/compare/index.ts';
import type { ProtoDescriptors } from '../../src/config/index.ts';
import { loadProtoDescriptors } from '../../src/config/proto-files.ts';

/** The service: Get (unary), Watch (server streaming), Upload (client streaming), Chat (bidi). */
export const SHOP_PROTO = fileURLToPath(
  new URL('../fixtures/grpc/shop/v1/orders.proto', import.meta.url),
);
/** Where orders.proto's import `shop/v1/money.proto` lives (a protoPaths entry). */
export const PROTO_INCLUDE = fileURLToPath(new URL('../fixtures/grpc/common', import.meta.url));

export const GET_PATH = '/shop.v1.Orders/Get';

/** The fixture's types, imports found beside the file, then in PROTO_INCLUDE. */
export function ordersRoot(): protobuf.Root {
  const root = new protobuf.Root();
  root.resolvePath = (origin, target) => {
    if (origin === '') return target;
    const beside = resolve(origin, '..', target);
    return existsSync(beside) ? beside : resolve(PROTO_INCLUDE, target);
  };
  root.loadSync(SHOP_PROTO);
  root.resolveAll();
  return root;
}

/** Write `root` as a FileDescriptorSet with every file it needs (protoc --include_imports). */
export function writeProtoset(file: string, root: protobuf.Root = ordersRoot()): void {
  writeFileSync(file, descriptor.FileDescriptorSet.encode(root.toDescriptor('proto3')).finish());
}

/** The fixture's descriptors, as the config loader hands them over. */
export function ordersDescriptors(): ProtoDescriptors {
  const load = loadProtoDescriptors({ protos: [SHOP_PROTO], protoPaths: [PROTO_INCLUDE] }, '/');
  if (!('descriptors' in load) || load.descriptors === undefined) {
    throw new Error(`fixture does not load: ${JSON.stringify(load)}`);
  }
  return load.descriptors;
}

export function ordersSchema(): ProtoSchema {
  return new ProtoSchema(ordersDescriptors());
}

/** Each message encoded as `type` and framed (uncompressed 5-byte prefix), joined. */
export function grpcBody(type: protobuf.Type, ...messages: object[]): Buffer {
  return Buffer.concat(messages.map((m) => frame(type.encode(type.fromObject(m)).finish())));
}

/** A message's bytes with the 5-byte gRPC prefix. */
export function frame(message: Uint8Array, compressed = false): Buffer {
  const prefix = Buffer.alloc(5);
  prefix[0] = compressed ? 1 : 0;
  prefix.writeUInt32BE(message.byteLength, 1);
  return Buffer.concat([prefix, message]);
}

export interface GrpcAnswerOptions {
  /** grpc-status; default 0. */
  readonly status?: number;
  /** The status in the head, no trailers (a trailers-only answer, as for most errors). */
  readonly trailersOnly?: boolean;
  readonly headers?: ResponseHeaders;
  readonly trailers?: ResponseHeaders;
}

/** A gRPC answer as the gateway hands it over: HTTP 200, application/grpc, status in the trailers. */
export function grpcAnswer(body: Uint8Array, options: GrpcAnswerOptions = {}): ResponseSample {
  const status = String(options.status ?? 0);
  const head = { 'content-type': 'application/grpc', ...options.headers };
  if (options.trailersOnly) {
    return { status: 200, headers: { ...head, 'grpc-status': status }, body };
  }
  return {
    status: 200,
    headers: head,
    body,
    trailers: { 'grpc-status': status, ...options.trailers },
  };
}
