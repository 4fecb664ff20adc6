// The concurrency limiter over an injected clock and simulated latencies:
// the static cap, and how the adaptive cap follows a backend that slows down
// and recovers.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ConcurrencyConfig } from '../../src/config/index.ts';
import { ConcurrencyLimiter } from '../../src/guard/concurrency.ts';

function config(overrides: Partial<ConcurrencyConfig> = {}): ConcurrencyConfig {
  return { max: 500, adaptive: true, minLimit: 10, tolerance: 2, ...overrides };
}

/** A limiter on a fake clock that advances by hand. */
function clocked(c: ConcurrencyConfig) {
  const clock = { now: 0 };
  const limiter = new ConcurrencyLimiter(c, { now: () => clock.now });
  /** `n` calls one after another, each `latency` ms long (`latencyOf(i)` when a function). */
  const run = (n: number, latency: number | ((i: number) => number), ok = true) => {
    for (let i = 0; i < n; i++) {
      assert.equal(limiter.tryAcquire(), true);
      const ms = typeof latency === 'number' ? latency : latency(i);
      clock.now += 1; // a sample every millisecond: one interval per 100 samples
      limiter.release(ms, ok);
    }
  };
  return { clock, limiter, run };
}

/** How many requests get in at once right now; they finish after `latency` ms, as the others. */
function admitted(limiter: ConcurrencyLimiter, latency = 10): number {
  let n = 0;
  while (limiter.tryAcquire()) n++;
  for (let i = 0; i < n; i++) limiter.release(latency, true);
  return n;
}

test('static: admits max at once, refuses the excess, and a release frees a slot', () => {
  const limiter = new ConcurrencyLimiter(config({ max: 3, adaptive: false }));
  assert.equal(limiter.limit, 3);
  assert.deepEqual(
    [limiter.tryAcquire(), limiter.tryAcquire(), limiter.tryAcquire()],
    [true, true, true],
  );
  assert.equal(limiter.tryAcquire(), false);
  assert.equal(limiter.inFlight, 3);
  limiter.release(5, true);
  assert.equal(limiter.inFlight, 2);
  assert.equal(limiter.tryAcquire(), true);
  assert.equal(limiter.tryAcquire(), false);
  const s = limiter.snapshot();
  assert.equal(s.rejected, 2);
  assert.equal(s.inFlight, 3);
  assert.equal(s.adaptive, false);
});

test('static: latency never moves the cap', () => {
  const limiter = new ConcurrencyLimiter(config({ max: 7, adaptive: false }));
  for (let i = 0; i < 1_000; i++) {
    limiter.tryAcquire();
    limiter.release(i % 2 === 0 ? 1 : 10_000, i % 3 !== 0);
  }
  assert.equal(limiter.limit, 7);
  assert.equal(admitted(limiter), 7);
});

test('a release without an acquire does not make room for more than the cap', () => {
  const limiter = new ConcurrencyLimiter(config({ max: 2, adaptive: false }));
  limiter.release(1, true);
  assert.equal(limiter.inFlight, 0);
  assert.equal(admitted(limiter), 2);
});

test('adaptive: starts at max, sheds when latency rises past tolerance × baseline, recovers', () => {
  const { limiter, run } = clocked(config());
  assert.equal(limiter.limit, 500, 'no shedding before anything is known');
  run(2_000, 10);
  assert.equal(limiter.limit, 500, 'healthy at 10 ms');
  assert.equal(limiter.snapshot().baselineMs, 10);

  run(300, 100); // three intervals at 10× the baseline
  assert.ok(limiter.limit < 250, `limit ${limiter.limit} after the slowdown`);
  assert.equal(admitted(limiter, 100), limiter.limit, 'the excess is refused');
  run(2_000, 100);
  assert.equal(limiter.limit, 10, 'settles at minLimit while the backend stays slow');
  assert.equal(admitted(limiter, 100), 10);
  assert.equal(limiter.snapshot().recentMs, 100);

  run(10_000, 10);
  assert.equal(limiter.limit, 500, 'grows back to max once latency is back');
  assert.equal(admitted(limiter), 500);
});

test('adaptive: a slowdown within tolerance sheds nothing', () => {
  const { limiter, run } = clocked(config({ tolerance: 2 }));
  run(1_000, 10);
  run(3_000, 19);
  assert.equal(limiter.limit, 500);
});

test('adaptive: the median ignores a slow outlier in an interval', () => {
  const { limiter, run } = clocked(config());
  run(1_000, 10);
  // One call in ten times out at 3 s: the median stays 10 ms.
  run(5_000, (i) => (i % 10 === 0 ? 3_000 : 10));
  assert.equal(limiter.limit, 500);
});

test('adaptive: fast failures do not set the baseline', () => {
  const { limiter, run } = clocked(config());
  run(2_000, 1, false); // a backend failing in 1 ms
  run(2_000, 10, true); // then answering properly in 10 ms
  assert.equal(limiter.snapshot().baselineMs, 10);
  assert.equal(limiter.limit, 500, 'a baseline of 1 ms would shed the healthy 10 ms answers');
});

test('adaptive: a slow spell longer than a minute becomes the new baseline', () => {
  const { clock, limiter, run } = clocked(config());
  run(2_000, 10);
  const slow = () => {
    for (let i = 0; i < 100; i++) {
      limiter.tryAcquire();
      clock.now += 10; // 100 calls a second
      limiter.release(100, true);
    }
  };
  for (let s = 0; s < 10; s++) slow();
  assert.equal(limiter.limit, 10, 'shed during the first seconds');
  for (let s = 0; s < 60; s++) slow();
  assert.equal(limiter.snapshot().baselineMs, 100);
  assert.equal(limiter.limit, 500, 'after 60–70 s, 100 ms is the normal latency');
});

test('adaptive: an interval also ends after 100 ms with at least 10 samples', () => {
  const { clock, limiter } = clocked(config());
  const sample = (ms: number, gap: number) => {
    limiter.tryAcquire();
    clock.now += gap;
    limiter.release(ms, true);
  };
  for (let i = 0; i < 50; i++) sample(10, 20); // 5 calls per 100 ms: intervals of 10 samples
  assert.equal(limiter.snapshot().baselineMs, 10);
  for (let i = 0; i < 9; i++) sample(100, 20);
  assert.equal(limiter.limit, 500, 'nine samples are not enough to judge');
  sample(100, 20);
  assert.ok(limiter.limit < 500, 'the tenth ends the interval');
});

test('adaptive: the cap stays within [minLimit, max] whatever the latencies', () => {
  let seed = 42;
  const random = () => {
    seed = (Math.imul(seed, 1_103_515_245) + 12_345) >>> 0;
    return seed / 2 ** 32;
  };
  const { limiter, run } = clocked(config({ max: 200, minLimit: 5, tolerance: 1.5 }));
  let lowest = Number.POSITIVE_INFINITY;
  let highest = 0;
  for (let phase = 0; phase < 200; phase++) {
    const scale = random() < 0.5 ? 5 : 5 + random() * 500;
    run(100, () => scale * (0.5 + random()), random() < 0.9);
    lowest = Math.min(lowest, limiter.limit);
    highest = Math.max(highest, limiter.limit);
  }
  assert.ok(lowest >= 5, `lowest ${lowest}`);
  assert.ok(highest <= 200, `highest ${highest}`);
  assert.ok(lowest < 200, 'the random slowdowns did shed');
});

test('minLimit above max is read as max', () => {
  const { limiter, run } = clocked(config({ max: 5, minLimit: 10 }));
  run(1_000, 10);
  run(1_000, 1_000);
  assert.equal(limiter.limit, 5);
});
