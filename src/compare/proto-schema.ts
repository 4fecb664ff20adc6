// The protobuf types of a route's gRPC service, looked up by the call's path.
// The config loader reads the files (config/proto-files.ts: a missing or
// broken one is a config error naming its line) and hands over plain data,
// protobufjs' JSON form of the types; this builds the reflected types from
// it, once per route on the gateway's thread and once per worker thread of
// the compare pool (cached there by the descriptors' key).
import protobuf from 'protobufjs';
import type { ProtoDescriptors } from '../config/index.ts';

/** One RPC of the descriptors: `/pkg.Service/Method` and what it carries. */
export interface ProtoMethod {
  /** As it appears in the request's `:path`: `/shop.v1.Orders/Get`. */
  readonly path: string;
  readonly requestType: protobuf.Type;
  readonly responseType: protobuf.Type;
  /** The client sends a stream of messages (client streaming or bidi). */
  readonly clientStreaming: boolean;
  /** The server answers with a stream of messages (server streaming or bidi). */
  readonly serverStreaming: boolean;
  /**
   * `option idempotency_level = NO_SIDE_EFFECTS`: a read, safe to send twice
   * (descriptor.proto's MethodOptions), as GET is in HTTP.
   */
  readonly sideEffectFree: boolean;
}

export class ProtoSchema {
  readonly descriptors: ProtoDescriptors;
  readonly #methods: ReadonlyMap<string, ProtoMethod>;

  /** Throws when the JSON is not protobufjs' form of resolvable types (the loader made sure it is). */
  constructor(descriptors: ProtoDescriptors) {
    this.descriptors = descriptors;
    const root = protobuf.Root.fromJSON(JSON.parse(descriptors.json) as protobuf.INamespace);
    const methods = new Map<string, ProtoMethod>();
    collectMethods(root, methods);
    this.#methods = methods;
  }

  /** The method of a gRPC request path (`/pkg.Service/Method`), or undefined when not described. */
  method(path: string): ProtoMethod | undefined {
    return this.#methods.get(path);
  }

  /** Every described method's path, sorted. */
  methodPaths(): string[] {
    return [...this.#methods.keys()].sort();
  }
}

function collectMethods(ns: protobuf.NamespaceBase, into: Map<string, ProtoMethod>): void {
  for (const child of ns.nestedArray) {
    if (child instanceof protobuf.Service) {
      // fullName is `.pkg.Service`; the gRPC path drops the leading dot.
      const service = child.fullName.slice(1);
      for (const m of child.methodsArray) {
        m.resolve();
        const path = `/${service}/${m.name}`;
        into.set(path, {
          path,
          requestType: m.resolvedRequestType as protobuf.Type,
          responseType: m.resolvedResponseType as protobuf.Type,
          clientStreaming: m.requestStream === true,
          serverStreaming: m.responseStream === true,
          sideEffectFree: m.options?.idempotency_level === 'NO_SIDE_EFFECTS',
        });
      }
    }
    if (child instanceof protobuf.Namespace) collectMethods(child, into);
  }
}
