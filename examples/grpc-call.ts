// One unary gRPC call to demo.v1.Stock/Check (examples/proto/stock.proto),
// through `cutover demo`'s gateway or straight to a demo service, printing
// the answer and which side served it. No grpcurl needed:
//
//   node examples/grpc-call.ts 127.0.0.1:8080 SKU-1042 [user-id] [canary|stable]
//
// The user id goes in `x-user-id` metadata (the route's sticky key), the last
// argument in `x-release-stage` (the override: canary → rewrite, stable → legacy).
import { checkStock, stockClient } from '../src/cli/demo-grpc.ts';

const [address = '127.0.0.1:8080', sku = 'SKU-1042', user, stage] = process.argv.slice(2);
const metadata: Record<string, string> = {};
if (user !== undefined) metadata['x-user-id'] = user;
if (stage !== undefined) metadata['x-release-stage'] = stage;

const client = stockClient(address);
try {
  const reply = await checkStock(client, sku, metadata);
  console.log(JSON.stringify(reply));
} catch (error) {
  const e = error as { code?: number; details?: string };
  console.error(`gRPC status ${e.code}: ${e.details}`);
  process.exitCode = 1;
} finally {
  client.close();
}
