import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { formatDiffs } from '../../src/cli/diffs-format.ts';
import {
  compareResponses,
  compileCompareRules,
  fixedNoise,
  type ShadowPair,
  ShadowResults,
} from '../../src/compare/index.ts';
import { jsonSample } from '../helpers/samples.ts';

const rules = compileCompareRules();

const orders = (total: unknown, requestId: string) => ({
  orders: [{ id: 'ord-1', total }],
  meta: { requestId },
});

function pair(
  url: string,
  legacyBody: unknown,
  candidateBody: unknown,
  legacyMs: number,
): ShadowPair {
  return {
    method: 'GET',
    url,
    requestHeaders: { authorization: 'Bearer secret-token' },
    legacy: jsonSample(legacyBody),
    candidate: jsonSample(candidateBody),
    legacyMs,
    candidateMs: legacyMs / 2,
  };
}

/** 8 pairs: 4 with the demo's total bug, 4 matching; requestId is noise throughout. */
function demoResults(): ShadowResults {
  const noisy = new Set(['$.meta.requestId']);
  const results = new ShadowResults({
    route: 'orders',
    samples: 10,
    compiled: rules,
    noise: fixedNoise(noisy),
  });
  for (let i = 1; i <= 8; i++) {
    const p =
      i % 2 === 0
        ? pair(`/api/v1/orders?user=${i}`, orders(19.9, `a${i}`), orders('19.90', `b${i}`), i * 10)
        : pair(`/api/v1/user/${i}`, orders(5, `a${i}`), orders(5, `b${i}`), i * 10);
    results.record(p, compareResponses(p.legacy, p.candidate, rules, { noisy }));
  }
  results.recordSkip('too_large');
  results.recordSkip('dropped');
  results.recordSkip('dropped');
  return results;
}

describe('formatDiffs', () => {
  test('summary line with counts, mismatch percent and skips by reason', () => {
    const text = formatDiffs(demoResults().toJSON());
    assert.equal(
      text.split('\n')[0],
      'route orders: compared 8, matched 4, mismatched 4 (50.0%), skipped 3 (too_large 1, dropped 2)',
    );
  });

  test('field table aligned in columns, real differences first', () => {
    const lines = formatDiffs(demoResults().toJSON()).split('\n');
    const header = lines.findIndex((l) => l.startsWith('FIELD'));
    assert.ok(header > 0);
    const [head, total, requestId] = lines.slice(header, header + 3);
    assert.match(head, /^FIELD\s+RAW\s+NOISE\s+KINDS\s+LAST LEGACY → LAST CANDIDATE$/);
    assert.match(total, /^\$\.orders\[\*\]\.total\s+4\s+0\s+type:4\s+19\.9 → "19\.90"$/);
    assert.match(requestId, /^\$\.meta\.requestId\s+0\s+8\s+changed:8\s+"a8" → "b8"$/);
    for (const column of ['RAW', 'NOISE', 'KINDS', 'LAST LEGACY']) {
      const at = head.indexOf(column);
      assert.notEqual(total[at - 1], undefined);
      assert.equal(total[at - 1], ' ', `${column} column starts after a space`);
      assert.notEqual(total[at], ' ', `${column} column value starts at its header`);
      assert.notEqual(requestId[at], ' ', `${column} column value starts at its header`);
    }
  });

  test('paired latency table', () => {
    const text = formatDiffs(demoResults().toJSON());
    assert.match(text, /paired latency \(8 pairs\)/);
    assert.match(text, /^LATENCY\s+LEGACY\s+CANDIDATE\s+RATIO$/m);
    // Legacy 10..80 ms, candidate half of it.
    assert.match(text, /^p50\s+40 ms\s+20 ms\s+0\.50×$/m);
    assert.match(text, /^p99\s+80 ms\s+40 ms\s+0\.50×$/m);
  });

  test('the newest 3 samples with request line, statuses and diff; no colours, no secrets', () => {
    const text = formatDiffs(demoResults().toJSON());
    assert.match(text, /newest 3 of 4 mismatch samples/);
    const requestLines = text.match(/^\S+ {2}GET \/api\/v1\/orders\?user=\d$/gm) ?? [];
    assert.deepEqual(
      requestLines.map((l) => l.slice(l.indexOf('GET'))),
      ['GET /api/v1/orders?user=8', 'GET /api/v1/orders?user=6', 'GET /api/v1/orders?user=4'],
    );
    assert.match(text, /^ {2}status 200 → 200, 80 ms → 40 ms$/m);
    assert.match(text, /^ {2}- {6}"total": 19\.9$/m);
    assert.match(text, /^ {2}\+ {6}"total": "19\.90"$/m);
    assert.doesNotMatch(text, /user=2/);
    assert.ok(!text.includes('\u001b'), 'no ANSI escapes');
    assert.doesNotMatch(text, /secret-token/);
  });

  test('a route with nothing compared yet', () => {
    const results = new ShadowResults({ route: 'idle', samples: 5, compiled: rules });
    const text = formatDiffs(results.toJSON());
    assert.equal(
      text,
      [
        'route idle: compared 0, matched 0, mismatched 0 (0.0%), skipped 0',
        '',
        'paired latency: no pairs yet',
        '',
        'no field differences',
      ].join('\n'),
    );
  });
});

describe('formatDiffs while noise is learned', () => {
  test('says the ratio may still fall until the figures are settled, and counts overflowed pairs', () => {
    const json = demoResults().toJSON();
    const unsettled = formatDiffs({
      ...json,
      summary: { ...json.summary, settled: false, overflowPairs: 3 },
    });
    assert.deepEqual(unsettled.split('\n').slice(1, 3), [
      'noise still being learned: the ratio may still fall',
      '3 mismatched pairs past the field sets kept (always counted)',
    ]);
    assert.doesNotMatch(formatDiffs(json), /still being learned|past the field sets/);
  });
});
