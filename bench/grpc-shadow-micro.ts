// What shadowing costs a unary gRPC call (issue 12): grpc-js client → Cutover
// (h2c) → grpc-js legacy, with the route's shadow off, on with the .proto
// (each answer decoded and diffed), and on without descriptors (bytes). All
// in one process (peers, gateway, client), so the figures are relative: the
// calls/s and CPU per call of the three, side by side. CALLS=3000
// CONCURRENCY=32 ROUNDS=3 node bench/grpc-shadow-micro.ts (modes interleaved, ROUNDS each)
import { startGateway } from '../test/helpers/gateway.ts';
import { getOrder, ORDERS_PROTO, ordersClient, startGrpcPeer } from '../test/helpers/grpc.ts';

const CALLS = Number(process.env.CALLS ?? 3000);
const CONCURRENCY = Number(process.env.CONCURRENCY ?? 32);
const ROUNDS = Number(process.env.ROUNDS ?? 3);

const legacy = await startGrpcPeer('legacy');
const rewrite = await startGrpcPeer('rewrite');

async function run(label: string, shadow: string): Promise<void> {
  const gw = await startGateway(
    `listen:
  - address: 127.0.0.1:0
    protocols: [h2]
admin: { listen: 127.0.0.1:0 }
state: memory
log: { level: warn, access: false }
backends:
  legacy: { url: ${legacy.url}, protocol: h2c }
  rewrite: { url: ${rewrite.url}, protocol: h2c }
routes:
  - name: orders
    match: { path: /shop.v1.Orders/* }
    legacy: legacy
    candidate: rewrite
    weight: 0
${shadow}`,
  );
  const client = ordersClient(new URL(gw.url).host);
  const one = async (n: number) => {
    for (let i = n; i < CALLS; i += CONCURRENCY) await getOrder(client, `o-${i}`);
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, (_, n) => one(n))); // warm-up
  const cpu = process.cpuUsage();
  const start = performance.now();
  await Promise.all(Array.from({ length: CONCURRENCY }, (_, n) => one(n)));
  const ms = performance.now() - start;
  const used = process.cpuUsage(cpu);
  const perCall = (used.user + used.system) / CALLS;
  console.log(
    `${label.padEnd(28)} ${((CALLS / ms) * 1000).toFixed(0).padStart(6)} calls/s  ${perCall.toFixed(0).padStart(5)} µs CPU/call (whole process)`,
  );
  client.close();
  await gw.close();
}

for (let round = 1; round <= ROUNDS; round++) {
  console.log(`round ${round}`);
  await run('shadow off', '');
  await run(
    'shadow, .proto',
    `    shadow: { writes: true, compare: { protos: [${JSON.stringify(ORDERS_PROTO)}] } }\n`,
  );
  await run('shadow, bytes', '    shadow: { writes: true }\n');
}
await legacy.close();
await rewrite.close();
