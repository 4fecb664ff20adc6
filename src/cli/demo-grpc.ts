// The gRPC side of `cutover demo`: demo.v1.Stock (examples/proto/stock.proto)
// answered by a "legacy" and a "rewrite" @grpc/grpc-js server in the demo's
// process, and the client the demo's traffic and examples/grpc-call.ts use.
// Both sides answer the same stock from the same deterministic data (only
// `served_by` differs); the rewrite answers UNAVAILABLE while the demo's
// rewrite is broken (POST /__demo/break), like its HTTP API answers 500.
import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import type { DemoBackend } from './demo-backends.ts';

export const STOCK_PROTO = fileURLToPath(
  new URL('../../examples/proto/stock.proto', import.meta.url),
);
/** The gRPC path prefix of the service: what the demo's `stock` route matches. */
export const STOCK_SERVICE = 'demo.v1.Stock';

export interface StockReply {
  sku: string;
  available: number;
  warehouse: string;
  servedBy: string;
}

interface StockClient extends grpc.Client {
  Check(
    request: { sku: string },
    metadata: grpc.Metadata,
    options: grpc.CallOptions,
    callback: (error: grpc.ServiceError | null, reply: StockReply) => void,
  ): grpc.ClientUnaryCall;
}

let loaded: grpc.ServiceClientConstructor | undefined;

/** The Stock service definition, loaded once (keepCase off: `served_by` reads as `servedBy`). */
function stockService(): grpc.ServiceClientConstructor {
  loaded ??= (
    grpc.loadPackageDefinition(
      protoLoader.loadSync(STOCK_PROTO, { keepCase: false, defaults: true }),
    ) as unknown as { demo: { v1: { Stock: grpc.ServiceClientConstructor } } }
  ).demo.v1.Stock;
  return loaded;
}

const WAREHOUSES = ['Rotterdam', 'Leipzig', 'Lyon', 'Gdańsk'];

/** Stock of `sku`, the same on both sides. */
function stockOf(sku: string, servedBy: string): StockReply {
  const n = createHash('sha256').update(sku).digest().readUInt32BE(0);
  return { sku, available: n % 500, warehouse: WAREHOUSES[n % WAREHOUSES.length], servedBy };
}

interface GrpcProfile {
  readonly servedBy: string;
  /** Simulated processing time, in ms: [min, max). */
  readonly latency: readonly [number, number];
}

const LEGACY: GrpcProfile = { servedBy: 'legacy-java', latency: [20, 40] };
const REWRITE: GrpcProfile = { servedBy: 'rewrite-go', latency: [3, 8] };

async function startOne(
  profile: GrpcProfile,
  port: number,
  host: string,
  broken: () => boolean,
): Promise<DemoBackend> {
  const server = new grpc.Server();
  server.addService(stockService().service, {
    Check(
      call: grpc.ServerUnaryCall<{ sku: string }, StockReply>,
      callback: grpc.sendUnaryData<StockReply>,
    ) {
      const [min, max] = profile.latency;
      const timer = setTimeout(
        () => {
          if (broken()) {
            callback({
              code: grpc.status.UNAVAILABLE,
              details: 'simulated failure (POST /__demo/heal to recover)',
            });
          } else callback(null, stockOf(call.request.sku, profile.servedBy));
        },
        min + Math.random() * (max - min),
      );
      call.on('cancelled', () => clearTimeout(timer));
    },
  });
  const bound = await new Promise<number>((resolve, reject) =>
    server.bindAsync(`${host}:${port}`, grpc.ServerCredentials.createInsecure(), (e, p) =>
      e ? reject(e) : resolve(p),
    ),
  );
  let closed: Promise<void> | undefined;
  return {
    url: `http://${host}:${bound}`,
    close(): Promise<void> {
      closed ??= new Promise<void>((resolve) => {
        // Calls in flight end with the demo; nothing waits for them.
        server.forceShutdown();
        resolve();
      });
      return closed;
    },
  };
}

export interface DemoGrpcOptions {
  /** 9003 by default (examples/demo.yaml); 0 picks a free port. */
  legacyPort?: number;
  /** 9004 by default (examples/demo.yaml); 0 picks a free port. */
  rewritePort?: number;
  host?: '127.0.0.1';
  /** Whether the demo's rewrite is broken right now. */
  rewriteBroken: () => boolean;
}

export interface DemoGrpc {
  readonly legacy: DemoBackend;
  readonly rewrite: DemoBackend;
  close(): Promise<void>;
}

/** Starts the legacy and rewrite Stock services; resolves once both listen. */
export async function startDemoGrpc(options: DemoGrpcOptions): Promise<DemoGrpc> {
  const host = options.host ?? '127.0.0.1';
  const legacy = await startOne(LEGACY, options.legacyPort ?? 9003, host, () => false);
  let rewrite: DemoBackend;
  try {
    rewrite = await startOne(REWRITE, options.rewritePort ?? 9004, host, options.rewriteBroken);
  } catch (err) {
    await legacy.close();
    throw err;
  }
  return {
    legacy,
    rewrite,
    async close(): Promise<void> {
      await Promise.all([legacy.close(), rewrite.close()]);
    },
  };
}

/** A plaintext (h2c) Stock client of `address` (`host:port`, e.g. the gateway's). */
export function stockClient(address: string): grpc.Client {
  return new (stockService())(address, grpc.credentials.createInsecure());
}

/** One unary Check call; `metadata` as request headers (`x-user-id`, `x-release-stage`). */
export function checkStock(
  client: grpc.Client,
  sku: string,
  metadata: Readonly<Record<string, string>> = {},
  deadlineMs = 5_000,
): Promise<StockReply> {
  const md = new grpc.Metadata();
  for (const [k, v] of Object.entries(metadata)) md.set(k, v);
  return new Promise((resolve, reject) => {
    (client as StockClient).Check({ sku }, md, { deadline: Date.now() + deadlineMs }, (e, r) =>
      e ? reject(e) : resolve(r),
    );
  });
}
