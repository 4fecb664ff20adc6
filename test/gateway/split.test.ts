// The split is pure logic, so it is tested in-process: which side a user
// lands on, that it stays there, and that raising the weight only adds users.
import assert from 'node:assert/strict';
import type { IncomingHttpHeaders } from 'node:http';
import { test } from 'node:test';
import { type KeyPart, parseKeySpec, type SplitConfig } from '../../src/config/index.ts';
import {
  BUCKETS,
  candidateBucketsOf,
  chooseSide,
  chooseSideWithReason,
  type SplitInput,
  stickyBucket,
  stickyKeyOf,
} from '../../src/gateway/split.ts';

const STEPS = [1, 5, 25, 50, 100];

function keySpec(text: string): readonly KeyPart[] {
  const parts = parseKeySpec(text);
  assert.ok(parts, text);
  return parts;
}

function split(stickyKey = '', overrideHeader: string | false = 'x-release-stage'): SplitConfig {
  return {
    stickyKey: stickyKey === '' ? [] : keySpec(stickyKey),
    overrideHeader,
    overrideCandidate: 'canary',
    overrideLegacy: 'stable',
  };
}

function input(headers: IncomingHttpHeaders = {}, query = '', ip = '10.0.0.1'): SplitInput {
  return { headers, query, ip };
}

function userInput(id: string, extra: IncomingHttpHeaders = {}): SplitInput {
  return input({ 'x-user-id': id, ...extra });
}

test('stickyBucket: 10,000 keys at weight 25 put 2,500 ± 1.5% on the candidate', () => {
  let onCandidate = 0;
  for (let i = 1; i <= 10_000; i++) {
    if (stickyBucket(`user-${i}`) < candidateBucketsOf(25)) onCandidate++;
  }
  assert.ok(Math.abs(onCandidate - 2_500) <= 150, `${onCandidate} of 10,000 on the candidate`);
});

test('stickyBucket: buckets spread evenly over the whole range', () => {
  const deciles = new Array<number>(10).fill(0);
  for (let i = 0; i < 100_000; i++) {
    const bucket = stickyBucket(`session-${i.toString(36)}`);
    assert.ok(Number.isInteger(bucket) && bucket >= 0 && bucket < BUCKETS);
    deciles[Math.floor(bucket / 1_000)]++;
  }
  for (const count of deciles) assert.ok(Math.abs(count - 10_000) < 500, `decile ${count}`);
});

test('stickyBucket: pinned values, so a change that would move every user is noticed', () => {
  // FNV-1a over UTF-8, then murmur3 fmix32, mod 10,000. Other processes and
  // other versions must put these keys in these buckets.
  const pinned: Record<string, number> = {
    '': 8_923,
    'user-1': 5_916,
    'user-42': 1_798,
    ünïcødé: 5_199,
    '😀': 7_642,
  };
  for (const [key, bucket] of Object.entries(pinned)) assert.equal(stickyBucket(key), bucket, key);
});

/** The same hash written the slow, obvious way, over TextEncoder's bytes. */
function referenceBucket(key: string): number {
  let h = 0x811c9dc5;
  for (const byte of new TextEncoder().encode(key)) h = Math.imul(h ^ byte, 0x01000193);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return (h >>> 0) % BUCKETS;
}

test('stickyBucket hashes UTF-8 bytes exactly as TextEncoder encodes them', () => {
  const keys = ['a\uD800b', '\uDC00x', 'x\uD83D', '\uD83D\uDE00', '中文', 'ß', '\u07FF\u0800'];
  for (let i = 0; i < 20_000; i++) {
    let key = '';
    for (let j = i % 9; j > 0; j--) key += String.fromCharCode((i * 7919 + j * 104_729) % 65_536);
    keys.push(key);
  }
  for (const key of keys)
    assert.equal(stickyBucket(key), referenceBucket(key), JSON.stringify(key));
  assert.equal(stickyBucket('a\uD800b'), stickyBucket('a\uFFFDb'), 'lone surrogate as U+FFFD');
});

test('sticky: the same key gets the same side on every call', () => {
  const config = split('header:x-user-id');
  for (let i = 0; i < 200; i++) {
    const id = `user-${i}`;
    const first = chooseSide(config, true, candidateBucketsOf(50), userInput(id));
    for (let j = 0; j < 50; j++) {
      assert.equal(chooseSide(config, true, candidateBucketsOf(50), userInput(id)), first, id);
    }
  }
});

test('monotonic: every key on the candidate at one step is still there at each higher step', () => {
  const config = split('header:x-user-id');
  let previous = new Set<string>();
  for (const weight of STEPS) {
    const current = new Set<string>();
    for (let i = 1; i <= 10_000; i++) {
      const id = `user-${i}`;
      if (chooseSide(config, true, candidateBucketsOf(weight), userInput(id)) === 'candidate') {
        current.add(id);
      }
    }
    for (const id of previous) assert.ok(current.has(id), `${id} left the candidate at ${weight}%`);
    assert.ok(current.size >= previous.size);
    previous = current;
  }
  assert.equal(previous.size, 10_000, 'everyone on the candidate at 100%');
});

test('override header wins both ways, case-insensitively, over the sticky key and the weight', () => {
  const config = split('header:x-user-id');
  for (const value of ['canary', 'CANARY', 'Canary']) {
    const choice = chooseSideWithReason(
      config,
      true,
      0,
      userInput('u', { 'x-release-stage': value }),
    );
    assert.deepEqual({ ...choice }, { side: 'candidate', reason: 'override' }, value);
  }
  for (const value of ['stable', 'STABLE']) {
    const choice = chooseSideWithReason(
      config,
      true,
      BUCKETS,
      userInput('u', { 'x-release-stage': value }),
    );
    assert.deepEqual({ ...choice }, { side: 'legacy', reason: 'override' }, value);
  }
});

test('override: unknown values are ignored and the sticky key decides', () => {
  const config = split('header:x-user-id');
  for (const value of ['beta', 'canary2', 'canar', '', 'stable ']) {
    const headers = { 'x-release-stage': value };
    assert.deepEqual(
      { ...chooseSideWithReason(config, true, 0, userInput('u', headers)) },
      { side: 'legacy', reason: 'sticky' },
      value,
    );
    assert.deepEqual(
      { ...chooseSideWithReason(config, true, BUCKETS, userInput('u', headers)) },
      { side: 'candidate', reason: 'sticky' },
      value,
    );
  }
});

test('override off: the header does nothing', () => {
  const config = split('header:x-user-id', false);
  const canary = userInput('u', { 'x-release-stage': 'canary' });
  assert.equal(chooseSide(config, true, 0, canary), 'legacy');
  const stable = userInput('u', { 'x-release-stage': 'stable' });
  assert.equal(chooseSide(config, true, BUCKETS, stable), 'candidate');
});

test('override uses the configured header name and values', () => {
  const config: SplitConfig = {
    stickyKey: [],
    overrideHeader: 'x-lane',
    overrideCandidate: 'new',
    overrideLegacy: 'old',
  };
  assert.equal(chooseSide(config, true, 0, input({ 'x-lane': 'NEW' })), 'candidate');
  assert.equal(chooseSide(config, true, BUCKETS, input({ 'x-lane': 'old' })), 'legacy');
  assert.equal(chooseSide(config, true, 0, input({ 'x-release-stage': 'canary' })), 'legacy');
});

test('no candidate: always legacy, even with the override asking for the candidate', () => {
  const config = split('header:x-user-id');
  const req = userInput('u', { 'x-release-stage': 'canary' });
  assert.deepEqual(
    { ...chooseSideWithReason(config, false, BUCKETS, req) },
    { side: 'legacy', reason: 'no-candidate' },
  );
  for (let i = 0; i < 100; i++)
    assert.equal(chooseSide(split(), false, BUCKETS, input()), 'legacy');
});

test('weight 0 never sends to the candidate, 100 always does, with or without a key', () => {
  for (const config of [split(), split('header:x-user-id')]) {
    for (let i = 0; i < 2_000; i++) {
      const req = userInput(`user-${i}`);
      assert.equal(chooseSide(config, true, candidateBucketsOf(0), req), 'legacy');
      assert.equal(chooseSide(config, true, candidateBucketsOf(100), req), 'candidate');
    }
  }
});

test('no sticky key: a random draw with the weight as its odds', () => {
  const config = split();
  let onCandidate = 0;
  for (let i = 0; i < 20_000; i++) {
    const choice = chooseSideWithReason(config, true, candidateBucketsOf(25), input());
    assert.equal(choice.reason, 'random');
    if (choice.side === 'candidate') onCandidate++;
  }
  const share = onCandidate / 20_000;
  assert.ok(Math.abs(share - 0.25) <= 0.02, `share ${share}`);
});

test('a key configured but missing from the request falls back to random', () => {
  const config = split('header:x-user-id');
  const reasons = new Set<string>();
  const sides = new Set<string>();
  for (let i = 0; i < 200; i++) {
    const choice = chooseSideWithReason(config, true, candidateBucketsOf(50), input());
    reasons.add(choice.reason);
    sides.add(choice.side);
  }
  assert.deepEqual([...reasons], ['random']);
  assert.equal(sides.size, 2, 'both sides are drawn');
});

test('stickyKeyOf: header, repeated header, cookie, query and ip', () => {
  const req = input(
    { 'x-user-id': 'u1', 'x-multi': ['a', 'b'], cookie: 'theme=dark; sid=abc123;  other="q v"' },
    'a=1&uid=j%C3%B6rg+x&uid=second&empty=',
    '192.0.2.7',
  );
  assert.equal(stickyKeyOf(keySpec('header:x-user-id'), req), 'u1');
  assert.equal(stickyKeyOf(keySpec('header:X-User-Id'), req), 'u1', 'header names lower-cased');
  assert.equal(stickyKeyOf(keySpec('header:x-multi'), req), 'a,b');
  assert.equal(stickyKeyOf(keySpec('cookie:sid'), req), 'abc123');
  assert.equal(stickyKeyOf(keySpec('cookie:theme'), req), 'dark');
  assert.equal(stickyKeyOf(keySpec('cookie:other'), req), 'q v', 'quoted cookie value');
  assert.equal(stickyKeyOf(keySpec('cookie:si'), req), undefined, 'whole cookie names only');
  assert.equal(stickyKeyOf(keySpec('query:uid'), req), 'jörg x', 'decoded, first value wins');
  assert.equal(stickyKeyOf(keySpec('query:a'), req), '1');
  assert.equal(stickyKeyOf(keySpec('query:u'), req), undefined);
  assert.equal(stickyKeyOf(keySpec('query:empty'), req), undefined, 'empty value');
  assert.equal(stickyKeyOf(keySpec('ip'), req), '192.0.2.7');
  assert.equal(stickyKeyOf([], req), undefined);
  assert.equal(stickyKeyOf(keySpec('cookie:sid'), input()), undefined, 'no cookie header');
  assert.equal(stickyKeyOf(keySpec('ip'), input({}, '', '')), undefined);
  assert.equal(stickyKeyOf(keySpec('header:x-user-id'), input({ 'x-user-id': '' })), undefined);
  assert.equal(stickyKeyOf(keySpec('query:k'), input({}, 'k=%E0%A4%A')), '%E0%A4%A', 'bad escape');
  assert.equal(stickyKeyOf(keySpec('query:k'), input({}, 'k=1&k%3D=2')), '1');
  assert.equal(stickyKeyOf(keySpec('query:k'), input({}, '?x=1&k=2')), '2', 'leading ? tolerated');
});

test('stickyKeyOf: a composite key needs every part, and parts cannot run into each other', () => {
  const spec = keySpec('header:x-user-id+header:x-biz-id');
  const both = stickyKeyOf(spec, input({ 'x-user-id': 'u1', 'x-biz-id': 'b9' }));
  assert.ok(both?.includes('u1') && both.includes('b9'));
  assert.equal(stickyKeyOf(spec, input({ 'x-user-id': 'u1' })), undefined);
  assert.equal(stickyKeyOf(spec, input({ 'x-biz-id': 'b9' })), undefined);
  assert.equal(stickyKeyOf(spec, input({ 'x-user-id': 'u1', 'x-biz-id': '' })), undefined);
  const left = stickyKeyOf(spec, input({ 'x-user-id': 'a+b', 'x-biz-id': 'c' }));
  const right = stickyKeyOf(spec, input({ 'x-user-id': 'a', 'x-biz-id': 'b+c' }));
  assert.notEqual(left, right);
  const mixed = keySpec('cookie:sid+query:tenant+ip');
  const req = input({ cookie: 'sid=s1' }, 'tenant=t1', '198.51.100.1');
  const key = stickyKeyOf(mixed, req);
  assert.ok(key !== undefined);
  assert.equal(stickyKeyOf(mixed, input({ cookie: 'sid=s1' }, '', '198.51.100.1')), undefined);
});

test('a composite key keeps each user on one side, and different users spread', () => {
  const config = split('header:x-user-id+header:x-biz-id');
  let onCandidate = 0;
  for (let i = 0; i < 4_000; i++) {
    const req = input({ 'x-user-id': `u${i}`, 'x-biz-id': `b${i % 7}` });
    const side = chooseSide(config, true, candidateBucketsOf(50), req);
    assert.equal(chooseSide(config, true, candidateBucketsOf(50), req), side);
    if (side === 'candidate') onCandidate++;
  }
  assert.ok(Math.abs(onCandidate - 2_000) <= 150, `${onCandidate} of 4,000`);
});

test('candidateBucketsOf: weight in percent with two decimals to buckets', () => {
  assert.equal(candidateBucketsOf(0), 0);
  assert.equal(candidateBucketsOf(0.01), 1);
  assert.equal(candidateBucketsOf(12.34), 1_234);
  assert.equal(candidateBucketsOf(0.29), 29, '0.29 × 100 is 28.999… in floating point');
  assert.equal(candidateBucketsOf(100), BUCKETS);
});
