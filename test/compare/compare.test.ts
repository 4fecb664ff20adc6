import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  type CompareRules,
  compareResponses,
  compileCompareRules,
  type ResponseSample,
} from '../../src/compare/index.ts';

const JSON_CT = { 'content-type': 'application/json' };

function res(
  body: unknown,
  headers: Record<string, string> = JSON_CT,
  status = 200,
): ResponseSample {
  const bytes = typeof body === 'string' ? body : JSON.stringify(body);
  return { status, headers, body: Buffer.from(bytes) };
}

function cmp(a: unknown, b: unknown, rules: CompareRules = {}) {
  return compareResponses(res(a), res(b), compileCompareRules(rules));
}

function paths(a: unknown, b: unknown, rules: CompareRules = {}): string[] {
  return cmp(a, b, rules).differences.map((d) => `${d.kind} ${d.path}`);
}

describe('JSON structure', () => {
  test('key order never matters', () => {
    assert.equal(cmp('{"a":1,"b":{"x":1,"y":2}}', '{"b":{"y":2,"x":1},"a":1}').match, true);
    assert.deepEqual(paths({ a: 1, b: { x: 1 } }, { b: { x: 2 }, a: 1 }), ['changed $.b.x']);
  });

  test('numbers compare by value: 1 equals 1.0 and 1e0', () => {
    assert.equal(cmp('{"n":1,"m":[2.50]}', '{"n":1.0,"m":[2.5e0]}').match, true);
    assert.deepEqual(paths('{"n":1}', '{"n":1.01}'), ['changed $.n']);
  });

  test('the string "19.90" vs the number 19.9 is a type difference at its path', () => {
    const r = cmp({ orders: [{ id: 1, total: 19.9 }] }, '{"orders":[{"id":1,"total":"19.90"}]}');
    assert.equal(r.match, false);
    assert.deepEqual(r.differences, [
      {
        path: '$.orders[0].total',
        pattern: '$.orders[*].total',
        kind: 'type',
        legacy: 19.9,
        candidate: '19.90',
      },
    ]);
  });

  test('missing, extra and array length differences', () => {
    assert.deepEqual(paths({ a: 1, b: [1, 2] }, { c: 3, b: [1] }), [
      'missing-in-candidate $.a',
      'missing-in-candidate $.b[1]',
      'extra-in-candidate $.c',
    ]);
    assert.deepEqual(paths([1], [1, 2]), ['extra-in-candidate $[1]']);
    assert.deepEqual(paths({ 'a b': 1 }, { 'a b': 2 }), ["changed $['a b']"]);
  });

  test('arrays are ordered unless a rule says otherwise', () => {
    assert.deepEqual(paths([1, 2], [2, 1]), ['changed $[0]', 'changed $[1]']);
  });

  test('maxDifferences caps the list and marks it truncated', () => {
    const a = Array.from({ length: 50 }, (_, i) => i);
    const b = a.map((i) => i + 1);
    const r = cmp(a, b, { maxDifferences: 5 });
    assert.equal(r.differences.length, 5);
    assert.equal(r.truncated, true);
    assert.equal(r.match, false);
  });
});

describe('rules', () => {
  test('ignore with [*] skips that field in every element, and only that one', () => {
    const rules = { ignore: ['$.meta.requestId', '$.items[*].updatedAt'] };
    const a = { meta: { requestId: 'r1' }, items: [{ id: 1, updatedAt: 'x' }, { id: 2 }] };
    const b = {
      meta: { requestId: 'r2' },
      items: [
        { id: 1, updatedAt: 'y' },
        { id: 2, updatedAt: 'z' },
      ],
    };
    assert.equal(cmp(a, b, rules).match, true);
    const c = { meta: { requestId: 'r2' }, items: [{ id: 1, updatedAt: 'y' }, { id: 3 }] };
    assert.deepEqual(paths(a, c, rules), ['changed $.items[1].id']);
    assert.equal(cmp(a, b).match, false);
  });

  test('nullEqualsMissing: null equals an absent key, but not a value', () => {
    const rules = { nullEqualsMissing: true };
    assert.equal(cmp({ a: 1, b: null }, { a: 1 }, rules).match, true);
    assert.equal(cmp({ a: 1 }, { a: 1, b: null }, rules).match, true);
    assert.deepEqual(paths({ b: null }, { b: 0 }, rules), ['type $.b']);
    assert.deepEqual(paths({ a: 1, b: null }, { a: 1 }), ['missing-in-candidate $.b']);
  });

  test('unordered with a key field pairs elements by key and diffs inside them', () => {
    const rules = { unordered: { '$.items': 'id' } };
    const a = {
      items: [
        { id: 1, v: 'a' },
        { id: 2, v: 'b' },
      ],
    };
    assert.equal(
      cmp(
        a,
        {
          items: [
            { v: 'b', id: 2 },
            { id: 1, v: 'a' },
          ],
        },
        rules,
      ).match,
      true,
    );
    const r = cmp(
      a,
      {
        items: [
          { id: 2, v: 'B' },
          { id: 3, v: 'c' },
        ],
      },
      rules,
    );
    assert.deepEqual(
      r.differences.map((d) => `${d.kind} ${d.path} ${d.pattern}`),
      [
        'changed $.items[1].v $.items[*].v',
        'missing-in-candidate $.items[0] $.items[*]',
        'extra-in-candidate $.items[1] $.items[*]',
      ],
    );
  });

  test('unordered without a key compares a multiset of normalised values', () => {
    const rules = { unordered: { '$.tags': null } };
    assert.equal(cmp({ tags: ['a', 'b', 'a'] }, { tags: ['b', 'a', 'a'] }, rules).match, true);
    assert.equal(
      cmp({ tags: [{ x: 1, y: 2 }, 3] }, { tags: [3, { y: 2, x: 1.0 }] }, rules).match,
      true,
    );
    assert.deepEqual(paths({ tags: ['a', 'b', 'a'] }, { tags: ['b', 'a', 'b'] }, rules), [
      'missing-in-candidate $.tags[2]',
      'extra-in-candidate $.tags[2]',
    ]);
  });

  test('timestamps compare as instants across zones', () => {
    const rules = { timestamps: ['$.createdAt', '$.items[*].at'] };
    const a = { createdAt: '2024-01-01T00:00:00Z', items: [{ at: '2024-03-10T12:00:00.500Z' }] };
    const b = {
      createdAt: '2024-01-01T08:00:00+08:00',
      items: [{ at: '2024-03-10T07:00:00.5-05:00' }],
    };
    assert.equal(cmp(a, b, rules).match, true);
    const c = {
      createdAt: '2024-01-01T08:00:01+08:00',
      items: [{ at: '2024-03-10T12:00:00.501Z' }],
    };
    assert.deepEqual(paths(a, c, rules), ['changed $.createdAt', 'changed $.items[0].at']);
    // Without the rule the strings differ.
    assert.deepEqual(paths(a, b), ['changed $.createdAt', 'changed $.items[0].at']);
  });

  test('a timestamp path holding a non-date string is compared as a string', () => {
    const rules = { timestamps: ['$.t'] };
    assert.equal(cmp({ t: 'soon' }, { t: 'soon' }, rules).match, true);
    assert.deepEqual(paths({ t: 'soon' }, { t: 'later' }, rules), ['changed $.t']);
  });

  test('floatPlaces rounds numbers before comparing', () => {
    const rules = { floatPlaces: 2 };
    assert.equal(cmp({ p: 19.901, q: [0.1 + 0.2] }, { p: 19.9, q: [0.3] }, rules).match, true);
    assert.deepEqual(paths({ p: 19.9 }, { p: 19.92 }, rules), ['changed $.p']);
    // Rounding does not turn a string into a number.
    assert.deepEqual(paths({ p: 19.9 }, { p: '19.90' }, rules), ['type $.p']);
  });

  test('bad paths and options are refused when compiling, naming the path', () => {
    assert.throws(() => compileCompareRules({ ignore: ['$..id'] }), /\$\.\.id.*recursive/);
    assert.throws(() => compileCompareRules({ ignore: ['items'] }), /must start with \$/);
    assert.throws(() => compileCompareRules({ floatPlaces: -1 }), /floatPlaces/);
  });
});

describe('status, headers and bytes', () => {
  test('status difference', () => {
    const r = compareResponses(res({}), res({}, JSON_CT, 500), compileCompareRules());
    assert.deepEqual(r.differences, [
      { path: 'status', pattern: 'status', kind: 'changed', legacy: 200, candidate: 500 },
    ]);
  });

  test('volatile headers are ignored even when listed; content-type is compared', () => {
    const rules = compileCompareRules({ headers: ['content-type', 'date', 'etag', 'x-api'] });
    const a = res({}, { ...JSON_CT, date: 'Mon', server: 'tomcat', etag: '"1"', 'x-api': 'v1' });
    const b = res({}, { ...JSON_CT, date: 'Tue', server: 'go', etag: '"2"', 'x-api': 'v1' });
    assert.equal(compareResponses(a, b, rules).match, true);
    const c = res({}, { 'content-type': 'application/problem+json', 'x-api': 'v2' });
    assert.deepEqual(
      compareResponses(a, c, rules).differences.map((d) => `${d.kind} ${d.path}`),
      ['changed header:content-type', 'changed header:x-api'],
    );
  });

  test('content-type parameters differing only in case or spacing match', () => {
    const a = res({}, { 'content-type': 'application/json; charset=utf-8' });
    const b = res({}, { 'content-type': 'application/json;charset=UTF-8' });
    assert.equal(compareResponses(a, b, compileCompareRules()).match, true);
  });

  test('only content-type is compared by default', () => {
    const a = res({}, { ...JSON_CT, 'x-api': 'v1' });
    const b = res({}, { ...JSON_CT, 'x-api': 'v2' });
    assert.equal(compareResponses(a, b, compileCompareRules()).match, true);
  });

  test('+json bodies are compared structurally', () => {
    const ct = { 'content-type': 'application/vnd.api+json' };
    const r = compareResponses(
      res('{"a":1,"b":2}', ct),
      res('{"b":2,"a":1.0}', ct),
      compileCompareRules(),
    );
    assert.equal(r.match, true);
  });

  test('non-JSON bodies compare byte for byte', () => {
    const ct = { 'content-type': 'text/plain' };
    const rules = compileCompareRules();
    assert.equal(compareResponses(res('hello', ct), res('hello', ct), rules).match, true);
    assert.deepEqual(compareResponses(res('hello', ct), res('hellO', ct), rules).differences, [
      { path: 'body', pattern: 'body', kind: 'changed', legacy: '5 bytes', candidate: '5 bytes' },
    ]);
    // JSON-looking text that is not declared JSON is still bytes.
    assert.equal(compareResponses(res('{"a":1}', ct), res('{ "a": 1 }', ct), rules).match, false);
  });

  test('a candidate that is not JSON where legacy is, is a body type difference', () => {
    const r = compareResponses(res({ a: 1 }), res('<html>oops'), compileCompareRules());
    assert.deepEqual(r.differences, [
      { path: 'body', pattern: 'body', kind: 'type', legacy: 'json', candidate: 'not json' },
    ]);
  });

  test('ignored content types skip the body but not status or headers', () => {
    const ct = { 'content-type': 'text/html; charset=utf-8' };
    const rules = compileCompareRules({ ignoreContentTypes: ['text/html', 'image/*'] });
    assert.equal(compareResponses(res('<p>1</p>', ct), res('<p>2</p>', ct), rules).match, true);
    const png = { 'content-type': 'image/png' };
    assert.equal(compareResponses(res('a', png), res('b', png), rules).match, true);
    assert.equal(
      compareResponses(res('<p>1</p>', ct), res('<p>1</p>', ct, 404), rules).match,
      false,
    );
    const text = { 'content-type': 'text/plain' };
    assert.equal(compareResponses(res('1', text), res('2', text), rules).match, false);
  });
});
