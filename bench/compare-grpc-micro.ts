// gRPC answer comparison in isolation (issue 12): a unary pair of the test
// fixture's GetOrderResponse, small (~2 KiB) and large (~1 MiB of protobuf),
// decoded with the descriptors and diffed, against the same orders as JSON;
// plus what a compare worker pays once per descriptor set (building the
// types) and per job (cloning the descriptors' JSON text).
// ROUNDS=20 node bench/compare-grpc-micro.ts
import type protobuf from 'protobufjs';
import {
  compareResponses,
  compileCompareRules,
  decodeMessageJson,
  ProtoSchema,
  type ResponseSample,
} from '../src/compare/index.ts';
import { loadProtoDescriptors } from '../src/config/proto-files.ts';

const ROUNDS = Number(process.env.ROUNDS ?? 20);
const FIXTURE = new URL('../test/fixtures/grpc/', import.meta.url).pathname;
const PATH = '/shop.v1.Orders/Get';

const load = loadProtoDescriptors(
  { protos: ['shop/v1/orders.proto'], protoPaths: ['common'] },
  FIXTURE,
);
if (!('descriptors' in load) || load.descriptors === undefined) throw new Error('fixture');
const descriptors = load.descriptors;
const schema = new ProtoSchema(descriptors);
const Response = schema.method(PATH)?.responseType as protobuf.Type;

function order(lines: number, tweak: boolean): object {
  const list = [];
  for (let i = 0; i < lines; i++) {
    list.push({
      sku: `SKU-${String(i).padStart(6, '0')}-${'x'.repeat(20)}`,
      qty: tweak && i === lines >> 1 ? 99 : i % 7,
      price: { currency: 'EUR', units: 19 + (i % 100), nanos: 900_000_000 },
    });
  }
  return {
    order: {
      id: 'o-1',
      total: { currency: 'EUR', units: 12_345 },
      lines: list,
      status: 1,
      createdAt: { seconds: 1_700_000_000 },
      version: tweak ? '8' : '7',
      labels: { tier: 'gold' },
    },
  };
}

function grpc(value: object): ResponseSample {
  const message = Response.encode(Response.fromObject(value)).finish();
  const prefix = Buffer.alloc(5);
  prefix.writeUInt32BE(message.byteLength, 1);
  return {
    status: 200,
    headers: { 'content-type': 'application/grpc' },
    body: Buffer.concat([prefix, message]),
    trailers: { 'grpc-status': '0' },
  };
}

function json(value: object): ResponseSample {
  const doc = decodeMessageJson(Response, grpc(value).body.subarray(5));
  return {
    status: 200,
    headers: { 'content-type': 'application/json' },
    body: Buffer.from(JSON.stringify(doc)),
  };
}

function time(label: string, run: () => unknown): void {
  for (let i = 0; i < 5; i++) run();
  const ms: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const start = process.hrtime.bigint();
    run();
    ms.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  ms.sort((a, b) => a - b);
  const fmt = (v: number) => (v < 1 ? `${(v * 1000).toFixed(1)} µs` : `${v.toFixed(2)} ms`);
  console.log(
    `${label.padEnd(40)} best ${fmt(ms[0]).padStart(10)}  median ${fmt(ms[ms.length >> 1]).padStart(10)}`,
  );
}

const rules = compileCompareRules({ ignore: ['$.order.version'] });
const proto = { schema, path: PATH };
console.log(`descriptors: ${descriptors.json.length} bytes of JSON text`);
time('build the types (once per worker and key)', () => new ProtoSchema(descriptors));
time('clone the descriptors (every pool job)', () => structuredClone(descriptors));
for (const [name, lines] of [
  ['~2 KiB', 30],
  ['~1 MiB', 15_000],
] as const) {
  const a = grpc(order(lines, false));
  const b = grpc(order(lines, true));
  const ja = json(order(lines, false));
  const jb = json(order(lines, true));
  console.log(
    `${name}: protobuf ${a.body.byteLength} bytes, the same as JSON ${ja.body.byteLength} bytes`,
  );
  const r = compareResponses(a, b, rules, { proto });
  console.log(`  differences: ${r.differences.map((d) => d.path).join(', ')}`);
  time(`  ${name} gRPC decode+diff`, () => compareResponses(a, b, rules, { proto }));
  time(`  ${name} gRPC decode both`, () => [
    decodeMessageJson(Response, a.body.subarray(5)),
    decodeMessageJson(Response, b.body.subarray(5)),
  ]);
  time(`  ${name} JSON parse+diff`, () => compareResponses(ja, jb, rules));
  time(`  ${name} gRPC bytes (no descriptors)`, () => compareResponses(a, b, rules));
}
