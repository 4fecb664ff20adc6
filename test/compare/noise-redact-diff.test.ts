import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  compareResponses,
  compileCompareRules,
  NoiseTracker,
  normalizedJsonText,
  REDACTED,
  Redactor,
  type ResponseSample,
  unifiedDiff,
} from '../../src/compare/index.ts';

function res(body: unknown): ResponseSample {
  return {
    status: 200,
    headers: { 'content-type': 'application/json', date: new Date().toUTCString() },
    body: Buffer.from(JSON.stringify(body)),
  };
}

/** A legacy answer whose `traceId` and `items[*].nonce` change on every call. */
function legacyAnswer(seed: number, total = 19.9): unknown {
  return {
    traceId: `t-${seed}-${Math.random()}`,
    orders: [{ id: 1, total }],
    items: [
      { sku: 'a', nonce: Math.random() },
      { sku: 'b', nonce: Math.random() },
    ],
  };
}

describe('noise learning', () => {
  test('random fields become noisy; a real difference still fails the match', () => {
    const rules = compileCompareRules();
    const tracker = new NoiseTracker(rules);
    for (let i = 0; i < 10; i++) tracker.observe(res(legacyAnswer(i)), res(legacyAnswer(i)));
    assert.equal(tracker.pairs, 10);
    assert.equal(tracker.isNoisy('$.traceId'), true);
    assert.equal(tracker.isNoisy('$.items[*].nonce'), true);
    assert.equal(tracker.isNoisy('$.orders[*].total'), false);
    assert.deepEqual(
      tracker.snapshot().map((e) => [e.pattern, e.differed, e.present, e.noisy]),
      [
        ['$.items[*].nonce', 10, 10, true],
        ['$.traceId', 10, 10, true],
      ],
    );
    const noisy = tracker.noisyPatterns();

    const quiet = compareResponses(res(legacyAnswer(1)), res(legacyAnswer(2)), rules, { noisy });
    assert.equal(quiet.match, true);
    assert.ok(quiet.differences.length >= 3 && quiet.differences.every((d) => d.noise === true));

    const real = compareResponses(
      res(legacyAnswer(1)),
      res({ ...(legacyAnswer(2) as object), orders: [{ id: 1, total: '19.90' }] }),
      rules,
      { noisy },
    );
    assert.equal(real.match, false);
    const failing = real.differences.filter((d) => !d.noise);
    assert.deepEqual(
      failing.map((d) => `${d.kind} ${d.path}`),
      ['type $.orders[0].total'],
    );
  });

  test('a field that differed once is not noisy, nor one under the share threshold', () => {
    const tracker = new NoiseTracker(compileCompareRules(), { minDiffered: 2, minShare: 0.2 });
    tracker.observe(res({ a: 1, b: 1 }), res({ a: 2, b: 1 }));
    assert.equal(tracker.isNoisy('$.a'), false);
    tracker.observe(res({ a: 1, b: 1 }), res({ a: 3, b: 2 }));
    assert.equal(tracker.isNoisy('$.a'), true);
    for (let i = 0; i < 10; i++) tracker.observe(res({ a: i, b: 1 }), res({ a: i, b: 1 }));
    // b differed in 1 of 12 pairs; a in 2 of 12 (< 20 %).
    assert.equal(tracker.isNoisy('$.b'), false);
    assert.equal(tracker.isNoisy('$.a'), false);
    assert.deepEqual(tracker.snapshot(), [
      { pattern: '$.a', differed: 2, present: 12, noisy: false },
      { pattern: '$.b', differed: 1, present: 12, noisy: false },
    ]);
  });
});

describe('redaction', () => {
  test('credential headers and configured JSON paths are replaced; input untouched', () => {
    const redactor = new Redactor({ paths: ['$.user.email', '$.cards[*].number'] });
    const headers = { authorization: 'Bearer s3cret', cookie: 'sid=1', accept: 'application/json' };
    assert.deepEqual(redactor.headers(headers), {
      authorization: REDACTED,
      cookie: REDACTED,
      accept: 'application/json',
    });
    assert.equal(headers.authorization, 'Bearer s3cret');
    const body = {
      user: { email: 'a@b.c', name: 'Ann' },
      cards: [{ number: '4111', exp: '12/30' }],
    };
    assert.deepEqual(JSON.parse(JSON.stringify(redactor.json(body))), {
      user: { email: '[redacted]', name: 'Ann' },
      cards: [{ number: '[redacted]', exp: '12/30' }],
    });
    assert.equal(body.user.email, 'a@b.c');
  });
});

describe('unifiedDiff', () => {
  test('shows the changed lines of the normalised bodies with context', () => {
    const rules = compileCompareRules({ ignore: ['$.requestId'] });
    const a = normalizedJsonText({ b: 1, a: { total: 19.9 }, requestId: 'x' }, rules);
    const b = normalizedJsonText({ a: { total: '19.90' }, b: 1, requestId: 'y' }, rules);
    assert.equal(a, '{\n  "a": {\n    "total": 19.9\n  },\n  "b": 1\n}');
    assert.equal(
      unifiedDiff(a, b, 10_000),
      [
        '--- legacy',
        '+++ candidate',
        '@@ -1,6 +1,6 @@',
        ' {',
        '   "a": {',
        '-    "total": 19.9',
        '+    "total": "19.90"',
        '   },',
        '   "b": 1',
        ' }',
      ].join('\n'),
    );
    assert.equal(unifiedDiff(a, a, 100), '');
  });

  test('far-apart changes make separate hunks', () => {
    const a = Array.from({ length: 30 }, (_, i) => `line ${i}`);
    const b = [...a];
    b[2] = 'changed 2';
    b[25] = 'changed 25';
    const out = unifiedDiff(a.join('\n'), b.join('\n'), 10_000).split('\n');
    assert.deepEqual(
      out.filter((l) => l.startsWith('@@')),
      ['@@ -1,6 +1,6 @@', '@@ -23,7 +23,7 @@'],
    );
    assert.ok(out.includes('-line 25') && out.includes('+changed 25'));
  });

  test('is truncated to maxChars at a line end, and says so', () => {
    const a = Array.from({ length: 500 }, (_, i) => `"field${i}": ${i}`).join('\n');
    const b = Array.from({ length: 500 }, (_, i) => `"field${i}": ${i + 1}`).join('\n');
    const out = unifiedDiff(a, b, 300);
    assert.ok(out.length <= 300, `length ${out.length}`);
    assert.match(out, /^--- legacy\n\+\+\+ candidate\n@@/);
    assert.match(out, /\n… truncated \(\d+ chars\)$/);
  });
});
