import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type protobuf from 'protobufjs';
import protojson from 'protobufjs/ext/protojson.js';
import { decodeMessageJson } from '../../src/compare/index.ts';
import { GET_PATH, ordersRoot, ordersSchema } from '../helpers/protos.ts';

const root = ordersRoot();
const Response = root.lookupType('shop.v1.GetOrderResponse');

function encode(type: protobuf.Type, value: object): Uint8Array {
  return type.encode(type.fromObject(value)).finish();
}

const ORDER = {
  order: {
    id: 'o-1',
    total: { currency: 'EUR', units: 12, nanos: 500_000_000 },
    lines: [{ sku: 'book', qty: 2 }],
    status: 2,
    createdAt: { seconds: 1_700_000_000, nanos: 5_000_000 },
    version: '9007199254740993',
    token: Buffer.from('secret'),
    labels: { tier: 'gold' },
    weight: 0.5,
  },
};

describe('decodeMessageJson: protobuf canonical JSON', () => {
  test('names in lowerCamelCase, enums by name, int64 as strings, bytes base64, Timestamp as RFC 3339', () => {
    const json = decodeMessageJson(Response, encode(Response, ORDER));
    assert.deepEqual(json, {
      order: {
        id: 'o-1',
        total: { currency: 'EUR', units: '12', nanos: 500_000_000 },
        lines: [{ sku: 'book', qty: 2 }],
        status: 'SHIPPED',
        createdAt: '2023-11-14T22:13:20.005Z',
        version: '9007199254740993',
        token: Buffer.from('secret').toString('base64'),
        labels: { tier: 'gold' },
        weight: 0.5,
      },
    });
  });

  test('the same JSON as protobufjs ProtoJSON writes for a message without unknown fields', () => {
    const bytes = encode(Response, ORDER);
    assert.deepEqual(
      decodeMessageJson(Response, bytes),
      protojson.toJson(Response, Response.decode(bytes)),
    );
  });

  test('fields at their default are left out unless they have presence', () => {
    const Order = root.lookupType('shop.v1.Order');
    // Sent explicitly: qty 0, id "", status 0; priority is `optional` (presence) and stays.
    const explicit = Buffer.concat([
      Buffer.from([0x0a, 0x00]), // id = ""
      Buffer.from([0x20, 0x00]), // status = 0
      Buffer.from([0x50, 0x00]), // priority = 0
    ]);
    assert.deepEqual(decodeMessageJson(Order, explicit), { priority: 0 });
    assert.deepEqual(decodeMessageJson(Order, new Uint8Array(0)), {});
  });

  test('a float is its shortest decimal (0.1f, not 0.10000000149011612)', () => {
    const Order = root.lookupType('shop.v1.Order');
    assert.deepEqual(decodeMessageJson(Order, encode(Order, { weight: 0.1 })), { weight: 0.1 });
  });

  test('an enum number the descriptors do not name stays a number', () => {
    const Order = root.lookupType('shop.v1.Order');
    assert.deepEqual(decodeMessageJson(Order, Buffer.from([0x20, 0x07])), { status: 7 });
  });

  test('fields unknown to the descriptors are kept under #number, where they were', () => {
    const Order = root.lookupType('shop.v1.Order');
    const known = encode(Order, { id: 'o-1' });
    const unknown = Buffer.from([
      0x58,
      0x2a, // field 11, varint 42
      0x62,
      0x02,
      0x68,
      0x69, // field 12, bytes "hi"
      0x6d,
      0x01,
      0x00,
      0x00,
      0x00, // field 13, fixed32 1
      0x58,
      0x2b, // field 11 again, varint 43
    ]);
    const inner = Buffer.concat([known, unknown]);
    // The order nested in a response: field 1, length-delimited.
    const outer = Buffer.concat([Buffer.from([0x0a, inner.byteLength]), inner]);
    assert.deepEqual(decodeMessageJson(Response, outer), {
      order: { id: 'o-1', '#11': ['42', '43'], '#12': 'aGk=', '#13': 1 },
    });
  });

  test('bytes that are not a message of the type throw', () => {
    assert.throws(
      () => decodeMessageJson(Response, Buffer.from([0x0a, 0x50, 0x01])),
      /index out of range/,
    );
  });
});

describe('ProtoSchema', () => {
  const schema = ordersSchema();

  test('looks up a method by its gRPC path, with its types and streaming kind', () => {
    const get = schema.method(GET_PATH);
    assert.ok(get);
    assert.equal(get.requestType.fullName, '.shop.v1.GetOrderRequest');
    assert.equal(get.responseType.fullName, '.shop.v1.GetOrderResponse');
    assert.deepEqual(
      schema.methodPaths().map((p) => {
        const m = schema.method(p);
        return [p, m?.clientStreaming, m?.serverStreaming];
      }),
      [
        ['/shop.v1.Orders/Chat', true, true],
        ['/shop.v1.Orders/Get', false, false],
        ['/shop.v1.Orders/Upload', true, false],
        ['/shop.v1.Orders/Watch', false, true],
      ],
    );
  });

  test('a method marked idempotency_level = NO_SIDE_EFFECTS is side-effect free, others are not', () => {
    assert.equal(schema.method(GET_PATH)?.sideEffectFree, true);
    assert.equal(schema.method('/shop.v1.Orders/Watch')?.sideEffectFree, false);
  });

  test('an unknown path, or one without its package, is not a method', () => {
    assert.equal(schema.method('/shop.v1.Orders/Delete'), undefined);
    assert.equal(schema.method('/Orders/Get'), undefined);
  });

  test('built from the descriptors alone, it decodes what the fixture encodes', () => {
    const get = schema.method(GET_PATH);
    assert.ok(get);
    const json = decodeMessageJson(get.responseType, encode(Response, ORDER)) as {
      order: { id: string };
    };
    assert.equal(json.order.id, 'o-1');
  });
});
