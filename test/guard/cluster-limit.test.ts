// Cluster rate limits over the real in-process fleet store (MemoryStore, the
// same contract as Local and Redis), with one controllable clock for the
// store and the limiters so the accounting is exact: three limiters stand for
// three instances sharing one bucket. A store that fails or hangs is a small
// subclass: a real failure mode of the interface (every call may reject).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { LimitConfig, LimitFallback } from '../../src/config/index.ts';
import {
  BATCH_WINDOW_MS,
  ClusterLimiter,
  type LimitModeChange,
  REFILL_TIMEOUT_MS,
  type SharedBuckets,
  STORE_RETRY_MS,
} from '../../src/guard/cluster-limit.ts';
import { RateLimitHeaders } from '../../src/guard/ratelimit-headers.ts';
import { MemoryStore } from '../../src/state/index.ts';

/** The store and the limiters read this; tests move it. */
let clock = 0;

class FailingStore extends MemoryStore {
  /** Every takeTokens rejects, as a store whose connection is refused. */
  down = false;
  /** Every takeTokens stays unanswered, as a store behind a dropped network. */
  hung = false;
  calls = 0;

  override async takeTokens(key: string, rps: number, burst: number, want: number) {
    this.calls++;
    if (this.down) throw new Error('connect ECONNREFUSED 127.0.0.1:6379');
    if (this.hung) return new Promise<never>(() => {});
    return super.takeTokens(key, rps, burst, want);
  }
}

function config(rps: number, burst: number, onStoreDown: LimitFallback = 'local'): LimitConfig {
  return { rps, burst, key: [], maxKeys: 10_000, scope: 'cluster', onStoreDown };
}

/** Lets the store's answers (promise callbacks) land. */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

interface Fleet {
  readonly store: FailingStore;
  readonly limiters: ClusterLimiter[];
  readonly changes: LimitModeChange[];
}

function fleet(
  n: number,
  limit: LimitConfig,
  options: { instances?: () => number; store?: FailingStore } = {},
): Fleet {
  const store = options.store ?? new FailingStore(() => clock);
  const changes: LimitModeChange[] = [];
  const limiters = Array.from(
    { length: n },
    () =>
      new ClusterLimiter(limit, {
        route: 'api',
        buckets: store,
        instances: options.instances ?? (() => n),
        onModeChange: (c) => changes.push(c),
      }),
  );
  return { store, limiters, changes };
}

/**
 * From `from` to `to` ms inclusive, offers `perMs[i]` requests a millisecond
 * to limiter i, letting the store answer between milliseconds; returns how
 * many each admitted.
 */
async function hammer(
  limiters: readonly ClusterLimiter[],
  from: number,
  to: number,
  perMs: readonly number[],
  key = '',
): Promise<number[]> {
  const admitted = limiters.map(() => 0);
  for (let t = from; t <= to; t++) {
    clock = t;
    for (let i = 0; i < limiters.length; i++) {
      for (let r = 0; r < perMs[i]; r++) if (limiters[i].take(key, t).allowed) admitted[i]++;
    }
    await settle();
  }
  return admitted;
}

const sum = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0);

/** The test's ±5% (issue 11), and the documented bound: within batch × instances. */
function assertAccurate(admitted: number, expected: number, slack: number, label: string): void {
  const error = Math.abs(admitted - expected) / expected;
  assert.ok(error <= 0.05, `${label}: admitted ${admitted}, expected ${expected} ±5%`);
  assert.ok(
    Math.abs(admitted - expected) <= slack,
    `${label}: admitted ${admitted}, expected ${expected} ± ${slack} (batch × instances)`,
  );
}

test('three instances over one store admit rps × duration + burst (±5%), evenly loaded', async () => {
  clock = 0;
  const { limiters } = fleet(3, config(50, 50));
  const admitted = await hammer(limiters, 0, 10_000, [3, 3, 3]);
  const batch = Math.ceil((50 * BATCH_WINDOW_MS) / 1000);
  assertAccurate(sum(admitted), 50 * 10 + 50, batch * 3, 'rps 50');
  for (const a of admitted) assert.ok(a > 0, `every instance admitted some (${admitted})`);
});

test('…and with the load on one instance, at the default rate of 1000/s', async () => {
  clock = 0;
  const { limiters } = fleet(3, config(1000, 1000));
  const admitted = await hammer(limiters, 0, 5_000, [5, 1, 0]);
  assertAccurate(sum(admitted), 1000 * 5 + 1000, 50 * 3, 'rps 1000');
  assert.equal(limiters[2].take('', 5_000).allowed, true, 'an idle instance still admits');
});

test('the same accuracy per key: each key its own shared bucket limit:<route>:<key>', async () => {
  clock = 0;
  const { store, limiters } = fleet(3, config(20, 10));
  const alice = await hammer(limiters, 0, 3_000, [2, 2, 2], 'alice');
  const bob = await hammer(limiters, 3_001, 6_000, [1, 1, 1], 'bob');
  assertAccurate(sum(alice), 20 * 3 + 10, 3, 'alice');
  assertAccurate(sum(bob), 20 * 3 + 10, 3, 'bob');
  // The store's own buckets, asked for nothing: alice's has refilled since,
  // bob's was just drained, and a key nobody used is full.
  const peek = (key: string) => store.takeTokens(key, 20, 10, 0);
  assert.equal((await peek('limit:api:alice')).remaining, 10);
  assert.ok((await peek('limit:api:bob')).remaining <= 1);
  assert.equal((await peek('limit:api:carol')).remaining, 10);
});

test('a new key admits its first requests before the store has answered (credit, paid back)', async () => {
  clock = 0;
  const { store, limiters } = fleet(1, config(20, 10));
  const [l] = limiters;
  assert.equal(l.batch, 1);
  assert.equal(l.take('new-user', 0).allowed, true, 'no refusal for want of a round trip');
  assert.equal(l.take('new-user', 0).allowed, false, 'credit is one batch');
  await settle();
  // The refill asked for the batch and the debt: 2 tokens taken, 1 held.
  assert.equal((await store.takeTokens('limit:api:new-user', 20, 10, 0)).remaining, 8);
  assert.equal(l.take('new-user', 0).allowed, true);
});

test('tokens held but unspent are under-admission: an idle spell then a flood admits at most burst + batch × instances', async () => {
  clock = 0;
  const { limiters } = fleet(3, config(100, 100));
  // One request each: each instance now holds the rest of a batch.
  await hammer(limiters, 0, 0, [1, 1, 1]);
  // Ten seconds later the shared bucket is full again, and the instances
  // still hold their shares: 100 ms of flood.
  const flood = await hammer(limiters, 10_000, 10_099, [20, 20, 20]);
  const batch = Math.ceil((100 * BATCH_WINDOW_MS) / 1000);
  const most = 100 + 100 * 0.1 + batch * 3;
  assert.ok(sum(flood) >= 100 + 100 * 0.1 - batch * 3, `admitted ${sum(flood)}`);
  assert.ok(sum(flood) <= most, `admitted ${sum(flood)}: over burst + rps × 0.1 s + batch × 3`);
});

test('RateLimit values: remaining is the cluster count, reset and Retry-After from the store', async () => {
  clock = 0;
  const { limiters } = fleet(2, config(10, 20));
  const [a, b] = limiters;
  const headers = new RateLimitHeaders(config(10, 20));
  // a spends 12 of the 20; b has not met the key yet.
  let last = a.take('', 0);
  for (let i = 0; i < 11; i++) {
    await settle();
    last = a.take('', 0);
  }
  assert.equal(last.allowed, true);
  await settle();
  b.take('', 0);
  await settle();
  const seen = b.take('', 0);
  assert.equal(seen.allowed, true);
  assert.equal(seen.limit, 20);
  // 20 − a's 12 − b's 2 spent = 6 left in the fleet; b knows the store's
  // count and its own share, not what a holds unspent (a holds at most a batch).
  assert.ok(seen.remaining <= 6 && seen.remaining >= 6 - a.batch, `remaining ${seen.remaining}`);
  assert.ok(seen.resetSeconds >= 1 && seen.resetSeconds <= 2, `reset ${seen.resetSeconds}`);
  // Drain everything, then a refusal says when a token is back.
  let refused = b.take('', 0);
  for (let i = 0; i < 40 && refused.allowed; i++) {
    await settle();
    refused = (i % 2 === 0 ? a : b).take('', 0);
  }
  assert.equal(refused.allowed, false);
  assert.equal(refused.remaining, 0);
  const h = headers.forDecision(refused);
  assert.equal(h['ratelimit-policy'], '"default";q=20;w=2');
  assert.match(h.ratelimit, /^"default";r=0;t=[12]$/);
  assert.equal(h['retry-after'], '1');
});

test('a key table bounded by maxKeys', async () => {
  clock = 0;
  const { limiters } = fleet(1, { ...config(10, 5), maxKeys: 100 });
  for (let i = 0; i < 1_000; i++) limiters[0].take(`user-${i}`, 0);
  await settle();
  assert.deepEqual(limiters[0].snapshot(), { keys: 100, maxKeys: 100, mode: 'shared' });
});

/** Store down for 10 s under load, then back: what each fallback admits, and the changes of mode. */
async function outage(onStoreDown: LimitFallback): Promise<{
  before: number;
  during: number[];
  after: number;
  fleet: Fleet;
  refused: ReturnType<ClusterLimiter['take']>;
}> {
  clock = 0;
  const f = fleet(3, config(50, 50, onStoreDown), { instances: () => 2 });
  const before = sum(await hammer(f.limiters, 0, 2_000, [2, 2, 2]));
  assert.equal(f.changes.length, 0);
  f.store.down = true;
  const during = await hammer(f.limiters, 2_001, 12_000, [2, 2, 2]);
  const refused = f.limiters[0].take('', 12_000);
  f.store.down = false;
  // Each instance finds the store back at its next probe, within a second.
  await hammer(f.limiters, 12_001, 12_000 + STORE_RETRY_MS + 1, [2, 2, 2]);
  const after = sum(await hammer(f.limiters, 13_002, 23_001, [2, 2, 2]));
  return { before, during, after, fleet: f, refused };
}

/** 10 s back on the shared bucket: rps × 10 s, plus what was left of the burst when they came back. */
function assertShared(after: number): void {
  assert.ok(after >= 50 * 10 - 9 && after <= 50 * 10 + 50 + 9, `admitted ${after} after`);
}

/** Exactly one change into the fallback and one back, per instance. */
function assertOneChangeEachWay(f: Fleet, fallback: LimitFallback): void {
  assert.equal(f.changes.length, 6, JSON.stringify(f.changes));
  assert.deepEqual(
    f.changes.map((c) => `${c.route} ${c.from}→${c.to}`).sort(),
    [...Array(3).fill(`api shared→${fallback}`), ...Array(3).fill(`api ${fallback}→shared`)].sort(),
  );
  const down = f.changes.find((c) => c.to === fallback)!;
  assert.match(down.reason, /state store failed: connect ECONNREFUSED/);
  const up = f.changes.find((c) => c.to === 'shared')!;
  assert.match(up.reason, /answers again/);
  for (const l of f.limiters) assert.equal(l.mode, 'shared');
}

test('onStoreDown: local — each instance admits the quota divided by the instances last seen, then shares again', async () => {
  const { before, during, after, fleet: f } = await outage('local');
  assertAccurate(before, 50 * 2 + 50, 9, 'before');
  // instances() says 2: each of the 3 admits 25/s and a burst of 25 — the
  // divisor is what the fleet last saw, so a fleet that just lost a member
  // admits a little more than the quota rather than less.
  for (const d of during) assertAccurate(d, 25 * 10 + 25, 3, 'one instance, store down');
  assertShared(after);
  assertOneChangeEachWay(f, 'local');
});

test('onStoreDown: open — admits everything while the store is down', async () => {
  const { during, after, fleet: f } = await outage('open');
  // The shares were dry when the store went away: each instance refuses, as
  // the limit said, until its next ask (one batch time, 60 ms here) finds
  // the store down.
  const batchMs = (Math.ceil((50 * BATCH_WINDOW_MS) / 1000) * 1000) / 50;
  for (const d of during) {
    assert.ok(d >= 2 * (10_000 - batchMs - 1), `admitted ${d} of 20000`);
  }
  assertShared(after);
  assertOneChangeEachWay(f, 'open');
});

test('onStoreDown: closed — refuses everything with Retry-After while the store is down', async () => {
  const { during, after, fleet: f, refused } = await outage('closed');
  // What the shares held when the store went away, at most a batch each.
  for (const d of during) assert.ok(d <= 3, `admitted ${d}`);
  assert.equal(refused.allowed, false);
  assert.equal(refused.retryAfterSeconds, 1);
  assert.equal(refused.remaining, 0);
  assertShared(after);
  assertOneChangeEachWay(f, 'closed');
});

test('while down, the store is asked once a second per instance, not per request', async () => {
  clock = 0;
  const f = fleet(1, config(50, 50));
  await hammer(f.limiters, 0, 100, [1]);
  f.store.down = true;
  await hammer(f.limiters, 101, 200, [1]);
  const calls = f.store.calls;
  await hammer(f.limiters, 201, 5_200, [10]);
  // 50,000 requests in 5 s: about five probes.
  const probes = f.store.calls - calls;
  assert.ok(probes >= 4 && probes <= 6, `${probes} store calls`);
  assert.equal(f.changes.length, 1);
});

test('a store that hangs counts as down after the refill timeout', async () => {
  clock = 0;
  const f = fleet(1, config(50, 50, 'closed'));
  await hammer(f.limiters, 0, 100, [1]);
  f.store.hung = true;
  await hammer(f.limiters, 101, 101 + REFILL_TIMEOUT_MS + 100, [1]);
  assert.equal(f.limiters[0].mode, 'closed');
  assert.match(f.changes[0].reason, /did not answer within 250 ms/);
  f.store.hung = false;
  await hammer(f.limiters, 500, 500 + STORE_RETRY_MS + 10, [1]);
  assert.equal(f.limiters[0].mode, 'shared');
  assert.equal(f.changes.length, 2);
});

test('no shared store given: the fallback from the start, said once', () => {
  const changes: LimitModeChange[] = [];
  const l = new ClusterLimiter(config(10, 4, 'local'), {
    route: 'api',
    buckets: undefined,
    instances: () => 2,
    onModeChange: (c) => changes.push(c),
  });
  let admitted = 0;
  for (let i = 0; i < 10; i++) if (l.take('', 0).allowed) admitted++;
  assert.equal(admitted, 2, 'burst 4 over 2 instances');
  assert.equal(changes.length, 1);
  assert.deepEqual({ from: changes[0].from, to: changes[0].to }, { from: 'shared', to: 'local' });
  assert.match(changes[0].reason, /no shared state store/);
});

test('SharedBuckets is the fleet store’s takeTokens, structurally', () => {
  const buckets: SharedBuckets = new MemoryStore();
  assert.equal(typeof buckets.takeTokens, 'function');
});
