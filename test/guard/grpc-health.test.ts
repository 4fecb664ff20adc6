// Active health checks of gRPC backends (`health.grpc`): the standard
// grpc.health.v1.Health/Check against real @grpc/grpc-js servers built from
// test/fixtures/health.proto, so the hand-framed request is read by a real
// protobuf decoder and the answer comes from a real encoder.
import assert from 'node:assert/strict';
import { after, before, describe, it, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import * as protoLoader from '@grpc/proto-loader';
import { healthCheckRequest, servingStatus } from '../../src/guard/grpc-health.ts';
import { startGateway, type TestGateway } from '../helpers/gateway.ts';
import { type GrpcPeer, grpc, startGrpcPeer } from '../helpers/grpc.ts';
import { metricOf } from '../helpers/metrics.ts';
import { eventually } from '../helpers/wait.ts';

const HEALTH_PROTO = fileURLToPath(new URL('../fixtures/health.proto', import.meta.url));
const loaded = grpc.loadPackageDefinition(
  protoLoader.loadSync(HEALTH_PROTO, { enums: String, defaults: true }),
) as unknown as { grpc: { health: { v1: { Health: grpc.ServiceClientConstructor } } } };
const Health = loaded.grpc.health.v1.Health;

type Serving = 'UNKNOWN' | 'SERVING' | 'NOT_SERVING' | 'SERVICE_UNKNOWN';

interface HealthPeer {
  readonly url: string;
  /** Serving status by service name ('' = the server); a name not here is SERVICE_UNKNOWN. */
  readonly status: Map<string, Serving>;
  /** The service names asked for, in order. */
  readonly asked: string[];
  close(): Promise<void>;
}

async function startHealthPeer(): Promise<HealthPeer> {
  const server = new grpc.Server();
  const status = new Map<string, Serving>();
  const asked: string[] = [];
  server.addService(Health.service, {
    Check(
      call: grpc.ServerUnaryCall<{ service: string }, { status: Serving }>,
      cb: grpc.sendUnaryData<{ status: Serving }>,
    ) {
      asked.push(call.request.service);
      cb(null, { status: status.get(call.request.service) ?? 'SERVICE_UNKNOWN' });
    },
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) =>
      e ? reject(e) : resolve(p),
    ),
  );
  return {
    url: `http://127.0.0.1:${port}`,
    status,
    asked,
    close: () =>
      new Promise<void>((resolve) => {
        server.tryShutdown(() => resolve());
        setTimeout(() => server.forceShutdown(), 500).unref();
      }),
  };
}

test('healthCheckRequest frames a HealthCheckRequest: empty for the server, field 1 for a service', () => {
  assert.deepEqual([...healthCheckRequest('')], [0, 0, 0, 0, 0]);
  assert.deepEqual([...healthCheckRequest('a.B')], [0, 0, 0, 0, 5, 0x0a, 3, ...Buffer.from('a.B')]);
  // A name of 200 bytes has a two-byte length varint.
  const long = healthCheckRequest('x'.repeat(200));
  assert.deepEqual([...long.subarray(0, 8)], [0, 0, 0, 0, 203, 0x0a, 0xc8, 0x01]);
});

test('servingStatus reads field 1 of a framed HealthCheckResponse, skipping fields it does not know', () => {
  const framed = (...message: number[]) => Buffer.from([0, 0, 0, 0, message.length, ...message]);
  assert.equal(servingStatus(framed(0x08, 1)), 1);
  assert.equal(servingStatus(framed(0x08, 2)), 2);
  // proto3 leaves a 0 (UNKNOWN) out.
  assert.equal(servingStatus(framed()), 0);
  // An unknown length-delimited field 2, a fixed32 field 3, then the status.
  assert.equal(servingStatus(framed(0x12, 2, 0x61, 0x62, 0x1d, 1, 2, 3, 4, 0x08, 1)), 1);
  // Compressed, cut short, or not a message at all.
  assert.equal(servingStatus(Buffer.from([1, 0, 0, 0, 2, 0x08, 1])), undefined);
  assert.equal(servingStatus(Buffer.from([0, 0, 0, 0, 9, 0x08, 1])), undefined);
  assert.equal(servingStatus(Buffer.from([0, 0, 0])), undefined);
  assert.equal(servingStatus(framed(0x08)), undefined);
});

describe('gRPC health checks through a running gateway', () => {
  let peer: HealthPeer;
  let noHealth: GrpcPeer;
  let gateway: TestGateway;

  const up = (backend: string) => metricOf(gateway, 'cutover_backend_up', { backend });

  before(async () => {
    peer = await startHealthPeer();
    peer.status.set('', 'SERVING');
    peer.status.set('shop.v1.Orders', 'SERVING');
    // A gRPC server without the health service answers UNIMPLEMENTED.
    noHealth = await startGrpcPeer('no-health');
    gateway = await startGateway(`listen:
  - address: 127.0.0.1:0
admin: { listen: 127.0.0.1:0 }
state: memory
backends:
  orders:
    url: ${peer.url}
    protocol: h2c
    health: { grpc: { service: shop.v1.Orders }, interval: 50ms, healthy: 1, unhealthy: 1 }
  whole:
    url: ${peer.url}
    protocol: h2c
    health: { grpc: true, interval: 50ms, healthy: 1, unhealthy: 1 }
  bare:
    url: ${noHealth.url}
    protocol: h2c
    health: { grpc: true, interval: 50ms, healthy: 1, unhealthy: 1 }
routes:
  - { name: r, match: { grpc: { service: shop.v1.Orders } }, legacy: orders }
`);
  });

  after(async () => {
    await gateway.close();
    await peer.close();
    await noHealth.close();
  });

  it('asks for the configured service, and the whole server with grpc: true', async () => {
    await eventually('both checks to reach the peer', () => new Set(peer.asked).size === 2);
    assert.deepEqual([...new Set(peer.asked)].sort(), ['', 'shop.v1.Orders']);
    assert.equal(await up('orders'), 1);
    assert.equal(await up('whole'), 1);
  });

  it('NOT_SERVING takes the instance out; SERVING puts it back; the log says why', async () => {
    peer.status.set('shop.v1.Orders', 'NOT_SERVING');
    await eventually('orders to be down', async () => (await up('orders')) === 0);
    assert.equal(await up('whole'), 1, 'the whole server still serves');
    const line = gateway
      .logs()
      .find((l) => l.msg === 'backend instance unhealthy' && l.backend === 'orders');
    assert.equal(line?.reason, 'NOT_SERVING');
    peer.status.set('shop.v1.Orders', 'SERVING');
    await eventually('orders to be up again', async () => (await up('orders')) === 1);
  });

  it('a server without the health service is down, with its UNIMPLEMENTED status as the reason', async () => {
    await eventually('bare to be down', async () => (await up('bare')) === 0);
    const line = gateway
      .logs()
      .find((l) => l.msg === 'backend instance unhealthy' && l.backend === 'bare');
    assert.match(String(line?.reason), /^grpc-status 12 /);
  });
});
