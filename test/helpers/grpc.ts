// Real gRPC peers for tests: @grpc/grpc-js servers of test/fixtures/orders.proto
// (shop.v1.Orders: unary Get, server-streaming List, client-streaming Collect,
// bidi Chat) that say which of them answered, and clients for them. A call's
// metadata tells a server to misbehave:
// - `x-test-status: N`: end the call with gRPC status N (Get/List after
//   `x-test-messages` messages, default 0: trailers-only);
// - `x-test-delay: MS`: answer after MS ms;
// - `x-test-total: N`: Get answers total.units = N (a field a shadow diff names);
// - `x-test-head-first: 1`: Get sends its head (metadata) before failing, so
//   the status comes in real trailers after a 200 head, not trailers-only;
// - `x-test-fail-first: N`: Get fails (with x-test-status) only while this
//   peer has had at most N Get calls, then answers.
// `failGets(code)` makes every Get of a peer fail, head first, until undone.
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { type StartOptions, startGateway, type TestGateway } from './gateway.ts';

export const ORDERS_PROTO = fileURLToPath(new URL('../fixtures/orders.proto', import.meta.url));
export const ORDERS_SERVICE = 'shop.v1.Orders';

const definition = protoLoader.loadSync(ORDERS_PROTO, {
  keepCase: false,
  longs: String,
  enums: String,
  defaults: true,
});
const loaded = grpc.loadPackageDefinition(definition) as unknown as {
  shop: { v1: { Orders: grpc.ServiceClientConstructor } };
};
export const OrdersClient = loaded.shop.v1.Orders;

export interface Order {
  id: string;
  servedBy: string;
  total: { currency: string; units: string } | null;
  items: string[];
  metadata: Record<string, string>;
}

export interface GrpcPeer {
  readonly name: string;
  readonly port: number;
  readonly url: string;
  /** Calls received, by method name (Get, List, Collect, Chat). */
  readonly calls: Map<string, number>;
  /** Calls cancelled by their client (a reset stream reached the server). */
  readonly cancelled: string[];
  /** Every Get from now on fails with `code` after sending its head; undefined: back to normal. */
  failGets(code: number | undefined): void;
  close(): Promise<void>;
}

function meta(call: { metadata: grpc.Metadata }, name: string): string | undefined {
  const v = call.metadata.get(name)[0];
  return v === undefined ? undefined : String(v);
}

function fail(code: number, name: string): grpc.ServiceError {
  return Object.assign(new Error(`${name} says ${code}`), {
    code,
    details: `${name} says ${code}`,
    metadata: new grpc.Metadata(),
  });
}

export async function startGrpcPeer(name: string): Promise<GrpcPeer> {
  const server = new grpc.Server();
  const calls = new Map<string, number>();
  const cancelled: string[] = [];
  let failGetsWith: number | undefined;
  const count = (m: string) => calls.set(m, (calls.get(m) ?? 0) + 1);
  const order = (id: string, units: string): Order => ({
    id,
    servedBy: name,
    total: { currency: 'EUR', units },
    items: ['a', 'b'],
    metadata: {},
  });
  server.addService(OrdersClient.service, {
    Get(call: grpc.ServerUnaryCall<{ id: string }, Order>, callback: grpc.sendUnaryData<Order>) {
      count('Get');
      call.on('cancelled', () => cancelled.push('Get'));
      const asked = meta(call, 'x-test-status');
      const failFirst = meta(call, 'x-test-fail-first');
      const status =
        failGetsWith !== undefined
          ? String(failGetsWith)
          : failFirst === undefined || (calls.get('Get') ?? 0) <= Number(failFirst)
            ? asked
            : undefined;
      const headFirst = failGetsWith !== undefined || meta(call, 'x-test-head-first') === '1';
      const delay = Number(meta(call, 'x-test-delay') ?? 0);
      const answer = () => {
        if (status !== undefined && status !== '0') {
          if (headFirst) call.sendMetadata(new grpc.Metadata());
          callback(fail(Number(status), name));
        } else callback(null, order(call.request.id, meta(call, 'x-test-total') ?? '42'));
      };
      if (delay > 0) setTimeout(answer, delay);
      else answer();
    },
    List(call: grpc.ServerWritableStream<{ id: string }, Order>) {
      count('List');
      call.on('cancelled', () => cancelled.push('List'));
      const status = meta(call, 'x-test-status');
      const n = Number(meta(call, 'x-test-messages') ?? 3);
      for (let i = 0; i < n; i++) call.write(order(`${call.request.id}-${i}`, String(i)));
      // grpc-js sends a server stream's status on 'error' (destroy() would send none).
      if (status !== undefined && status !== '0') call.emit('error', fail(Number(status), name));
      else call.end();
    },
    Collect(
      call: grpc.ServerReadableStream<{ text: string }, unknown>,
      callback: grpc.sendUnaryData<unknown>,
    ) {
      count('Collect');
      const texts: string[] = [];
      call.on('data', (c: { text: string }) => texts.push(c.text));
      call.on('end', () =>
        callback(null, { count: texts.length, joined: texts.join(','), servedBy: name }),
      );
    },
    Chat(call: grpc.ServerDuplexStream<{ text: string }, { text: string }>) {
      count('Chat');
      call.on('cancelled', () => cancelled.push('Chat'));
      call.on('data', (c: { text: string }) => call.write({ text: `${name}:${c.text}` }));
      call.on('end', () => call.end());
    },
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) =>
      e ? reject(e) : resolve(p),
    ),
  );
  return {
    name,
    port,
    url: `http://127.0.0.1:${port}`,
    calls,
    cancelled,
    failGets: (code) => {
      failGetsWith = code;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.tryShutdown(() => resolve());
        // Calls left open by a test must not hold the shutdown.
        setTimeout(() => server.forceShutdown(), 500).unref();
      }),
  };
}

/** A plaintext (h2c) client of the Orders service at `address` (`host:port`). */
export function ordersClient(address: string): grpc.Client {
  return new OrdersClient(address, grpc.credentials.createInsecure());
}

/** A unary Get through `client`, as a promise of the order or the ServiceError. */
export function getOrder(
  client: grpc.Client,
  id: string,
  metadata: Record<string, string> = {},
  deadlineMs = 5_000,
): Promise<Order> {
  const md = new grpc.Metadata();
  for (const [k, v] of Object.entries(metadata)) md.set(k, v);
  return new Promise((resolve, reject) => {
    (
      client as unknown as {
        Get(
          req: { id: string },
          md: grpc.Metadata,
          opts: grpc.CallOptions,
          cb: (e: grpc.ServiceError | null, r: Order) => void,
        ): void;
      }
    ).Get({ id }, md, { deadline: Date.now() + deadlineMs }, (e, r) =>
      e ? reject(e) : resolve(r),
    );
  });
}

export { grpc };

/** Legacy and rewrite peers, a gateway in front of them, and a client of the gateway. */
export interface GrpcSetup {
  readonly legacy: GrpcPeer;
  readonly rewrite: GrpcPeer;
  readonly gateway: TestGateway;
  readonly client: grpc.Client;
  close(): Promise<void>;
}

/** Starts both peers, then a gateway from `yaml(legacy, rewrite)`, then a client of its first listener. */
export async function startGrpcSetup(
  yaml: (legacy: GrpcPeer, rewrite: GrpcPeer) => string,
  options: StartOptions = {},
): Promise<GrpcSetup> {
  const legacy = await startGrpcPeer('legacy');
  const rewrite = await startGrpcPeer('rewrite');
  const gateway = await startGateway(yaml(legacy, rewrite), options);
  const client = ordersClient(new URL(gateway.url).host);
  return {
    legacy,
    rewrite,
    gateway,
    client,
    async close() {
      client.close();
      await gateway.close();
      await legacy.close();
      await rewrite.close();
    },
  };
}
