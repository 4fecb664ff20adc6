// The access line, encoded into bytes by AccessLog, must be exactly the line
// the documented format gives with JSON.stringify for every string: the
// expected lines here are built that way, independently of the encoder.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, mock, test } from 'node:test';
import { pino } from 'pino';
import { GRPC_STATUS_NAMES } from '../../src/config/index.ts';
import { AccessLog, LineWriter } from '../../src/telemetry/index.ts';

interface Access {
  reqId: string;
  fragment: string;
  method: string;
  path: string;
  status: number;
  ms: number;
  bytes: number;
  attempts: number;
  fallback?: string;
  err?: string;
  /** A gRPC call's status code. */
  grpc?: number;
}

const q = JSON.stringify;

function expected(now: number, a: Access): string {
  let line = `{"level":"info","time":"${new Date(now).toISOString()}","pid":${process.pid},"msg":"access","reqId":${q(a.reqId)}${a.fragment},"method":"${a.method}","path":${q(a.path)},"status":${a.status},"ms":${a.ms},"bytes":${a.bytes}`;
  if (a.grpc !== undefined) line += `,"grpc_status":${q(GRPC_STATUS_NAMES[a.grpc])}`;
  if (a.attempts > 1) line += `,"attempts":${a.attempts}`;
  if (a.fallback !== undefined) line += `,"fallback":${q(a.fallback)}`;
  if (a.err !== undefined) line += `,"err":${q(a.err)}`;
  return `${line}}\n`;
}

function write(log: AccessLog, a: Access): void {
  log.write(
    a.reqId,
    a.fragment,
    a.method,
    a.path,
    a.status,
    a.ms,
    a.bytes,
    a.attempts,
    a.fallback,
    a.err,
    a.grpc,
  );
}

const base: Access = {
  reqId: '3b241101-e2bb-4255-8caf-4136c566a962',
  fragment: AccessLog.fragment('users', 'candidate', 'rewrite'),
  method: 'GET',
  path: '/api/v1/user/42?full=1',
  status: 200,
  ms: 12.3,
  bytes: 5120,
  attempts: 1,
};

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'access-log-'));
  mock.timers.enable({ apis: ['Date', 'setTimeout'], now: Date.UTC(2026, 10, 30, 12, 0, 59, 7) });
});
afterEach(() => {
  mock.timers.reset();
  rmSync(dir, { recursive: true, force: true });
});

/** An AccessLog over a LineWriter on a fresh file, and that file's text. */
function fileLog(options: ConstructorParameters<typeof LineWriter>[1] = {}) {
  const file = join(dir, 'log.jsonl');
  const writer = new LineWriter(file, options);
  const log = new AccessLog(pino({}, writer));
  return { writer, log, text: () => readFileSync(file, 'utf8') };
}

/** `all` through an AccessLog over a LineWriter: the file holds exactly their lines. */
async function assertWritten(
  all: Access[],
  options: ConstructorParameters<typeof LineWriter>[1] = {},
) {
  const { writer, log, text } = fileLog(options);
  let want = '';
  for (const a of all) {
    write(log, a);
    want += expected(Date.now(), a);
  }
  await writer.flush();
  assert.equal(text(), want);
}

test('strings that need escaping are written as JSON.stringify writes them', async () => {
  await assertWritten([
    base,
    { ...base, path: '/a"quote' },
    { ...base, path: '/back\\slash' },
    { ...base, path: '/ctl\u0001\t\n\u001f' },
    { ...base, path: '/caf\u00e9/\u65e5\u672c/\u{1f600}' },
    { ...base, path: '/lone\ud800surrogate\udfff' },
    { ...base, path: '/del\u007f' },
    { ...base, path: '' },
    { ...base, reqId: 'client"id\\\n' },
    { ...base, fragment: AccessLog.fragment('r\u00e9sum\u00e9 "q"', 'legacy', 'l\u00e9gacy') },
    { ...base, fragment: AccessLog.fragment() },
    { ...base, fragment: AccessLog.fragment('only-route') },
    { ...base, attempts: 3, fallback: 'breaker-open', err: 'upstream said "no"\nat line 2' },
    { ...base, method: 'PROPFIND', err: '\u00fcber' },
  ]);
});

test('numbers are written as String(n) writes them', async () => {
  // biome-ignore format: a table of values
  const values = [0, -0, 1, 9, 10, 99, 100, 0.1, 0.5, 1.3, 9.9, 10.1, 12345.6, 99999999.9, 1e8,
    123456789, 2 ** 31, 2 ** 53, 1.25, 0.05, 1e21, -3, -1.5, Number.NaN, Number.POSITIVE_INFINITY];
  await assertWritten(values.map((v) => ({ ...base, status: v, ms: v, bytes: v, attempts: v })));
});

test('the time is the ISO time of each line, to the millisecond, across seconds', async () => {
  const { writer, log, text } = fileLog();
  let want = '';
  for (const step of [0, 1, 92, 900, 1, 2000, 999, 1, 60_000, 3_600_000 * 24 * 40]) {
    mock.timers.setTime(Date.now() + step);
    write(log, base);
    want += expected(Date.now(), base);
  }
  await writer.flush();
  assert.equal(text(), want);
});

test('the tunnel line: times, bytes each way and the reason', async () => {
  const { writer, log, text } = fileLog();
  log.tunnel(base.reqId, base.fragment, 61_234, 17, 4096, 'client');
  log.tunnel('a"b', AccessLog.fragment('ws'), 0, 0, 0, 'idle');
  await writer.flush();
  const t = new Date(Date.now()).toISOString();
  const head = `{"level":"info","time":"${t}","pid":${process.pid},"msg":"tunnel","reqId":`;
  assert.equal(
    text(),
    `${head}${q(base.reqId)}${base.fragment},"ms":61234,"bytesIn":17,"bytesOut":4096,"reason":"client"}\n` +
      `${head}${q('a"b')},"route":"ws","ms":0,"bytesIn":0,"bytesOut":0,"reason":"idle"}\n`,
  );
});

test('a logger whose destination is not a LineWriter gets the same lines as strings', () => {
  const lines: string[] = [];
  const log = new AccessLog(pino({}, { write: (line: string) => lines.push(line) }));
  const odd = { ...base, path: '/caf\u00e9"x"', err: 'e\n' };
  write(log, base);
  write(log, odd);
  assert.deepEqual(lines, [expected(Date.now(), base), expected(Date.now(), odd)]);
});

test('a gRPC call’s line names its status after the bytes; other lines have no such field', async () => {
  await assertWritten([
    { ...base, grpc: 0 },
    base,
    { ...base, grpc: 14, attempts: 2, fallback: 'grpc' },
    { ...base, grpc: 16, err: 'x' },
  ]);
});

test('a line longer than a whole buffer is written whole, in its place', async () => {
  const long = { ...base, path: `/${'x'.repeat(5000)}"${'\u00e9'.repeat(3000)}` };
  await assertWritten([base, long, base, long, long, base], { bufferBytes: 1024 });
});

test('many lines across many buffers: each once, in order, after flush()', async () => {
  const { writer, log, text } = fileLog({ bufferBytes: 4096 });
  let want = '';
  for (let i = 0; i < 5000; i++) {
    const a = { ...base, path: `/item/${i}${i % 97 === 0 ? '"q"' : ''}`, bytes: i, ms: i / 10 };
    write(log, a);
    want += expected(Date.now(), a);
    // pino's own lines share the writer and keep their place among the access lines
    if (i % 250 === 0) {
      writer.write(`{"msg":"other ${i}"}\n`);
      want += `{"msg":"other ${i}"}\n`;
    }
  }
  await writer.flush();
  assert.equal(text(), want);
});
