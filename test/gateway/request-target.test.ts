import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { BadHostError, BadTargetError } from '../../src/errors.ts';
import { normalisePath, resolveRequestTarget } from '../../src/gateway/request-target.ts';

const HOST = ['Host', 'a.example'];

describe('normalisePath', () => {
  test('leaves ordinary paths alone (the same string)', () => {
    for (const p of [
      '/',
      '/api/v1/users/42',
      '/a.b/c..d/.e/..f',
      '/x/',
      '/file.json',
      '/a;b/c;.',
    ]) {
      assert.equal(normalisePath(p, 'reject'), p);
    }
  });

  test('removes dot segments (RFC 3986 §5.2.4), never above the root', () => {
    const cases: [string, string][] = [
      ['/api/../admin/x', '/admin/x'],
      ['/api/./x', '/api/x'],
      ['/a/b/../../c', '/c'],
      ['/../../etc', '/etc'],
      ['/a/b/..', '/a/'],
      ['/a/b/.', '/a/b/'],
      ['/..', '/'],
      ['/.', '/'],
    ];
    for (const [input, want] of cases) assert.equal(normalisePath(input, 'reject'), want, input);
  });

  test('decodes encoded unreserved characters first, so %2e is a dot', () => {
    assert.equal(normalisePath('/api/%2e%2e/admin/x', 'reject'), '/admin/x');
    assert.equal(normalisePath('/api/%2E./admin', 'reject'), '/admin');
    assert.equal(normalisePath('/%61dmin/x', 'reject'), '/admin/x');
    assert.equal(normalisePath('/a%7Eb', 'reject'), '/a~b');
  });

  test('keeps other escapes as they came, including %25 (no double decoding)', () => {
    assert.equal(normalisePath('/a%20b/%3F', 'reject'), '/a%20b/%3F');
    assert.equal(normalisePath('/api/%252e%252e/admin', 'reject'), '/api/%252e%252e/admin');
  });

  test('merges repeated slashes (nginx merge_slashes)', () => {
    assert.equal(normalisePath('//admin//x///', 'reject'), '/admin/x/');
    assert.equal(normalisePath('/api//..//admin', 'reject'), '/admin');
  });

  test('refuses a bad escape, a fragment, and by default encoded slashes and backslashes', () => {
    for (const p of [
      '/a%2',
      '/a%zz',
      '/a%',
      '/a#b',
      '/a%2Fb',
      '/a%2fb',
      '/a%5Cb',
      '/a\\..\\b',
      '/api/..;/admin',
      '/api/%2e%2e;x/admin',
      '/api/.;/x',
    ]) {
      assert.throws(() => normalisePath(p, 'reject'), BadTargetError, p);
    }
  });

  test('with escapedSlashes keep: encoded slashes and backslashes pass unchanged, never as separators', () => {
    assert.equal(normalisePath('/a%2F..%2Fb', 'keep'), '/a%2F..%2Fb');
    assert.equal(normalisePath('/a\\..\\b/./c', 'keep'), '/a\\..\\b/c');
  });
});

describe('resolveRequestTarget', () => {
  test('origin-form: path, query kept verbatim, host bare and lower-cased', () => {
    const t = resolveRequestTarget('/x/../y?a=%2e%2e&b', ['Host', 'A.Example:8080'], 'reject');
    assert.deepEqual(t, {
      path: '/y',
      query: 'a=%2e%2e&b',
      target: '/y?a=%2e%2e&b',
      host: 'a.example',
    });
    const plain = resolveRequestTarget('/api?x=1', HOST, 'reject');
    assert.equal(plain.target, '/api?x=1');
  });

  test('absolute-form with the same authority as Host', () => {
    const t = resolveRequestTarget('http://A.example:80/p/./q?z', HOST, 'reject');
    assert.deepEqual(t, { path: '/p/q', query: 'z', target: '/p/q?z', host: 'a.example' });
    assert.equal(resolveRequestTarget('http://a.example', HOST, 'reject').target, '/');
    assert.equal(resolveRequestTarget('http://a.example?q', HOST, 'reject').target, '/?q');
  });

  test('absolute-form whose authority is not Host, or with userinfo: 400', () => {
    assert.throws(() => resolveRequestTarget('http://b.example/x', HOST, 'reject'), BadHostError);
    assert.throws(
      () => resolveRequestTarget('http://a.example:81/x', HOST, 'reject'),
      BadHostError,
    );
    assert.throws(
      () => resolveRequestTarget('http://u@a.example/x', HOST, 'reject'),
      BadTargetError,
    );
  });

  test('other target forms: 400', () => {
    for (const url of ['*', 'a.example:443', 'ftp://a.example/x', 'x']) {
      assert.throws(() => resolveRequestTarget(url, HOST, 'reject'), BadTargetError, url);
    }
  });

  test('Host: one field of uri-host [":" port] (RFC 9112 §3.2, RFC 3986 §3.2.2)', () => {
    for (const ok of [
      'a.example',
      'a.example:8080',
      '127.0.0.1:0',
      '[::1]:65535',
      '[::1]',
      'x_y-z~',
    ]) {
      assert.equal(typeof resolveRequestTarget('/', ['host', ok], 'reject').host, 'string', ok);
    }
    const bad = [
      'a.example:80@b.example',
      'a.example:99999',
      'a.example:',
      'a.example:8o',
      'a example',
      'a.example,b.example',
      '%61.example',
      '[::1',
      '[nope]',
      '[::1]x',
      ':80',
      '',
    ];
    for (const value of bad) {
      assert.throws(
        () => resolveRequestTarget('/', ['Host', value], 'reject'),
        BadHostError,
        value,
      );
    }
    assert.throws(
      () => resolveRequestTarget('/', ['Host', 'a.example', 'HOST', 'b.example'], 'reject'),
      BadHostError,
    );
  });

  test('no Host (HTTP/1.0): host undefined', () => {
    assert.equal(resolveRequestTarget('/x', [], 'reject').host, undefined);
  });
});
