// gRPC answers in shadow comparisons (issue 12): grpc-status like an HTTP
// status, messages decoded with the route's descriptors and diffed as JSON
// under the same rules, bytes when they cannot be decoded — in process and
// through the compare pool's workers.
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import {
  type CompareOptions,
  type CompareResult,
  type CompareRules,
  compareResponses,
  compileCompareRules,
  NoiseTracker,
  type ProtoContext,
  type ResponseSample,
  ShadowView,
} from '../../src/compare/index.ts';
import { ComparePool } from '../../src/compare/pool.ts';
import {
  frame,
  GET_PATH,
  grpcAnswer,
  grpcBody,
  ordersRoot,
  ordersSchema,
} from '../helpers/protos.ts';
import { jsonSample } from '../helpers/samples.ts';

const root = ordersRoot();
const Response = root.lookupType('shop.v1.GetOrderResponse');
const schema = ordersSchema();
const PROTO: ProtoContext = { schema, path: GET_PATH };

interface OrderFields {
  id?: string;
  total?: { currency?: string; units?: number; nanos?: number };
  lines?: { sku: string; qty: number }[];
  status?: number;
  createdAt?: { seconds: number; nanos?: number };
  version?: string;
  weight?: number;
}

function order(change: OrderFields = {}): object {
  return {
    order: {
      id: 'o-1',
      total: { currency: 'EUR', units: 12 },
      lines: [
        { sku: 'book', qty: 2 },
        { sku: 'pen', qty: 1 },
      ],
      status: 1,
      createdAt: { seconds: 1_700_000_000 },
      version: '7',
      weight: 1.25,
      ...change,
    },
  };
}

function unary(change?: OrderFields, options?: Parameters<typeof grpcAnswer>[1]): ResponseSample {
  return grpcAnswer(grpcBody(Response, order(change)), options);
}

function cmp(
  legacy: ResponseSample,
  candidate: ResponseSample,
  rules: CompareRules = {},
  options: CompareOptions = { proto: PROTO },
): CompareResult {
  return compareResponses(legacy, candidate, compileCompareRules(rules), options);
}

function listed(r: CompareResult): string[] {
  return r.differences.map(
    (d) => `${d.kind} ${d.path} ${JSON.stringify(d.legacy)} ${JSON.stringify(d.candidate)}`,
  );
}

describe('gRPC messages decoded with the descriptors', () => {
  test('equal answers match, and the result says they were compared as protobuf', () => {
    const r = cmp(unary(), unary());
    assert.deepEqual(r, {
      match: true,
      differences: [],
      truncated: false,
      grpcBody: { as: 'protobuf' },
    });
  });

  test('a differing field is named by its protobuf field path', () => {
    const r = cmp(unary(), unary({ total: { currency: 'EUR', units: 13 } }));
    assert.equal(r.match, false);
    assert.deepEqual(listed(r), ['changed $.order.total.units "12" "13"']);
  });

  test('enum, timestamp and missing fields read as the JSON a client of the service sees', () => {
    const r = cmp(
      unary(),
      unary({ status: 2, createdAt: { seconds: 1_700_000_001 }, version: '0' }),
    );
    assert.deepEqual(listed(r), [
      'changed $.order.status "OPEN" "SHIPPED"',
      'changed $.order.createdAt "2023-11-14T22:13:20Z" "2023-11-14T22:13:21Z"',
      'missing-in-candidate $.order.version "7" undefined',
    ]);
  });

  test('the JSON rules apply unchanged: ignore, unordered, floatPlaces', () => {
    const candidate = unary({
      id: 'o-1-new',
      lines: [
        { sku: 'pen', qty: 1 },
        { sku: 'book', qty: 2 },
      ],
      weight: 1.2500001,
    });
    assert.equal(cmp(unary(), candidate).match, false);
    const rules: CompareRules = {
      ignore: ['$.order.id'],
      unordered: { '$.order.lines': 'sku' },
      floatPlaces: 4,
    };
    assert.deepEqual(listed(cmp(unary(), candidate, rules)), []);
  });

  test('application/grpc+proto is gRPC too', () => {
    const proto = { headers: { 'content-type': 'application/grpc+proto' } };
    const r = cmp(unary({}, proto), unary({ id: 'x' }, proto));
    assert.deepEqual(listed(r), ['changed $.order.id "o-1" "x"']);
  });
});

describe('grpc-status and trailers', () => {
  test('grpc-status is compared like the HTTP status, by name, from trailers or a trailers-only head', () => {
    const notFound = grpcAnswer(new Uint8Array(0), { status: 5, trailersOnly: true });
    const r = cmp(unary(), notFound);
    assert.deepEqual(listed(r).slice(0, 1), ['changed grpc-status "OK" "NOT_FOUND"']);
    // Legacy sent a message, the candidate none: both are lists, the message is missing.
    assert.deepEqual(
      r.differences.slice(1).map((d) => `${d.kind} ${d.path}`),
      ['missing-in-candidate $[0]'],
    );
  });

  test('the same status in the trailers and in a trailers-only head is no difference', () => {
    const empty = new Uint8Array(0);
    const r = cmp(
      grpcAnswer(empty, { status: 14 }),
      grpcAnswer(empty, { status: 14, trailersOnly: true }),
    );
    assert.deepEqual(r.differences, []);
  });

  test('a missing grpc-status (a cut answer) is a difference; a code without a name stays a number', () => {
    const cut: ResponseSample = { ...unary(), trailers: undefined };
    assert.deepEqual(listed(cmp(unary(), cut)), [
      'missing-in-candidate grpc-status "OK" undefined',
    ]);
    const odd = unary({}, { status: 42 });
    assert.deepEqual(listed(cmp(unary(), odd)), ['changed grpc-status "OK" "42"']);
  });

  test('grpc-message is compared only when listed, and is read from the trailers', () => {
    const a = unary({}, { status: 0, trailers: { 'grpc-message': 'fine' } });
    const b = unary({}, { status: 0, trailers: { 'grpc-message': 'all good' } });
    assert.equal(cmp(a, b).match, true);
    assert.deepEqual(listed(cmp(a, b, { headers: ['grpc-message'] })), [
      'changed header:grpc-message "fine" "all good"',
    ]);
  });

  test('the HTTP status is still compared', () => {
    const r = cmp(unary(), { ...unary(), status: 503 });
    assert.deepEqual(listed(r), ['changed status 200 503']);
  });
});

describe('gRPC messages compared byte for byte, saying why', () => {
  test('without descriptors', () => {
    const r = cmp(unary(), unary({ id: 'x' }), {}, {});
    assert.deepEqual(r.grpcBody, {
      as: 'bytes',
      why: 'no descriptors for the route (shadow.compare.protoset or protos)',
    });
    assert.deepEqual(
      r.differences.map((d) => `${d.kind} ${d.path}`),
      ['changed body'],
    );
    assert.equal(cmp(unary(), unary(), {}, {}).match, true);
  });

  test('for a method the descriptors do not describe', () => {
    const r = cmp(unary(), unary(), {}, { proto: { schema, path: '/shop.v1.Orders/Delete' } });
    assert.deepEqual(r.grpcBody, {
      as: 'bytes',
      why: '/shop.v1.Orders/Delete is not a method of the descriptors',
    });
    assert.equal(r.match, true);
  });

  test('when a message does not decode', () => {
    const broken = grpcAnswer(frame(Buffer.from([0x0a, 0x50, 0x01])));
    const r = cmp(unary(), broken);
    assert.equal(r.grpcBody?.as, 'bytes');
    assert.match(
      r.grpcBody?.why ?? '',
      /^candidate message 0 does not decode as shop\.v1\.GetOrderResponse: index out of range/,
    );
    assert.deepEqual(
      r.differences.map((d) => `${d.kind} ${d.path}`),
      ['changed body'],
    );
  });

  test('when a message is compressed or cut', () => {
    const body = grpcBody(Response, order());
    const gzip = grpcAnswer(frame(body.subarray(5), true), {
      headers: { 'grpc-encoding': 'gzip' },
    });
    assert.deepEqual(cmp(gzip, unary()).grpcBody, {
      as: 'bytes',
      why: 'legacy answer: compressed message (grpc-encoding gzip) at offset 0',
    });
    const cut = grpcAnswer(body.subarray(0, body.byteLength - 1));
    assert.match(cmp(unary(), cut).grpcBody?.why ?? '', /^candidate answer: truncated message:/);
  });

  test('HTTP answers are compared as before, with no gRPC note', () => {
    const r = compareResponses(jsonSample({ a: 1 }), jsonSample({ a: 2 }), compileCompareRules(), {
      proto: PROTO,
    });
    assert.deepEqual(listed(r), ['changed $.a 1 2']);
    assert.equal('grpcBody' in r, false);
  });

  test('application/grpc+json: status compared, messages byte for byte (they are not protobuf)', () => {
    const jsonGrpc = { headers: { 'content-type': 'application/grpc+json' } };
    const r = compareResponses(
      grpcAnswer(frame(Buffer.from('{"id":1}')), jsonGrpc),
      grpcAnswer(frame(Buffer.from('{"id":1}')), { ...jsonGrpc, status: 14 }),
      compileCompareRules(),
      { proto: PROTO },
    );
    assert.deepEqual(listed(r), ['changed grpc-status "OK" "UNAVAILABLE"']);
    assert.deepEqual(r.grpcBody, {
      as: 'bytes',
      why: 'application/grpc+json messages are not protobuf',
    });
  });
});

describe('noise learning and samples of gRPC answers', () => {
  test('a field that differs between two legacy answers becomes noise by its protobuf path', () => {
    const noise = new NoiseTracker(compileCompareRules());
    noise.observe(unary({ version: '1' }), unary({ version: '2' }), PROTO);
    noise.observe(unary({ version: '3' }), unary({ version: '4' }), PROTO);
    assert.deepEqual([...noise.noisyPatterns()], ['$.order.version']);
    const r = cmp(
      unary({ version: '5' }),
      unary({ version: '6' }),
      {},
      {
        proto: PROTO,
        noisy: noise.noisyPatterns(),
      },
    );
    assert.equal(r.match, true);
    assert.deepEqual(
      r.differences.map((d) => `${d.path} ${d.noise}`),
      ['$.order.version true'],
    );
  });

  test('a kept sample shows the decoded messages diff, or why bytes were compared', () => {
    const rules = compileCompareRules();
    const pair = {
      method: 'POST',
      url: GET_PATH,
      requestHeaders: {},
      legacy: unary(),
      candidate: unary({ total: { currency: 'EUR', units: 13 } }),
      legacyMs: 1,
      candidateMs: 1,
    };
    const result = cmp(pair.legacy, pair.candidate);
    const withTypes = new ShadowView(rules, undefined, schema).sample(0, pair, result.differences);
    assert.match(withTypes.diff, /-\s+"units": "12"/);
    assert.match(withTypes.diff, /\+\s+"units": "13"/);
    const withoutTypes = new ShadowView(rules).sample(0, pair, result.differences);
    assert.match(
      withoutTypes.diff,
      /^gRPC messages compared byte for byte \(no descriptors for the route/,
    );
  });
});

describe('gRPC pairs through the compare pool', () => {
  // As the gateway makes it: bodies are copied, they are read again afterwards.
  const pool = new ComparePool({ size: 1, transfer: false });
  after(() => pool.close());

  async function inWorker(
    legacy: ResponseSample,
    candidate: ResponseSample,
    proto: ProtoContext | undefined,
  ): Promise<CompareResult> {
    const job = pool.compare(legacy, candidate, {}, undefined, proto);
    assert.ok(job !== undefined, 'the pool refused the job');
    return job;
  }

  test('a worker decodes with the descriptors it is handed and names the field', async () => {
    const legacy = unary();
    const candidate = unary({ total: { currency: 'EUR', units: 13 } });
    const r = await inWorker(legacy, candidate, PROTO);
    assert.deepEqual(r, cmp(legacy, candidate));
    assert.deepEqual(listed(r), ['changed $.order.total.units "12" "13"']);
  });

  test('trailers cross to the worker: grpc-status from them is compared', async () => {
    const r = await inWorker(unary(), unary({}, { status: 14 }), PROTO);
    assert.deepEqual(listed(r), ['changed grpc-status "OK" "UNAVAILABLE"']);
  });

  test('without descriptors the worker compares bytes and says why', async () => {
    const r = await inWorker(unary(), unary({ id: 'x' }), { schema: undefined, path: GET_PATH });
    assert.deepEqual(r.grpcBody?.as, 'bytes');
    assert.deepEqual(
      r.differences.map((d) => d.path),
      ['body'],
    );
  });

  test('a large pair (as the gateway sends to the pool) gives the same result as in process', async () => {
    const lines = Array.from({ length: 5000 }, (_, i) => ({
      sku: `sku-${i}-${'x'.repeat(10)}`,
      qty: i,
    }));
    const legacy = unary({ lines });
    const changed = lines.map((l, i) => (i === 2500 ? { ...l, qty: 1 } : l));
    const candidate = unary({ lines: changed });
    assert.ok(legacy.body.byteLength > 64 * 1024);
    const r = await inWorker(legacy, candidate, PROTO);
    assert.deepEqual(listed(r), ['changed $.order.lines[2500].qty 2500 1']);
    assert.deepEqual(r, cmp(legacy, candidate));
  });
});
