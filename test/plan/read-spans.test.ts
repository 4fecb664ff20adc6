import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { type PlanSpan, readSpans, type SpanProblem } from '../../src/plan/index.ts';
import { jaegerJson, otlpJsonLines, ROWS, TRACE_ID, zipkinJson } from './trace-fixtures.ts';

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'cutover-plan-'));
}

async function collect(inputs: string[], stdin?: Readable) {
  const spans: PlanSpan[] = [];
  const problems: SpanProblem[] = [];
  const summary = await readSpans(inputs, {
    onSpan: (s) => {
      spans.push(s);
    },
    onProblem: (p) => problems.push(p),
    stdin,
  });
  spans.sort((a, b) => a.spanId.localeCompare(b.spanId));
  return { spans, problems, summary };
}

test('the same traces in Zipkin, Jaeger and OTLP JSON lines give the same spans', async () => {
  const dir = tempDir();
  writeFileSync(join(dir, 'z.json'), zipkinJson());
  writeFileSync(join(dir, 'j.json'), jaegerJson());
  writeFileSync(join(dir, 'o.jsonl'), otlpJsonLines());
  const z = await collect([join(dir, 'z.json')]);
  const j = await collect([join(dir, 'j.json')]);
  const o = await collect([join(dir, 'o.jsonl')]);
  assert.equal(z.summary.files[0].format, 'zipkin');
  assert.equal(j.summary.files[0].format, 'jaeger');
  assert.equal(o.summary.files[0].format, 'otlp');
  assert.equal(z.spans.length, ROWS.length);
  assert.deepEqual(j.spans, z.spans);
  assert.deepEqual(o.spans, z.spans);
  const db = z.spans.find((s) => s.attributes['db.system'] === 'postgresql');
  assert.deepEqual(db, {
    traceId: TRACE_ID,
    spanId: '00000000000000a4',
    parentId: '00000000000000a3',
    service: 'orders',
    name: 'SELECT orders',
    kind: 'client',
    startUs: 1_700_000_000_000_300,
    durationUs: 1000,
    remoteService: 'postgres',
    attributes: {
      'db.system': 'postgresql',
      'db.name': 'shop',
      'db.sql.table': 'orders',
      'peer.service': 'postgres',
    },
  });
  assert.equal(z.spans.find((s) => s.spanId === '00000000000000a5')?.remoteService, 'payments');
});

test('OTLP as one pretty-printed document with several resources reads the same spans', async () => {
  const dir = tempDir();
  const docs = otlpJsonLines()
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { resourceSpans: unknown[] });
  writeFileSync(
    join(dir, 'one.json'),
    JSON.stringify({ resourceSpans: docs.flatMap((d) => d.resourceSpans) }, null, 2),
  );
  writeFileSync(join(dir, 'z.json'), zipkinJson());
  const o = await collect([join(dir, 'one.json')]);
  const z = await collect([join(dir, 'z.json')]);
  assert.equal(o.summary.files[0].format, 'otlp');
  assert.deepEqual(o.spans, z.spans);
});

test('a folder is read file by file in sorted order, .json and .jsonl only', async () => {
  const dir = tempDir();
  mkdirSync(join(dir, 'sub'));
  writeFileSync(join(dir, 'b.json'), jaegerJson());
  writeFileSync(join(dir, 'a.json'), zipkinJson());
  writeFileSync(join(dir, 'sub', 'c.jsonl'), otlpJsonLines());
  writeFileSync(join(dir, 'notes.txt'), 'not a trace');
  const { summary } = await collect([dir]);
  assert.deepEqual(
    summary.files.map((f) => [f.file, f.format, f.spans]),
    [
      [join(dir, 'a.json'), 'zipkin', 6],
      [join(dir, 'b.json'), 'jaeger', 6],
      [join(dir, 'sub', 'c.jsonl'), 'otlp', 6],
    ],
  );
  assert.equal(summary.spans, 18);
});

test('`-` reads stdin, in small chunks cut anywhere', async () => {
  const text = Buffer.from(jaegerJson());
  const chunks: Buffer[] = [];
  for (let i = 0; i < text.length; i += 7) chunks.push(text.subarray(i, i + 7));
  const { spans, summary } = await collect(['-'], Readable.from(chunks));
  assert.equal(summary.files[0].file, '-');
  assert.equal(summary.files[0].format, 'jaeger');
  assert.equal(spans.length, ROWS.length);
});

test('`-` reads the process stdin when no stream is given (a child process fed a pipe)', async () => {
  const index = new URL('../../src/plan/index.ts', import.meta.url).href;
  const code = `import { readSpans } from ${JSON.stringify(index)};
    const s = await readSpans(['-'], { onSpan: () => {} });
    console.log(JSON.stringify([s.files[0].format, s.spans]));`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', code], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  child.stdin.end(otlpJsonLines());
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => {
    out += d;
  });
  const [status] = await once(child, 'close');
  assert.equal(status, 0);
  assert.deepEqual(JSON.parse(out), ['otlp', ROWS.length]);
});

test('a malformed span is an error naming the file, the span index, its id and the byte offset', async () => {
  const dir = tempDir();
  const file = join(dir, 'bad.json');
  const good = JSON.parse(zipkinJson()) as object[];
  const text = `[${JSON.stringify(good[0])},{"traceId":"ab","id":"beef", "name": oops}]`;
  writeFileSync(file, text);
  const seen: PlanSpan[] = [];
  await assert.rejects(
    readSpans([file], { onSpan: (s) => void seen.push(s) }),
    (err: Error & { code: string }) => {
      assert.equal(err.code, 'CUTOVER_ERR_TRACE_FILE');
      assert.match(err.message, new RegExp(`${file.replaceAll('/', '\\/')}`));
      assert.match(
        err.message,
        new RegExp(`span 1 \\(id beef\\) at byte ${text.indexOf('{"traceId":"ab"')} is malformed`),
      );
      return true;
    },
  );
  assert.equal(seen.length, 1);
});

test('a truncated file is an error with the byte offset where it stopped', async () => {
  const dir = tempDir();
  const file = join(dir, 'cut.json');
  const text = zipkinJson().slice(0, 400);
  writeFileSync(file, text);
  await assert.rejects(readSpans([file], { onSpan: () => {} }), (err: Error & { code: string }) => {
    assert.equal(err.code, 'CUTOVER_ERR_TRACE_FILE');
    assert.match(err.message, new RegExp(`truncated at byte ${Buffer.byteLength(text)}`));
    return true;
  });
});

test('an empty export is read as its format with no spans', async () => {
  const dir = tempDir();
  writeFileSync(join(dir, 'z.json'), '[]');
  writeFileSync(join(dir, 'j.json'), '{"data":[],"total":0}');
  const { summary } = await collect([join(dir, 'j.json'), join(dir, 'z.json')]);
  assert.deepEqual(
    summary.files.map((f) => [f.format, f.spans]),
    [
      ['jaeger', 0],
      ['zipkin', 0],
    ],
  );
});

test('content of no known format, a missing file and mismatched brackets are errors', async () => {
  const dir = tempDir();
  writeFileSync(join(dir, 'other.json'), '{"hello":[1,2]}');
  writeFileSync(join(dir, 'brackets.json'), '[{"a":1]]');
  await assert.rejects(
    readSpans([join(dir, 'other.json')], { onSpan: () => {} }),
    /not a trace export/,
  );
  await assert.rejects(
    readSpans([join(dir, 'brackets.json')], { onSpan: () => {} }),
    /unexpected \] at byte 7/,
  );
  await assert.rejects(
    readSpans([join(dir, 'missing.json')], { onSpan: () => {} }),
    /CUTOVER_ERR|ENOENT/,
  );
});

test('spans missing fields are counted by reason and reported, not dropped silently', async () => {
  const dir = tempDir();
  const file = join(dir, 'gaps.json');
  writeFileSync(
    file,
    JSON.stringify([
      { traceId: 'aa', id: '1', timestamp: 1, localEndpoint: { serviceName: 's' } },
      { id: '2', timestamp: 1, localEndpoint: { serviceName: 's' } },
      { traceId: 'aa', id: '3', timestamp: 1 },
      { traceId: 'aa', id: '4', timestamp: 1, localEndpoint: {} },
      { traceId: 'aa', localEndpoint: { serviceName: 's' }, timestamp: 1 },
      { traceId: 'aa', id: '6', localEndpoint: { serviceName: 's' } },
      'a string',
    ]),
  );
  const { spans, problems, summary } = await collect([file]);
  assert.equal(spans.length, 1);
  assert.deepEqual(summary.skipped, {
    'no traceId': 1,
    'no service': 2,
    'no spanId': 1,
    'no start time': 1,
    'not an object': 1,
  });
  assert.deepEqual(
    problems.map((p) => [p.reason, p.index, p.spanId]),
    [
      ['no traceId', 1, '2'],
      ['no service', 2, '3'],
      ['no service', 3, '4'],
      ['no spanId', 4, undefined],
      ['no start time', 5, '6'],
      ['not an object', 6, undefined],
    ],
  );
});

test("Zipkin's list of traces (a saved GET /api/v2/traces answer) reads the same spans as the flat list", async () => {
  const dir = tempDir();
  const flat = JSON.parse(zipkinJson()) as { id: string }[];
  // Two traces and an empty one, as the query API answers.
  const traces = [flat.slice(0, 2), [], flat.slice(2)];
  writeFileSync(join(dir, 'traces.json'), JSON.stringify(traces));
  writeFileSync(join(dir, 'z.json'), zipkinJson());
  const listed = await collect([join(dir, 'traces.json')]);
  const z = await collect([join(dir, 'z.json')]);
  assert.equal(listed.summary.files[0].format, 'zipkin');
  assert.deepEqual(listed.problems, []);
  assert.deepEqual(listed.spans, z.spans);
});
