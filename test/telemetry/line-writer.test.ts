// LineWriter: every line out exactly once, whole and in order, to a regular
// file (written on the event loop) and to a pipe (written on libuv threads).
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, mock, test } from 'node:test';
import { LineWriter } from '../../src/telemetry/index.ts';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'line-writer-'));
});
afterEach(() => {
  mock.timers.reset();
  rmSync(dir, { recursive: true, force: true });
});

/** Lines of varied length, some multi-byte, some longer than a 1 KiB buffer. */
function lines(n: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const pad = i % 500 === 7 ? 'L'.repeat(3000) : i % 3 === 0 ? '\u00e9\u65e5'.repeat(i % 40) : '';
    out.push(`{"n":${i},"pad":"${pad}"}\n`);
  }
  return out;
}

test('a regular file: many lines through small buffers, each once and in order after flush()', async () => {
  const file = join(dir, 'out.log');
  const writer = new LineWriter(file, { bufferBytes: 1024 });
  const all = lines(5000);
  for (const line of all) writer.write(line);
  await writer.flush();
  assert.equal(readFileSync(file, 'utf8'), all.join(''));
  writer.end();
});

test('a pipe: full buffers queue behind the one being written, in order, each once', async () => {
  const fifo = join(dir, 'fifo');
  execFileSync('mkfifo', [fifo]);
  const chunks: Buffer[] = [];
  // Opened first on a libuv thread (a stream would open on the next tick): the
  // writer's open then finds its reader instead of waiting for one forever.
  const opening = open(fifo, 'r');
  const writer = new LineWriter(fifo, { bufferBytes: 1024 });
  const reader = (await opening).createReadStream();
  reader.on('data', (c) => chunks.push(c as Buffer));
  const ended = new Promise<void>((resolve) => reader.on('end', () => resolve()));
  const all = lines(5000);
  // No turn of the event loop between these: buffers pile up behind the first write.
  for (const line of all.slice(0, 2500)) writer.write(line);
  await new Promise((resolve) => setImmediate(resolve));
  for (const line of all.slice(2500)) writer.write(line);
  await writer.flush();
  writer.end();
  await ended;
  assert.equal(Buffer.concat(chunks).toString('utf8'), all.join(''));
});

test('waiting lines are written flushMs after the first one', () => {
  mock.timers.enable({ apis: ['setTimeout'] });
  const file = join(dir, 'out.log');
  const writer = new LineWriter(file, { flushMs: 100 });
  writer.write('{"a":1}\n');
  writer.write('{"a":2}\n');
  mock.timers.tick(99);
  assert.equal(readFileSync(file, 'utf8'), '');
  mock.timers.tick(1);
  assert.equal(readFileSync(file, 'utf8'), '{"a":1}\n{"a":2}\n');
  writer.write('{"a":3}\n');
  mock.timers.tick(100);
  assert.equal(readFileSync(file, 'utf8'), '{"a":1}\n{"a":2}\n{"a":3}\n');
  writer.end();
});

test('flushSync() and end() write what is waiting; sync mode writes every line at once', () => {
  const file = join(dir, 'out.log');
  const writer = new LineWriter(file);
  writer.write('{"a":1}\n');
  assert.equal(readFileSync(file, 'utf8'), '');
  writer.flushSync();
  assert.equal(readFileSync(file, 'utf8'), '{"a":1}\n');
  writer.write('{"a":2}\n');
  writer.end();
  assert.equal(readFileSync(file, 'utf8'), '{"a":1}\n{"a":2}\n');

  const syncFile = join(dir, 'sync.log');
  const sync = new LineWriter(syncFile, { sync: true });
  sync.write('{"b":1}\n');
  assert.equal(readFileSync(syncFile, 'utf8'), '{"b":1}\n');
  sync.write(`{"b":"${'x'.repeat(100_000)}"}\n`);
  assert.equal(readFileSync(syncFile, 'utf8').length, 8 + 100_009);
  sync.end();
});

test('a destination that cannot be written loses its lines but throws nothing', async () => {
  const file = join(dir, 'read-only.log');
  execFileSync('touch', [file]);
  const fd = openSync(file, 'r');
  const writer = new LineWriter(fd, { bufferBytes: 256 });
  for (const line of lines(100)) assert.equal(writer.write(line), true);
  await writer.flush();
  writer.flushSync();
  closeSync(fd);
  assert.equal(readFileSync(file, 'utf8'), '');

  // A descriptor that is not open (fstat fails): written, and failing, on a libuv thread.
  const closed = new LineWriter(2 ** 31 - 1, { bufferBytes: 256 });
  for (const line of lines(100)) assert.equal(closed.write(line), true);
  await closed.flush();
  closed.flushSync();
});

/** Two processes writing ~1 KiB lines to one pipe that the parent reads slowly; the lines as read. */
async function twoWritersOnOnePipe(mode: string): Promise<string[]> {
  const fixture = new URL('./fixtures/pipe-writer.ts', import.meta.url).pathname;
  const one = (id: string) => `"${process.execPath}" "${fixture}" ${id} 3000 ${mode}`;
  // Both children inherit the shell's stdout: one pipe, two writers.
  const shell = spawn('sh', ['-c', `${one('a')} & ${one('b')} & wait`], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let text = '';
  shell.stdout.setEncoding('utf8');
  // A slow reader: a pause after every chunk keeps the pipe full, so writes block and split.
  shell.stdout.on('data', (d: string) => {
    text += d;
    shell.stdout.pause();
    setTimeout(() => shell.stdout.resume(), 1);
  });
  await new Promise((r) => shell.once('close', r));
  return text.split('\n').filter(Boolean);
}

test('two processes writing long lines to one slow pipe (atomicLines, as workers do): every line arrives whole', async () => {
  const lines = await twoWritersOnOnePipe('atomic');
  const broken = lines.filter((l) => {
    try {
      JSON.parse(l);
      return false;
    } catch {
      return true;
    }
  });
  assert.deepEqual(broken.slice(0, 1), [], `${broken.length} broken lines`);
  assert.equal(lines.length, 6000);
});
