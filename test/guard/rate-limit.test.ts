// The token bucket is pure logic over an injected clock, so it is tested
// in-process: how many requests pass over simulated time, per key, what the
// decision and the RateLimit headers say, and that the key table stays bounded.
import assert from 'node:assert/strict';
import type { IncomingHttpHeaders } from 'node:http';
import { test } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { type LimitConfig, parseKeySpec } from '../../src/config/index.ts';
import { stickyKeyOf } from '../../src/gateway/split.ts';
import { LruSlots } from '../../src/guard/lru.ts';
import { TokenBucketLimiter } from '../../src/guard/rate-limit.ts';
import { RateLimitHeaders, rateLimitPolicy } from '../../src/guard/ratelimit-headers.ts';

function limiter(rps: number, burst: number, maxKeys = 10_000): TokenBucketLimiter {
  const config: LimitConfig = {
    rps,
    burst,
    key: [],
    maxKeys,
    scope: 'instance',
    onStoreDown: 'local',
  };
  return new TokenBucketLimiter(config);
}

/** Offers `perMs` requests every millisecond from `from` to `to` inclusive; returns how many passed. */
function hammer(l: TokenBucketLimiter, key: string, from: number, to: number, perMs = 3): number {
  let admitted = 0;
  for (let t = from; t <= to; t++) {
    for (let i = 0; i < perMs; i++) if (l.take(key, t).allowed) admitted++;
  }
  return admitted;
}

test('admits exactly the burst at once, then nothing until a token is back', () => {
  const l = limiter(100, 50);
  let admitted = 0;
  for (let i = 0; i < 200; i++) if (l.take('', 0).allowed) admitted++;
  assert.equal(admitted, 50);
  assert.equal(l.take('', 9).allowed, false, '0.9 token after 9 ms');
  assert.equal(l.take('', 10).allowed, true, 'one token after 10 ms at 100/s');
  assert.equal(l.take('', 10).allowed, false);
});

test('over 10 s at 100/s with burst 50, admits burst + rps × t', () => {
  const l = limiter(100, 50);
  const admitted = hammer(l, '', 0, 10_000);
  assert.ok(Math.abs(admitted - 1050) <= 1050 * 0.02, `admitted ${admitted}`);
  // Thousandth-token accounting makes an integer clock exact, not just close.
  assert.equal(admitted, 1050);
});

test('a fractional clock (performance.now) refills the same amount', () => {
  const l = limiter(100, 50);
  let admitted = 0;
  for (let t = 0; t <= 10_000; t += 0.37) if (l.take('', t).allowed) admitted++;
  assert.ok(Math.abs(admitted - 1050) <= 1050 * 0.02, `admitted ${admitted}`);
});

test('a rate below one a second and a burst of one', () => {
  const l = limiter(0.5, 1);
  assert.equal(hammer(l, 'k', 0, 9_999, 1), 5, 'one at 0, then one every 2 s');
});

test('a clock that goes backwards refills nothing', () => {
  const l = limiter(10, 2);
  assert.equal(l.take('', 1_000).allowed, true);
  assert.equal(l.take('', 1_000).allowed, true);
  assert.equal(l.take('', 500).allowed, false);
  assert.equal(l.take('', 1_099).allowed, false, 'still 0.99 token after the clock came back');
  assert.equal(l.take('', 1_100).allowed, true);
});

test('each key has its own bucket', () => {
  const l = limiter(1, 3);
  for (let i = 0; i < 3; i++) assert.equal(l.take('alice', 0).allowed, true);
  assert.equal(l.take('alice', 0).allowed, false);
  for (let i = 0; i < 3; i++) assert.equal(l.take('bob', 0).allowed, true, 'bob is not alice');
  assert.equal(l.take('bob', 0).allowed, false);
  assert.equal(l.take('', 0).allowed, true);
  assert.equal(l.size, 3);
});

test('keys read with the split’s stickyKeyOf; requests without the key share one bucket', () => {
  const parts = parseKeySpec('header:x-user-id');
  assert.ok(parts);
  const l = limiter(1, 2);
  const keyOf = (headers: IncomingHttpHeaders) =>
    stickyKeyOf(parts, { headers, query: '', ip: '10.0.0.1' }) ?? '';
  const take = (headers: IncomingHttpHeaders) => l.take(keyOf(headers), 0).allowed;
  assert.deepEqual([take({ 'x-user-id': 'a' }), take({ 'x-user-id': 'a' })], [true, true]);
  assert.equal(take({ 'x-user-id': 'a' }), false);
  assert.equal(take({ 'x-user-id': 'b' }), true);
  // Leaving the header out (or sending it empty) does not escape the limit.
  assert.deepEqual([take({}), take({ 'x-user-id': '' })], [true, true]);
  assert.equal(take({}), false);
});

test('decision fields: limit, remaining, reset and retry-after', () => {
  const l = limiter(5, 10);
  assert.deepEqual(l.take('', 0), {
    allowed: true,
    limit: 10,
    remaining: 9,
    resetSeconds: 1, // one token short, 0.2 s at 5/s, rounded up
    retryAfterSeconds: 0,
  });
  for (let i = 0; i < 9; i++) l.take('', 0);
  assert.deepEqual(l.take('', 0), {
    allowed: false,
    limit: 10,
    remaining: 0,
    resetSeconds: 2, // ten tokens at 5/s
    retryAfterSeconds: 1, // 0.2 s, rounded up
  });
  // 100 ms later: half a token, still refused; a full bucket is 1.9 s away.
  assert.deepEqual(l.take('', 100), {
    allowed: false,
    limit: 10,
    remaining: 0,
    resetSeconds: 2,
    retryAfterSeconds: 1,
  });
  // 1.5 s after the start: 7.5 tokens, one spent.
  const d = l.take('', 1_500);
  assert.equal(d.allowed, true);
  assert.equal(d.remaining, 6);
  assert.equal(d.resetSeconds, 1, '3.5 tokens short is 0.7 s');
});

test('retry-after counts whole seconds until one token at slow rates', () => {
  const l = limiter(0.25, 2);
  l.take('', 0);
  l.take('', 0);
  const refused = l.take('', 1_000);
  assert.equal(refused.allowed, false);
  assert.equal(refused.retryAfterSeconds, 3, '0.25 token back after 1 s; 3 s to go');
  assert.equal(refused.resetSeconds, 7, '1.75 tokens short at 0.25/s');
  assert.equal(l.take('', 4_000).allowed, true);
});

test('header values follow draft-ietf-httpapi-ratelimit-headers', () => {
  const l = limiter(5, 10);
  const headers = new RateLimitHeaders({ rps: 5, burst: 10 });
  assert.equal(headers.policy, '"default";q=10;w=2');
  assert.equal(rateLimitPolicy({ rps: 1000, burst: 1000 }), '"default";q=1000;w=1');
  assert.equal(rateLimitPolicy({ rps: 3, burst: 10 }), '"default";q=10;w=4', 'window rounded up');
  assert.equal(rateLimitPolicy({ rps: 0.5, burst: 1 }), '"default";q=1;w=2');
  assert.deepEqual(headers.forDecision(l.take('', 0)), {
    'ratelimit-policy': '"default";q=10;w=2',
    ratelimit: '"default";r=9;t=1',
  });
  for (let i = 0; i < 9; i++) l.take('', 0);
  assert.deepEqual(headers.forDecision(l.take('', 0)), {
    'ratelimit-policy': '"default";q=10;w=2',
    ratelimit: '"default";r=0;t=2',
    'retry-after': '1',
  });
  assert.deepEqual(headers.forDecision(l.take('', 2_000)), {
    'ratelimit-policy': '"default";q=10;w=2',
    ratelimit: '"default";r=9;t=1',
  });
});

test('the key table holds at most maxKeys keys, evicting the least recently used', () => {
  const l = limiter(1, 2, 2);
  l.take('a', 0);
  l.take('a', 0);
  assert.equal(l.take('a', 0).allowed, false, 'a is empty');
  l.take('b', 0);
  assert.equal(l.take('a', 0).allowed, false, 'touching a makes b the oldest');
  l.take('c', 0); // evicts b
  assert.equal(l.size, 2);
  assert.equal(l.take('a', 0).allowed, false, 'a was kept, still empty');
  l.take('d', 0); // evicts c, the oldest now
  l.take('e', 0); // evicts a
  const back = l.take('a', 0);
  assert.equal(back.allowed, true, 'an evicted key comes back with a full bucket');
  assert.equal(back.remaining, 1);
  assert.equal(l.size, 2);
});

test('LruSlots keeps the most recently used keys, as a plain list would', () => {
  for (const capacity of [1, 2, 3, 7]) {
    const lru = new LruSlots(capacity);
    let model: string[] = []; // least recently used first
    const slotOf = new Map<string, number>();
    let seed = capacity;
    for (let step = 0; step < 5_000; step++) {
      seed = (Math.imul(seed, 1_103_515_245) + 12_345) >>> 0;
      const key = `k${seed % (capacity * 2 + 1)}`;
      const known = model.includes(key);
      const slot = lru.touch(key);
      assert.equal(slot >= 0, known, `step ${step}: ${key} known`);
      if (known) {
        assert.equal(slot, slotOf.get(key), 'a held key keeps its slot');
        model = model.filter((k) => k !== key);
      } else {
        const fresh = -1 - slot;
        assert.ok(fresh >= 0 && fresh < capacity);
        if (model.length === capacity) {
          const evicted = model.shift()!;
          assert.equal(fresh, slotOf.get(evicted), 'the least recently used key gives its slot');
          slotOf.delete(evicted);
        }
        slotOf.set(key, fresh);
      }
      model.push(key);
      assert.equal(lru.size, model.length);
    }
  }
});

/** `gc` without --expose-gc: turn the flag on and fetch the function from a fresh context. */
function collector(): () => void {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

test('a flood of 1,000,000 distinct keys stays within maxKeys and a few MB of heap', () => {
  const gc = collector();
  const l = limiter(1_000, 1_000, 10_000);
  for (let i = 0; i < 10_000; i++) l.take(`warm-${i}`, 0);
  gc();
  const before = process.memoryUsage().heapUsed;
  let largest = 0;
  for (let i = 0; i < 1_000_000; i++) {
    l.take(`client-${i}`, i);
    if (l.size > largest) largest = l.size;
  }
  gc();
  const grown = process.memoryUsage().heapUsed - before;
  assert.equal(largest, 10_000);
  assert.equal(l.size, 10_000);
  assert.deepEqual(l.snapshot(), { keys: 10_000, maxKeys: 10_000 });
  // Unbounded, a million keys with their buckets take well over 50 MB.
  assert.ok(grown < 8 * 1024 * 1024, `heap grew by ${(grown / 1048576).toFixed(1)} MB`);
});
