import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import {
  type CompareResult,
  type CompareRules,
  compareResponses,
  compileCompareRules,
  type ResponseSample,
} from '../../src/compare/index.ts';
import { ComparePool } from '../../src/compare/pool.ts';
import { CutoverError, InvalidArgumentError } from '../../src/errors.ts';

const run = promisify(execFile);
const JSON_CT = { 'content-type': 'application/json' };

function res(body: unknown, status = 200): ResponseSample {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  return { status, headers: JSON_CT, body: Buffer.from(text) };
}

/** A body in its own exactly-sized ArrayBuffer, as a buffered large answer is. */
function ownBuffer(text: string): Uint8Array {
  return new Uint8Array(Buffer.from(text));
}

function inProcess(
  legacy: ResponseSample,
  candidate: ResponseSample,
  rules: CompareRules = {},
  noisy?: readonly string[],
): CompareResult {
  return compareResponses(legacy, candidate, compileCompareRules(rules), {
    noisy: noisy && new Set(noisy),
  });
}

/** About 1 MiB of orders; `changed` decides which ones the candidate answers differently. */
function orders(changed: (i: number) => boolean): string {
  const items = [];
  for (let i = 0; i < 6000; i++) {
    items.push({
      id: `ord-${i}`,
      total: changed(i) ? i + 0.5 : i,
      lines: [{ sku: `sku-${i % 97}`, qty: (i % 5) + 1 }],
      updatedAt: '2024-05-01T10:00:00Z',
      note: 'x'.repeat(100),
    });
  }
  return JSON.stringify({ meta: { requestId: 'r-1', count: items.length }, items });
}

/** The pool's promise for a job it must accept. */
function accepted(job: Promise<CompareResult> | undefined): Promise<CompareResult> {
  assert.ok(job !== undefined, 'the pool refused the job');
  return job;
}

function paths(r: CompareResult): string[] {
  return r.differences.map((d) => `${d.kind} ${d.path}`);
}

describe('ComparePool', () => {
  const pool = new ComparePool({ size: 2 });
  after(() => pool.close());

  test('a small pair gives the same result as comparing in process', async () => {
    const legacy = res({ a: 1, b: [1, 2], c: 'x', gone: true }, 200);
    const candidate = res({ a: 2, b: [1], c: 'x', added: null }, 201);
    const expected = inProcess(legacy, candidate);
    const got = await accepted(pool.compare(legacy, candidate, {}));
    assert.deepEqual(got, expected);
    assert.deepEqual(paths(got), [
      'changed status',
      'changed $.a',
      'missing-in-candidate $.b[1]',
      'missing-in-candidate $.gone',
      'extra-in-candidate $.added',
    ]);
  });

  test('a ~1 MiB pair gives the same differences as comparing in process', async () => {
    const a = orders(() => false);
    const b = orders((i) => i % 1000 === 7);
    assert.ok(a.length > 1_000_000, `legacy body is ${a.length} bytes`);
    const expected = inProcess(res(a), res(b));
    const legacy = { status: 200, headers: JSON_CT, body: ownBuffer(a) };
    const candidate = { status: 200, headers: JSON_CT, body: ownBuffer(b) };
    const got = await accepted(pool.compare(legacy, candidate, {}));
    assert.deepEqual(got, expected);
    assert.equal(got.match, false);
    assert.deepEqual(
      got.differences.map((d) => d.path),
      [7, 1007, 2007, 3007, 4007, 5007].map((i) => `$.items[${i}].total`),
    );
  });

  test('ignore paths of the rules are honoured in the worker', async () => {
    const legacy = () => res({ meta: { requestId: 'a1', at: 1 }, items: [{ id: 1, seen: 'x' }] });
    const candidate = () =>
      res({ meta: { requestId: 'b2', at: 1 }, items: [{ id: 1, seen: 'y' }] });
    const strict = await accepted(pool.compare(legacy(), candidate(), {}));
    assert.deepEqual(paths(strict), ['changed $.meta.requestId', 'changed $.items[0].seen']);
    const rules: CompareRules = { ignore: ['$.meta.requestId', '$.items[*].seen'] };
    const lenient = await accepted(pool.compare(legacy(), candidate(), rules));
    assert.deepEqual(lenient, { match: true, differences: [], truncated: false });
    // The same rules again, from the worker's cache, and an equal copy of them.
    assert.equal((await accepted(pool.compare(legacy(), candidate(), rules))).match, true);
    assert.equal((await accepted(pool.compare(legacy(), candidate(), { ...rules }))).match, true);
  });

  test('noisy patterns are reported as noise and do not fail the match', async () => {
    const legacy = res({ id: 'a', items: [{ t: 1 }, { t: 2 }], price: 3 });
    const candidate = res({ id: 'b', items: [{ t: 5 }, { t: 6 }], price: 3 });
    const noisy = ['$.id', '$.items[*].t'];
    const got = await accepted(pool.compare(legacy, candidate, {}, noisy));
    assert.deepEqual(got, inProcess(legacy, candidate, {}, noisy));
    assert.equal(got.match, true);
    assert.deepEqual(
      got.differences.map((d) => `${d.path} ${d.noise}`),
      ['$.id true', '$.items[0].t true', '$.items[1].t true'],
    );
    const withSet = await accepted(
      pool.compare(res({ id: 'a' }), res({ id: 'b' }), {}, new Set(['$.id'])),
    );
    assert.equal(withSet.match, true);
    const notNoisy = await accepted(
      pool.compare(res({ id: 'a', n: 1 }), res({ id: 'b', n: 2 }), {}, noisy),
    );
    assert.equal(notNoisy.match, false);
  });

  test('rules that do not compile reject that job with InvalidArgumentError; the pool goes on', async () => {
    await assert.rejects(
      accepted(pool.compare(res({ a: 1 }), res({ a: 1 }), { floatPlaces: 99 })),
      {
        name: 'InvalidArgumentError',
        code: 'CUTOVER_ERR_INVALID_ARGUMENT',
        message: /floatPlaces/,
      },
    );
    await assert.rejects(
      accepted(pool.compare(res({ a: 1 }), res({ a: 1 }), { floatPlaces: 99 })),
      InvalidArgumentError,
    );
    assert.equal((await accepted(pool.compare(res({ a: 1 }), res({ a: 1 }), {}))).match, true);
  });

  test('many jobs at once all resolve, each with its own result', async () => {
    const many = new ComparePool({ size: 3, maxQueue: 200 });
    try {
      const jobs = Array.from({ length: 150 }, (_, i) =>
        many.compare(res({ n: i, same: 'x' }), res({ n: i + (i % 2), same: 'x' }), {}),
      );
      assert.ok(jobs.every((j) => j !== undefined));
      assert.ok(many.stats().workers <= 3);
      const results = await Promise.all(jobs);
      results.forEach((r, i) => {
        assert.equal(r.match, i % 2 === 0, `job ${i}`);
        if (i % 2 === 1) assert.deepEqual(r?.differences, [inProcessDiff(i)]);
      });
      assert.deepEqual(many.stats(), {
        workers: 3,
        queued: 0,
        inFlight: 0,
        completed: 150,
        rejected: 0,
        refused: 0,
      });
    } finally {
      await many.close();
    }
  });

  test('a full queue answers undefined, and the accepted jobs still resolve', async () => {
    const small = new ComparePool({ size: 1, maxQueue: 2 });
    try {
      const taken = [1, 2, 3].map((i) => small.compare(res({ i }), res({ i }), {}));
      assert.ok(taken.every((j) => j !== undefined));
      assert.deepEqual(small.stats(), {
        workers: 1,
        queued: 2,
        inFlight: 1,
        completed: 0,
        rejected: 0,
        refused: 0,
      });
      assert.equal(small.compare(res({ i: 4 }), res({ i: 4 }), {}), undefined);
      assert.equal(small.stats().refused, 1);
      for (const r of await Promise.all(taken)) assert.equal(r?.match, true);
      // Room again once the queue drained.
      assert.equal((await accepted(small.compare(res({ i: 5 }), res({ i: 6 }), {}))).match, false);
    } finally {
      await small.close();
    }
  });

  test('a body in its own buffer is handed over; a view into a larger buffer is copied', async () => {
    const own = ownBuffer('{"a":1}');
    const backing = Buffer.from('xx{"a":2}yy');
    const view = backing.subarray(2, 9);
    const got = await accepted(
      pool.compare(
        { status: 200, headers: JSON_CT, body: own },
        { status: 200, headers: JSON_CT, body: view },
        {},
      ),
    );
    assert.deepEqual(paths(got), ['changed $.a']);
    assert.equal(own.byteLength, 0, 'the whole buffer moved to the worker');
    assert.equal(backing.toString(), 'xx{"a":2}yy', 'the larger buffer is left as it was');
  });

  test('a worker that dies rejects its job, and a new worker takes the next one', async () => {
    // A heap far too small for a 20 MB document: V8 stops that worker.
    const tight = new ComparePool({ resourceLimits: { maxOldGenerationSizeMb: 32 } });
    try {
      const big = JSON.stringify(Array.from({ length: 400_000 }, (_, i) => ({ id: i, v: [i] })));
      const doomed = accepted(tight.compare(res(big), res(big), {}));
      const queued = accepted(tight.compare(res({ a: 1 }), res({ a: 2 }), {}));
      await assert.rejects(doomed, (err) => {
        assert.ok(err instanceof CutoverError);
        assert.equal(err.code, 'CUTOVER_ERR_INTERNAL');
        assert.match(err.message, /compare worker stopped/);
        return true;
      });
      assert.deepEqual(paths(await queued), ['changed $.a']);
      assert.equal((await accepted(tight.compare(res({ a: 1 }), res({ a: 1 }), {}))).match, true);
      assert.deepEqual(tight.stats(), {
        workers: 1,
        queued: 0,
        inFlight: 0,
        completed: 2,
        rejected: 1,
        refused: 0,
      });
    } finally {
      await tight.close();
    }
  });

  test('close() rejects queued jobs, ends the workers, and later calls answer undefined', async () => {
    const closing = new ComparePool({ size: 1, maxQueue: 4 });
    const running = accepted(closing.compare(res({ a: 1 }), res({ a: 1 }), {}));
    const waiting = accepted(closing.compare(res({ a: 1 }), res({ a: 1 }), {}));
    const settled = Promise.allSettled([running, waiting]);
    await closing.close();
    const [first, second] = await settled;
    assert.equal(second.status, 'rejected');
    assert.match(String((second as PromiseRejectedResult).reason), /pool closed/);
    // The running job either finished before the worker stopped or was rejected.
    assert.ok(first.status === 'rejected' || first.value.match);
    assert.equal(closing.stats().workers, 0);
    assert.equal(closing.compare(res({ a: 1 }), res({ a: 1 }), {}), undefined);
  });
});

function inProcessDiff(i: number) {
  return inProcess(res({ n: i }), res({ n: i + 1 })).differences[0];
}

describe('ComparePool and the process lifetime', () => {
  const poolUrl = new URL('../../src/compare/pool.ts', import.meta.url).href;
  let dir = '';
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cutover-pool-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));
  const script = (tail: string) => `
    import { ComparePool } from ${JSON.stringify(poolUrl)};
    const pool = new ComparePool({ size: 2 });
    const ct = { 'content-type': 'application/json' };
    const r = await pool.compare(
      { status: 200, headers: ct, body: Buffer.from('{"a":1}') },
      { status: 200, headers: ct, body: Buffer.from('{"a":2}') },
      {},
    );
    console.log(JSON.stringify({ match: r.match, workers: pool.stats().workers }));
    ${tail}
  `;

  for (const [name, tail, workersAfter] of [
    [
      'after close() the process exits',
      'await pool.close(); console.log(pool.stats().workers);',
      '0',
    ],
    ['idle workers do not keep the process alive, even without close()', '', undefined],
  ] as const) {
    test(name, { timeout: 30_000 }, async () => {
      // A file, not `-e`: workers inherit `--input-type`, which stops them loading theirs.
      const file = join(dir, `${workersAfter === undefined ? 'open' : 'closed'}.mjs`);
      await writeFile(file, script(tail));
      const { stdout } = await run(process.execPath, [file]);
      const lines = stdout.trim().split('\n');
      assert.deepEqual(JSON.parse(lines[0]), { match: false, workers: 1 });
      assert.equal(lines[1], workersAfter);
    });
  }
});
