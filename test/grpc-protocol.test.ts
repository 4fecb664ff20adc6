// The gRPC wire basics every module shares (src/grpc-protocol.ts), in-process.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  encodeGrpcMessage,
  GRPC_STATUS,
  grpcStatusOfHttp,
  isGrpcContentType,
} from '../src/grpc-protocol.ts';

test('isGrpcContentType: application/grpc alone, with +suffix or parameters; not grpc-web', () => {
  for (const yes of [
    'application/grpc',
    'application/grpc+proto',
    'application/grpc+json',
    'application/grpc; charset=utf-8',
    'Application/GRPC',
  ]) {
    assert.equal(isGrpcContentType(yes), true, yes);
  }
  for (const no of [undefined, '', 'application/json', 'application/grpc-web', 'application/grp']) {
    assert.equal(isGrpcContentType(no), false, String(no));
  }
});

test('grpcStatusOfHttp: the statuses Cutover answers with, mapped as docs/errors.md lists them', () => {
  const table: [number, number][] = [
    [400, GRPC_STATUS.INTERNAL],
    [404, GRPC_STATUS.UNIMPLEMENTED],
    [408, GRPC_STATUS.DEADLINE_EXCEEDED],
    [413, GRPC_STATUS.RESOURCE_EXHAUSTED],
    [429, GRPC_STATUS.RESOURCE_EXHAUSTED],
    [431, GRPC_STATUS.RESOURCE_EXHAUSTED],
    [500, GRPC_STATUS.INTERNAL],
    [501, GRPC_STATUS.UNIMPLEMENTED],
    [502, GRPC_STATUS.UNAVAILABLE],
    [503, GRPC_STATUS.UNAVAILABLE],
    [504, GRPC_STATUS.DEADLINE_EXCEEDED],
    [505, GRPC_STATUS.UNKNOWN],
    [418, GRPC_STATUS.UNKNOWN],
  ];
  for (const [http, grpc] of table) assert.equal(grpcStatusOfHttp(http), grpc, String(http));
});

test('encodeGrpcMessage: printable ASCII as is, % and every other byte of the UTF-8 as %XX', () => {
  assert.equal(encodeGrpcMessage('route r: rate limit exceeded'), 'route r: rate limit exceeded');
  assert.equal(encodeGrpcMessage('100% done'), '100%25 done');
  assert.equal(encodeGrpcMessage('café\n'), 'caf%C3%A9%0A');
  assert.equal(decodeURIComponent(encodeGrpcMessage('über ✓ 100%')), 'über ✓ 100%');
});
