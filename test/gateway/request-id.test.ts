import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RequestIds } from '../../src/gateway/request-id.ts';

const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

test('ids are UUID v4 in form and never repeat within a process', () => {
  const ids = new RequestIds();
  const seen = new Set<string>();
  for (let i = 0; i < 100_000; i++) {
    const id = ids.next();
    assert.match(id, UUID_V4);
    seen.add(id);
  }
  assert.equal(seen.size, 100_000);
});

test('two generators (two processes) draw different prefixes', () => {
  const prefixes = new Set<string>();
  for (let i = 0; i < 1000; i++) prefixes.add(new RequestIds().next().slice(0, 24));
  assert.equal(prefixes.size, 1000);
});
