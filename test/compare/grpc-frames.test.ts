import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { GrpcMessageCounter, splitGrpcMessages } from '../../src/compare/index.ts';
import { frame } from '../helpers/protos.ts';

const bytes = (...b: number[]) => Uint8Array.from(b);

describe('splitGrpcMessages', () => {
  test('splits a body into its length-prefixed messages, in order', () => {
    const body = Buffer.concat([frame(bytes(1, 2, 3)), frame(bytes()), frame(bytes(9))]);
    const { messages, problem } = splitGrpcMessages(body);
    assert.equal(problem, undefined);
    assert.deepEqual(
      messages.map((m) => [...m]),
      [[1, 2, 3], [], [9]],
    );
  });

  test('an empty body has no messages and no problem (a trailers-only answer)', () => {
    assert.deepEqual(splitGrpcMessages(new Uint8Array(0)), { messages: [] });
  });

  test('reads the length as a 4-byte big-endian integer, past 64 KiB', () => {
    const big = new Uint8Array(70_000).fill(7);
    const { messages } = splitGrpcMessages(frame(big));
    assert.equal(messages.length, 1);
    assert.equal(messages[0].byteLength, 70_000);
  });

  test('a body that is a view into a larger buffer is read from its own offset', () => {
    const whole = Buffer.concat([Buffer.from('junk'), frame(bytes(5, 6))]);
    const { messages } = splitGrpcMessages(whole.subarray(4));
    assert.deepEqual([...messages[0]], [5, 6]);
  });

  test('a cut message is reported, not thrown, with the whole messages before it', () => {
    const body = Buffer.concat([frame(bytes(1)), frame(bytes(1, 2, 3, 4)).subarray(0, 7)]);
    const { messages, problem } = splitGrpcMessages(body);
    assert.equal(messages.length, 1);
    assert.equal(problem, 'truncated message: prefix announces 4 bytes, 2 follow at offset 6');
  });

  test('a cut prefix is reported', () => {
    const { problem } = splitGrpcMessages(bytes(0, 0, 0));
    assert.equal(problem, 'truncated message prefix: 3 of 5 bytes at offset 0');
  });

  test('a compressed message is reported with its grpc-encoding, or as a protocol error without one', () => {
    const body = frame(bytes(31, 139), true);
    assert.equal(
      splitGrpcMessages(body, 'gzip').problem,
      'compressed message (grpc-encoding gzip) at offset 0',
    );
    assert.equal(
      splitGrpcMessages(body).problem,
      'compressed message (flag 1 without a grpc-encoding) at offset 0',
    );
    assert.equal(
      splitGrpcMessages(body, 'identity').problem,
      'compressed message (flag 1 without a grpc-encoding) at offset 0',
    );
  });
});

describe('GrpcMessageCounter', () => {
  const body = Buffer.concat([frame(bytes(1, 2, 3)), frame(bytes()), frame(bytes(4, 5))]);

  test('counts messages fed in chunks of any size, prefixes cut across chunks', () => {
    for (const size of [1, 2, 3, 4, 5, 7, body.byteLength]) {
      const counter = new GrpcMessageCounter();
      const seen: number[] = [];
      for (let at = 0; at < body.byteLength; at += size) {
        counter.push(body.subarray(at, at + size));
        seen.push(counter.started);
      }
      assert.equal(counter.started, 3, `chunks of ${size}`);
      assert.equal(counter.whole, true, `chunks of ${size}`);
      assert.deepEqual(
        seen,
        [...seen].sort((a, b) => a - b),
        'only ever grows',
      );
    }
  });

  test('a message counts from its prefix: the second one is seen before its body arrives', () => {
    const counter = new GrpcMessageCounter();
    counter.push(frame(bytes(1)));
    assert.deepEqual([counter.started, counter.whole], [1, true]);
    counter.push(frame(bytes(1, 2, 3)).subarray(0, 6));
    assert.deepEqual([counter.started, counter.whole], [2, false]);
  });

  test('a cut prefix is not a message yet, and not whole', () => {
    const counter = new GrpcMessageCounter();
    counter.push(bytes(0, 0));
    assert.deepEqual([counter.started, counter.whole], [0, false]);
  });
});
