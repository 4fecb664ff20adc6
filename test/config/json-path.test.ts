// The JSONPath subset of shadow rules, parsed by config (checked at load)
// and compiled by compare: what it accepts, what it refuses and why.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ANY_STEP, formatJsonPath, parseJsonPath } from '../../src/config/index.ts';
import { InvalidArgumentError } from '../../src/errors.ts';

test('parses keys, quoted keys, indexes and wildcards into steps', () => {
  assert.deepEqual(parseJsonPath('$'), []);
  assert.deepEqual(parseJsonPath('$.items[*].at'), ['items', ANY_STEP, 'at']);
  assert.deepEqual(parseJsonPath("$['a.b'][2].*"), ['a.b', 2, ANY_STEP]);
  assert.deepEqual(parseJsonPath('$["x y"]'), ['x y']);
});

test('refuses what the subset leaves out, saying why', () => {
  for (const [path, why] of [
    ['items', /must start with \$/],
    ['$..id', /recursive descent/],
    ['$.a.', /empty key at offset 3/],
    ['$[1', /unclosed \[ at offset 1/],
    ['$[?(@.x)]', /expected \[N\], \[\*\] or \['key'\]/],
    ['$a', /unexpected "a" at offset 1/],
  ] as const) {
    assert.throws(
      () => parseJsonPath(path),
      (e: Error) => e instanceof InvalidArgumentError && why.test(e.message),
      path,
    );
  }
});

test('formats concrete paths, and patterns with every index as [*]', () => {
  assert.equal(formatJsonPath(['orders', 0, 'total']), '$.orders[0].total');
  assert.equal(formatJsonPath(['orders', 0, 'total'], true), '$.orders[*].total');
  assert.equal(formatJsonPath(['a-b', '1x']), "$['a-b']['1x']");
  assert.deepEqual(parseJsonPath(formatJsonPath(['a-b', 3])), ['a-b', 3]);
});
