// shadow.compare.protoset / protos / protoPaths (issue 12): descriptors read
// when the config loads, relative to the config file, and every problem a
// config error at the field that names the file.
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import descriptor from 'protobufjs/ext/descriptor.js';
import { ProtoSchema } from '../../src/compare/index.ts';
import { type Config, loadConfigFile, parseConfigText } from '../../src/config/index.ts';
import { ConfigError, formatConfigIssue } from '../../src/errors.ts';
import {
  GET_PATH,
  ordersRoot,
  PROTO_INCLUDE,
  SHOP_PROTO,
  writeProtoset,
} from '../helpers/protos.ts';

let dir = '';
let file = '';

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'cutover-protos-'));
  file = join(dir, 'cutover.yaml');
  mkdirSync(join(dir, 'protos/shop/v1'), { recursive: true });
  mkdirSync(join(dir, 'include/shop/v1'), { recursive: true });
  copyFileSync(SHOP_PROTO, join(dir, 'protos/shop/v1/orders.proto'));
  copyFileSync(
    join(PROTO_INCLUDE, 'shop/v1/money.proto'),
    join(dir, 'include/shop/v1/money.proto'),
  );
  writeProtoset(join(dir, 'orders.pb'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

function config(shadow: string, defaults = ''): string {
  return `backends:
  legacy: { url: "http://127.0.0.1:9001" }
  rewrite: { url: "http://127.0.0.1:9002" }
${defaults}routes:
  - name: orders
    match: { path: /shop.v1.Orders/* }
    legacy: legacy
    candidate: rewrite
    shadow:
      compare: ${shadow}
`;
}

function load(text: string): Config {
  return parseConfigText(text, file, {});
}

/** The messages, with the temp directory written `<dir>`. */
function problems(text: string): string[] {
  try {
    load(text);
    return [];
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected a ConfigError, got ${String(err)}`);
    return err.issues.map((i) => formatConfigIssue(i).replaceAll(dir, '<dir>'));
  }
}

function methodOf(c: Config, route = 0) {
  const proto = c.routes[route].shadow?.proto;
  assert.ok(proto, 'the route has no descriptors');
  return new ProtoSchema(proto).method(GET_PATH);
}

describe('shadow.compare.protoset', () => {
  test('a descriptor set relative to the config file is read at load', () => {
    const c = load(config('{ protoset: orders.pb }'));
    assert.deepEqual(c.routes[0].shadow?.proto?.files, [join(dir, 'orders.pb')]);
    assert.equal(methodOf(c)?.responseType.fullName, '.shop.v1.GetOrderResponse');
  });

  test('written without --include_imports, the well-known types it imports are added', () => {
    const set = ordersRoot().toDescriptor('proto3');
    set.file = set.file.filter((f) => f.package !== 'google.protobuf');
    writeFileSync(join(dir, 'no-imports.pb'), descriptor.FileDescriptorSet.encode(set).finish());
    const c = load(config('{ protoset: no-imports.pb }'));
    assert.ok(methodOf(c));
  });

  test('a set that lacks another imported file says to write it with --include_imports', () => {
    const set = ordersRoot().toDescriptor('proto3');
    for (const f of set.file)
      f.messageType = (f.messageType ?? []).filter((m) => m.name !== 'Money');
    writeFileSync(join(dir, 'no-money.pb'), descriptor.FileDescriptorSet.encode(set).finish());
    assert.deepEqual(problems(config('{ protoset: no-money.pb }')), [
      "<dir>/cutover.yaml:10:28 routes[0].shadow.compare.protoset: <dir>/no-money.pb: no such Type or Enum 'Money' in Type .shop.v1.Line; a file it imports is not in the set (write it with protoc --include_imports)",
    ]);
  });

  test('a missing file, and a file that is not a descriptor set, name the file', () => {
    assert.deepEqual(problems(config('{ protoset: nope.pb }')), [
      "<dir>/cutover.yaml:10:28 routes[0].shadow.compare.protoset: cannot read <dir>/nope.pb: ENOENT: no such file or directory, open '<dir>/nope.pb'",
    ]);
    assert.deepEqual(problems(config('{ protoset: protos/shop/v1/orders.proto }')), [
      '<dir>/cutover.yaml:10:28 routes[0].shadow.compare.protoset: <dir>/protos/shop/v1/orders.proto is not a FileDescriptorSet (as protoc --descriptor_set_out writes): invalid wire type 7 at offset 1',
    ]);
    writeFileSync(join(dir, 'empty.pb'), '');
    assert.deepEqual(problems(config('{ protoset: empty.pb }')), [
      '<dir>/cutover.yaml:10:28 routes[0].shadow.compare.protoset: <dir>/empty.pb is not a FileDescriptorSet (as protoc --descriptor_set_out writes): it holds no named file',
    ]);
  });
});

describe('shadow.compare.protos', () => {
  test('.proto files are parsed, imports found in protoPaths', () => {
    const c = load(config('{ protos: [protos/shop/v1/orders.proto], protoPaths: [include] }'));
    assert.equal(methodOf(c)?.requestType.fullName, '.shop.v1.GetOrderRequest');
  });

  test('an import not found names it and where it was looked for', () => {
    assert.deepEqual(problems(config('{ protos: [protos/shop/v1/orders.proto] }')), [
      '<dir>/cutover.yaml:10:26 routes[0].shadow.compare.protos: cannot load <dir>/protos/shop/v1/orders.proto: import "shop/v1/money.proto" of <dir>/protos/shop/v1/orders.proto not found in <dir>/protos/shop/v1 (add its directory to protoPaths)',
    ]);
  });

  test('a syntax error names the .proto file and its line', () => {
    writeFileSync(join(dir, 'broken.proto'), 'syntax = "proto3";\nmessage X {\n  int32 a = ;\n}\n');
    assert.deepEqual(problems(config('{ protos: [broken.proto] }')), [
      "<dir>/cutover.yaml:10:26 routes[0].shadow.compare.protos: cannot load <dir>/broken.proto: illegal id ';' (<dir>/broken.proto, line 3)",
    ]);
  });

  test('a missing file is named at its place in the list, a missing include directory too', () => {
    assert.deepEqual(problems(config('{ protos: [protos/shop/v1/orders.proto, gone.proto] }')), [
      '<dir>/cutover.yaml:10:56 routes[0].shadow.compare.protos[1]: cannot read <dir>/gone.proto: no such file',
    ]);
    assert.deepEqual(
      problems(
        config('{ protos: [protos/shop/v1/orders.proto], protoPaths: [include, third_party] }'),
      ),
      [
        '<dir>/cutover.yaml:10:79 routes[0].shadow.compare.protoPaths[1]: no such directory <dir>/third_party',
      ],
    );
  });

  test('protoset and protos together are refused', () => {
    assert.deepEqual(problems(config('{ protoset: orders.pb, protos: [broken.proto] }')), [
      '<dir>/cutover.yaml:10:47 routes[0].shadow.compare.protos: expected protoset or protos, not both',
    ]);
  });
});

describe('descriptors in defaults.shadow.compare', () => {
  const defaults = (compare: string) => `defaults:
  shadow:
    compare: ${compare}
`;
  const twoRoutes = (compare: string) => `backends:
  legacy: { url: "http://127.0.0.1:9001" }
  rewrite: { url: "http://127.0.0.1:9002" }
${defaults(compare)}routes:
  - { name: a, match: { path: /a }, legacy: legacy, candidate: rewrite, shadow: { percent: 50 } }
  - { name: b, match: { path: /b }, legacy: legacy, candidate: rewrite, shadow: { percent: 50 } }
`;

  test('apply to every route with a shadow and no compare block of its own, read once', () => {
    const c = load(twoRoutes('{ protoset: orders.pb }'));
    assert.ok(methodOf(c, 0));
    assert.equal(c.routes[0].shadow?.proto, c.routes[1].shadow?.proto);
  });

  test('a problem is reported once, at the defaults', () => {
    assert.deepEqual(problems(twoRoutes('{ protoset: nope.pb }')), [
      "<dir>/cutover.yaml:6:26 defaults.shadow.compare.protoset: cannot read <dir>/nope.pb: ENOENT: no such file or directory, open '<dir>/nope.pb'",
    ]);
  });

  test('a route without descriptors has none', () => {
    const c = load(config('{ ignore: ["$.id"] }'));
    assert.equal(c.routes[0].shadow?.proto, undefined);
  });
});

test('a config loaded off the event loop (as on reload) carries the descriptors as plain data', async () => {
  writeFileSync(file, config('{ protoset: orders.pb }'));
  const c = await loadConfigFile(file, {});
  assert.ok(Object.isFrozen(c.routes[0].shadow?.proto));
  assert.equal(methodOf(c)?.path, GET_PATH);
});
