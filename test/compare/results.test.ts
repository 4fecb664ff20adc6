import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type DemoBackends, startDemoBackends } from '../../src/cli/demo-backends.ts';
import {
  type CompiledCompareRules,
  compareResponses,
  compileCompareRules,
  fixedNoise,
  REDACTED,
  Redactor,
  type ResponseSample,
  restoredSamples,
  type ShadowPair,
  ShadowResults,
} from '../../src/compare/index.ts';
import { jsonSample } from '../helpers/samples.ts';

const rules = compileCompareRules();
/** The demo's per-answer noise, as noise learning would find it. */
const noisy = new Set(['$.meta.requestId', '$.meta.servedAt']);

let demo: DemoBackends;
before(async () => {
  demo = await startDemoBackends({ legacyPort: 0, rewritePort: 0 });
});
after(() => demo.close());

async function fetchSample(url: string): Promise<ResponseSample> {
  const res = await fetch(url);
  return {
    status: res.status,
    headers: Object.fromEntries(res.headers),
    body: new Uint8Array(await res.arrayBuffer()),
  };
}

const secretHeaders = {
  authorization: 'Bearer secret-token-1',
  cookie: 'sid=secret-cookie-2',
  'x-user-id': '42',
};

/** Sends `path` to both demo services, as the gateway's shadow copy does. */
async function demoPair(path: string, legacyMs = 30, candidateMs = 5): Promise<ShadowPair> {
  const [legacy, candidate] = await Promise.all([
    fetchSample(demo.legacy.url + path),
    fetchSample(demo.rewrite.url + path),
  ]);
  return {
    method: 'GET',
    url: path,
    requestHeaders: secretHeaders,
    legacy,
    candidate,
    legacyMs,
    candidateMs,
  };
}

function pairOf(url: string, legacy: ResponseSample, candidate: ResponseSample): ShadowPair {
  return {
    method: 'GET',
    url,
    requestHeaders: secretHeaders,
    legacy,
    candidate,
    legacyMs: 10,
    candidateMs: 12,
  };
}

function recordPair(r: ShadowResults, pair: ShadowPair, compiled: CompiledCompareRules = rules) {
  r.record(pair, compareResponses(pair.legacy, pair.candidate, compiled, { noisy }));
}

const ordersOf = (total: unknown) => ({
  user: '7',
  orders: [{ id: 'ord-1', total, currency: 'EUR' }],
});

describe('ShadowResults on the demo services', () => {
  test('counts matches and mismatches; the order total is a type difference, meta is noise', async () => {
    const results = new ShadowResults({
      route: 'orders',
      samples: 10,
      compiled: rules,
      noise: fixedNoise(noisy),
    });
    for (const id of ['1', '2', '3']) recordPair(results, await demoPair(`/api/v1/user/${id}`));
    const orderPairs = [
      await demoPair('/api/v1/orders?user=42'),
      await demoPair('/api/v1/orders?user=77'),
    ];
    for (const p of orderPairs) recordPair(results, p);
    const orderCount = orderPairs
      .map(
        (p) =>
          (JSON.parse(Buffer.from(p.legacy.body).toString()) as { orders: unknown[] }).orders
            .length,
      )
      .reduce((a, b) => a + b, 0);

    const json = results.toJSON();
    assert.deepEqual(json.summary, {
      route: 'orders',
      compared: 5,
      matched: 3,
      mismatched: 2,
      skipped: {
        too_large: 0,
        dropped: 0,
        candidate_error: 0,
        legacy_error: 0,
        method: 0,
        memory: 0,
        streaming: 0,
      },
      mismatchRatio: 0.4,
      settled: true,
      overflowPairs: 0,
    });
    assert.equal(json.fields[0].pattern, '$.orders[*].total');
    // Counted in pairs (as the mismatches are); kinds count every differing index.
    assert.equal(json.fields[0].raw, 2);
    assert.equal(json.fields[0].noise, 0);
    assert.deepEqual(json.fields[0].kinds, { type: orderCount });
    assert.equal(typeof json.fields[0].lastLegacy, 'number');
    assert.match(json.fields[0].lastCandidate as string, /^\d+\.\d\d$/);
    assert.equal(Number(json.fields[0].lastCandidate), json.fields[0].lastLegacy);

    const requestId = json.fields.find((f) => f.pattern === '$.meta.requestId');
    assert.deepEqual(
      { raw: requestId?.raw, noise: requestId?.noise, kinds: requestId?.kinds },
      { raw: 0, noise: 5, kinds: { changed: 5 } },
    );
    // Fields sorted by raw count, then pattern.
    assert.deepEqual(
      json.fields.map((f) => f.pattern),
      ['$.orders[*].total', '$.meta.requestId', '$.meta.servedAt'],
    );

    // Only the two mismatches are samples, newest first, with the body diff.
    assert.deepEqual(
      json.samples.map((s) => s.url),
      ['/api/v1/orders?user=77', '/api/v1/orders?user=42'],
    );
    const s = json.samples[0];
    assert.equal(s.method, 'GET');
    assert.equal(s.legacyStatus, 200);
    assert.equal(s.candidateStatus, 200);
    assert.equal(s.legacyMs, 30);
    assert.equal(s.candidateMs, 5);
    assert.ok(!Number.isNaN(Date.parse(s.at)));
    assert.match(s.diff, /^--- legacy\n\+\+\+ candidate\n@@ /);
    assert.match(s.diff, /^- {6}"total": \d+(\.\d+)?,?$/m);
    assert.match(s.diff, /^\+ {6}"total": "\d+\.\d\d",?$/m);
    assert.ok(s.differences.some((d) => d.pattern === '$.orders[*].total' && d.kind === 'type'));
    assert.ok(s.differences.some((d) => d.pattern === '$.meta.requestId' && d.noise === true));
    assert.equal(s.requestHeaders['x-user-id'], '42');
    assert.equal(s.requestHeaders.authorization, REDACTED);
    assert.equal(s.requestHeaders.cookie, REDACTED);

    const text = JSON.stringify(json);
    assert.doesNotMatch(text, /secret-token|secret-cookie/);
    // What the admin API sends survives a JSON round trip unchanged.
    assert.deepEqual(JSON.parse(text), JSON.parse(JSON.stringify(JSON.parse(text))));
  });
});

describe('ShadowResults bounds and redaction', () => {
  test('keeps only the newest N mismatch samples, newest first; matches are never samples', () => {
    const results = new ShadowResults({ route: 'r', samples: 2, compiled: rules });
    for (let i = 1; i <= 5; i++) {
      recordPair(
        results,
        pairOf(`/o/${i}`, jsonSample(ordersOf(19.9)), jsonSample(ordersOf('19.90'))),
      );
      recordPair(
        results,
        pairOf(`/same/${i}`, jsonSample(ordersOf(19.9)), jsonSample(ordersOf(19.9))),
      );
    }
    const json = results.toJSON();
    assert.equal(json.summary.compared, 10);
    assert.equal(json.summary.mismatched, 5);
    assert.equal(json.summary.mismatchRatio, 0.5);
    assert.deepEqual(
      json.samples.map((s) => s.url),
      ['/o/5', '/o/4'],
    );
    assert.equal(
      json.samples[0].diff,
      [
        '--- legacy',
        '+++ candidate',
        '@@ -3,7 +3,7 @@',
        '     {',
        '       "currency": "EUR",',
        '       "id": "ord-1",',
        '-      "total": 19.9',
        '+      "total": "19.90"',
        '     }',
        '   ],',
        '   "user": "7"',
      ].join('\n'),
    );
    assert.deepEqual(json.fields, [
      {
        pattern: '$.orders[*].total',
        raw: 5,
        noise: 0,
        kinds: { type: 5 },
        lastLegacy: 19.9,
        lastCandidate: '19.90',
      },
    ]);
  });

  test('samples: 0 keeps counts and no samples', () => {
    const results = new ShadowResults({ route: 'r', samples: 0, compiled: rules });
    recordPair(results, pairOf('/o', jsonSample(ordersOf(1)), jsonSample(ordersOf(2))));
    const json = results.toJSON();
    assert.equal(json.summary.mismatched, 1);
    assert.deepEqual(json.samples, []);
    assert.equal(json.fields[0].raw, 1);
  });

  test('redacted paths and headers never reach fields, samples or diffs', () => {
    const redactor = new Redactor({
      paths: ['$.orders[*].total', '$.user'],
      headers: ['X-Api-Key'],
    });
    const compiled = compileCompareRules({ headers: ['content-type', 'x-api-key'] });
    const results = new ShadowResults({ route: 'r', samples: 5, compiled, redactor });
    const legacy: ResponseSample = {
      status: 200,
      headers: { 'content-type': 'application/json', 'x-api-key': 'secret-key-3' },
      body: Buffer.from(
        JSON.stringify({ user: 'secret-user-4', orders: [{ id: 1, total: 19.9 }], n: 1 }),
      ),
    };
    const candidate: ResponseSample = {
      status: 200,
      headers: { 'content-type': 'application/json', 'x-api-key': 'secret-key-5' },
      body: Buffer.from(
        JSON.stringify({ user: 'secret-user-6', orders: [{ id: 1, total: '19.90' }], n: 2 }),
      ),
    };
    const pair = {
      ...pairOf('/o', legacy, candidate),
      requestHeaders: { ...secretHeaders, 'x-api-key': 'secret-key-7' },
    };
    results.record(pair, compareResponses(legacy, candidate, compiled));
    const json = results.toJSON();
    const text = JSON.stringify(json);
    assert.doesNotMatch(text, /secret-|19\.9/);
    const byPattern = Object.fromEntries(json.fields.map((f) => [f.pattern, f]));
    assert.equal(byPattern['$.orders[*].total'].lastLegacy, REDACTED);
    assert.equal(byPattern['$.orders[*].total'].lastCandidate, REDACTED);
    assert.equal(byPattern['$.user'].lastLegacy, REDACTED);
    assert.equal(byPattern['header:x-api-key'].lastCandidate, REDACTED);
    // Fields outside the redaction rules are shown as they are.
    assert.equal(byPattern['$.n'].lastLegacy, 1);
    assert.equal(byPattern['$.n'].lastCandidate, 2);
    assert.match(json.samples[0].diff, /^- {2}"n": 1,$/m);
    assert.equal(json.samples[0].requestHeaders['x-api-key'], REDACTED);
  });

  test('long values are cut to 200 characters', () => {
    const results = new ShadowResults({ route: 'r', samples: 1, compiled: rules });
    const long = 'x'.repeat(1000);
    const big = { list: Array.from({ length: 100 }, (_, i) => i) };
    recordPair(
      results,
      pairOf('/o', jsonSample({ s: long, o: big }), jsonSample({ s: 'y', o: 1 })),
    );
    const json = results.toJSON();
    const s = json.fields.find((f) => f.pattern === '$.s');
    const o = json.fields.find((f) => f.pattern === '$.o');
    const sText = String(s?.lastLegacy);
    const oText = String(o?.lastLegacy);
    assert.equal(sText.length, 200);
    assert.ok(sText.endsWith('…'));
    assert.equal(typeof o?.lastLegacy, 'string');
    assert.ok(oText.startsWith('{"list":[0,1,2'));
    assert.equal(oText.length, 200);
    assert.equal(o?.lastCandidate, 1);
  });

  test('non-JSON bodies get a size note instead of a diff; status-only mismatches an empty diff', () => {
    const results = new ShadowResults({ route: 'r', samples: 5, compiled: rules });
    const text = (s: string, status = 200): ResponseSample => ({
      status,
      headers: { 'content-type': 'text/plain' },
      body: Buffer.from(s),
    });
    recordPair(results, pairOf('/t', text('hello'), text('hello world')));
    recordPair(results, pairOf('/s', jsonSample({ a: 1 }), jsonSample({ a: 1 }, 500)));
    const [statusOnly, plain] = results.toJSON().samples;
    assert.equal(
      plain.diff,
      'body not compared as JSON (text/plain): legacy 5 bytes, candidate 11 bytes',
    );
    assert.equal(statusOnly.diff, '');
    assert.equal(statusOnly.candidateStatus, 500);
    assert.deepEqual(statusOnly.differences, [
      { path: 'status', pattern: 'status', kind: 'changed', legacy: 200, candidate: 500 },
    ]);
  });

  test('a sample holds at most 20 differences', () => {
    const results = new ShadowResults({ route: 'r', samples: 1, compiled: rules });
    const many = (v: number) =>
      Object.fromEntries(Array.from({ length: 30 }, (_, i) => [`k${i}`, v]));
    recordPair(results, pairOf('/m', jsonSample(many(1)), jsonSample(many(2))));
    const json = results.toJSON();
    assert.equal(json.samples[0].differences.length, 20);
    assert.equal(json.fields.length, 30);
  });

  test('skips are counted by reason and are not compared pairs', () => {
    const results = new ShadowResults({ route: 'r', samples: 1, compiled: rules });
    assert.equal(results.summary().mismatchRatio, 0);
    results.recordSkip('too_large');
    results.recordSkip('dropped');
    results.recordSkip('dropped');
    results.recordSkip('method');
    const s = results.summary();
    assert.deepEqual(s.skipped, {
      too_large: 1,
      dropped: 2,
      candidate_error: 0,
      legacy_error: 0,
      method: 1,
      memory: 0,
      streaming: 0,
    });
    assert.equal(s.compared, 0);
    assert.equal(s.mismatchRatio, 0);
  });

  test('rejects a bad samples count', () => {
    assert.throws(() => new ShadowResults({ route: 'r', samples: -1, compiled: rules }), /samples/);
  });
});

describe('ShadowResults paired latency', () => {
  const match = compareResponses(jsonSample({}), jsonSample({}), rules);
  const timed = (legacyMs: number, candidateMs: number): ShadowPair => ({
    ...pairOf('/l', jsonSample({}), jsonSample({})),
    legacyMs,
    candidateMs,
  });

  test('no pairs: null percentiles', () => {
    const results = new ShadowResults({ route: 'r', samples: 1, compiled: rules });
    assert.deepEqual(results.toJSON().latency, {
      pairs: 0,
      legacy: { p50: null, p95: null, p99: null },
      candidate: { p50: null, p95: null, p99: null },
      ratio: { p50: null, p95: null, p99: null },
    });
  });

  test('percentiles of 1..100 ms, the candidate twice as slow', () => {
    const results = new ShadowResults({ route: 'r', samples: 1, compiled: rules });
    // Shuffled order: percentiles must not depend on arrival order.
    const values = Array.from({ length: 100 }, (_, i) => ((i * 37) % 100) + 1);
    for (const v of values) results.record(timed(v, 2 * v), match);
    assert.deepEqual(results.toJSON().latency, {
      pairs: 100,
      legacy: { p50: 50, p95: 95, p99: 99 },
      candidate: { p50: 100, p95: 190, p99: 198 },
      ratio: { p50: 2, p95: 2, p99: 2 },
    });
  });

  test('the window keeps the newest values only', () => {
    const results = new ShadowResults({
      route: 'r',
      samples: 1,
      compiled: rules,
      latencyWindow: 100,
    });
    for (let i = 0; i < 50; i++) results.record(timed(10_000, 1), match);
    for (let v = 1; v <= 100; v++) results.record(timed(v, v / 2), match);
    const latency = results.toJSON().latency;
    assert.equal(latency.pairs, 100);
    assert.deepEqual(latency.legacy, { p50: 50, p95: 95, p99: 99 });
    assert.deepEqual(latency.ratio, { p50: 0.5, p95: 0.5, p99: 0.5 });
    assert.equal(results.summary().compared, 150);
  });

  test('a zero legacy time has no ratio', () => {
    const results = new ShadowResults({ route: 'r', samples: 1, compiled: rules });
    results.record(timed(0, 5), match);
    results.record(timed(4, 2), match);
    const latency = results.toJSON().latency;
    assert.equal(latency.pairs, 2);
    assert.deepEqual(latency.ratio, { p50: 0.5, p95: 0.5, p99: 0.5 });
    assert.deepEqual(latency.candidate, { p50: 2, p95: 5, p99: 5 });
  });
});

describe('restoredSamples', () => {
  test('keeps what has the shape of a sample, drops the rest (the state store is an edge)', () => {
    const results = new ShadowResults({ route: 'r', samples: 1, compiled: rules });
    const a = jsonSample({ v: 1 });
    const b = jsonSample({ v: 2 });
    results.record(pairOf('/x', a, b), compareResponses(a, b, rules));
    const [good] = results.samples();
    assert.deepEqual(restoredSamples([good, { at: 'x' }, null, 'text']), [good]);
    assert.deepEqual(restoredSamples({ not: 'a list' }), []);
    assert.deepEqual(restoredSamples(undefined), []);
  });
});
