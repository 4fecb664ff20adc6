// grpc-timeout parsing and the deadline arithmetic, in-process (the calls
// through a gateway are in grpc-deadline.test.ts).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  formatGrpcTimeout,
  GrpcDeadline,
  parseGrpcTimeout,
} from '../../src/gateway/grpc-timeout.ts';

test('parseGrpcTimeout reads every unit of the spec, in milliseconds', () => {
  assert.equal(parseGrpcTimeout('2H'), 7_200_000);
  assert.equal(parseGrpcTimeout('3M'), 180_000);
  assert.equal(parseGrpcTimeout('5S'), 5_000);
  assert.equal(parseGrpcTimeout('250m'), 250);
  assert.equal(parseGrpcTimeout('1500u'), 1.5);
  assert.equal(parseGrpcTimeout('2000000n'), 2);
  assert.equal(parseGrpcTimeout('0m'), 0);
  assert.equal(parseGrpcTimeout('99999999S'), 99_999_999_000);
});

test('parseGrpcTimeout refuses what the spec does not allow', () => {
  for (const bad of [
    undefined,
    '',
    'm',
    '10',
    '123456789m', // nine digits
    '10s', // units are case-sensitive: s is not S
    '10 m',
    ' 10m',
    '-1m',
    '1.5S',
    '10ms',
  ]) {
    assert.equal(parseGrpcTimeout(bad), undefined, String(bad));
  }
});

test('formatGrpcTimeout writes milliseconds while they fit 8 digits, then rounds down to a coarser unit', () => {
  assert.equal(formatGrpcTimeout(1), '1m');
  assert.equal(formatGrpcTimeout(4_321), '4321m');
  assert.equal(formatGrpcTimeout(99_999_999), '99999999m');
  assert.equal(formatGrpcTimeout(100_000_001), '100000S');
  assert.equal(formatGrpcTimeout(100_000_000_000), '1666666M');
  assert.equal(formatGrpcTimeout(10 ** 13), '2777777H');
  for (const ms of [1, 999, 100_000_001, 10 ** 13]) {
    const text = formatGrpcTimeout(ms);
    assert.ok(parseGrpcTimeout(text)! <= ms, `${text} is no more than ${ms} ms`);
  }
});

test('a call without grpc-timeout, or with one that does not parse, has no deadline', () => {
  assert.equal(GrpcDeadline.of(['content-type', 'application/grpc'], performance.now()), undefined);
  assert.equal(GrpcDeadline.of(['grpc-timeout', '1 second'], performance.now()), undefined);
});

test('bound: min(route timeout, what remains), and what remains goes upstream', () => {
  const headers = ['content-type', 'application/grpc', 'grpc-timeout', '1000m', 'te', 'trailers'];
  // The call arrived 400 ms ago with a 1 s deadline: at most 600 ms remain.
  const deadline = GrpcDeadline.of(headers, performance.now() - 400)!;
  const wait = deadline.bound(3_000, headers);
  assert.ok(wait >= 1 && wait <= 600, `waits ${wait} ms`);
  assert.equal(headers[3], `${wait}m`);
  assert.deepEqual(headers.slice(4), ['te', 'trailers']);
  // A route timeout shorter than the rest wins; upstream still hears the rest.
  const short = deadline.bound(100, headers);
  assert.equal(short, 100);
  assert.ok(parseGrpcTimeout(headers[3])! <= 600);
});

test('bound: a deadline already passed still waits 1 ms, so the attempt times out on its own timer', () => {
  const headers = ['grpc-timeout', '5m'];
  const deadline = GrpcDeadline.of(headers, performance.now() - 1_000)!;
  assert.equal(deadline.bound(3_000, headers), 1);
  assert.equal(headers[1], '1m');
});
