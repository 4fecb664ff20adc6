// Zipkin's list of traces becomes the flat span list the reader takes, however
// the bytes are cut into chunks.
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { ZipkinTracesFlattener } from '../../src/cli/zipkin-flatten.ts';

async function flatten(text: string, chunkBytes: number): Promise<string> {
  const bytes = Buffer.from(text);
  const chunks: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += chunkBytes) chunks.push(bytes.subarray(i, i + chunkBytes));
  const parts: Buffer[] = [];
  for await (const c of Readable.from(chunks).pipe(new ZipkinTracesFlattener())) parts.push(c);
  return Buffer.concat(parts).toString('utf8');
}

const tricky = [
  [
    { id: 'a', name: 'GET /x]}[,', tags: { q: 'say \\"]\\" and \\\\' } },
    { id: 'b', tags: { list: '[1,2]' }, annotations: [{ value: 'é✓😀' }] },
  ],
  [],
  [{ id: 'c', nested: { deep: [[1], { x: ']' }] } }],
];

test('a list of traces becomes one list of their spans, at any chunk size', async () => {
  const text = JSON.stringify(tricky, null, 2);
  for (const size of [1, 2, 7, 64, 1 << 20]) {
    const out = await flatten(text, size);
    assert.deepEqual(JSON.parse(out), tricky.flat(), `chunks of ${size} bytes`);
  }
});

test('a flat span list, an empty list and a list of empty traces pass as valid JSON', async () => {
  const flat = [{ id: 'a' }, { id: 'b', tags: { x: '[' } }];
  for (const size of [1, 5, 100]) {
    assert.deepEqual(JSON.parse(await flatten(JSON.stringify(flat), size)), flat);
    assert.deepEqual(JSON.parse(await flatten('[]', size)), []);
    assert.deepEqual(JSON.parse(await flatten('[ [], [ ] ]', size)), []);
  }
});
