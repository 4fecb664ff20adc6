// The breaker is pure logic over a clock, so it is tested in-process with a
// clock the test moves by hand (and once with node:test's fake timers).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { BreakerConfig } from '../../src/config/index.ts';
import { DEFAULTS } from '../../src/config/index.ts';
import { type BreakerTransition, CircuitBreaker } from '../../src/guard/breaker.ts';

interface Harness {
  readonly breaker: CircuitBreaker;
  readonly transitions: BreakerTransition[];
  /** Move the clock forward by ms. */
  advance(ms: number): void;
}

function harness(overrides: Partial<BreakerConfig> = {}, start = 1_000_000): Harness {
  let now = start;
  const transitions: BreakerTransition[] = [];
  const breaker = new CircuitBreaker(
    { ...DEFAULTS.breaker, ...overrides },
    {
      backend: 'rewrite',
      route: 'orders',
      now: () => now,
      onTransition: (t) => transitions.push(t),
    },
  );
  return {
    breaker,
    transitions,
    advance(ms) {
      now += ms;
    },
  };
}

/** Send n requests through the breaker, each admitted, each with the same outcome. */
function calls(breaker: CircuitBreaker, n: number, ok: boolean, durationMs = 5): void {
  for (let i = 0; i < n; i++) {
    assert.equal(breaker.tryAcquire(), true, `request ${i + 1} of ${n} should be admitted`);
    breaker.record(ok, durationMs);
  }
}

/** Trip a default breaker with 20 failures. */
function trip(h: Harness): void {
  calls(h.breaker, 20, false);
  assert.equal(h.breaker.state, 'open');
}

test('opens exactly when the error ratio reaches errorRatio, with the numbers that caused it', () => {
  const h = harness();
  calls(h.breaker, 10, true);
  calls(h.breaker, 9, false);
  assert.equal(h.breaker.state, 'closed');
  calls(h.breaker, 1, false);
  assert.equal(h.breaker.state, 'open');
  assert.equal(h.breaker.tryAcquire(), false);
  assert.deepEqual(h.transitions, [
    {
      backend: 'rewrite',
      route: 'orders',
      from: 'closed',
      to: 'open',
      reason: 'errors 10/20 ≥ 50% in 10000ms',
      errorRatio: 0.5,
      slowRatio: 0,
      calls: 20,
      failures: 10,
      slow: 0,
      windowMs: 10_000,
      at: 1_000_000,
    },
  ]);
});

test('stays closed one failure below the threshold', () => {
  const h = harness();
  calls(h.breaker, 11, true);
  calls(h.breaker, 9, false);
  assert.equal(h.breaker.state, 'closed');
  assert.equal(h.breaker.tryAcquire(), true);
  assert.deepEqual(h.transitions, []);
  const s = h.breaker.snapshot();
  assert.equal(s.calls, 20);
  assert.equal(s.failures, 9);
  assert.equal(s.errorRatio, 0.45);
});

test('honours minRequests: 19 failures of 19 calls do not trip, the 20th does', () => {
  const h = harness({ minRequests: 20 });
  calls(h.breaker, 19, false);
  assert.equal(h.breaker.state, 'closed');
  calls(h.breaker, 1, false);
  assert.equal(h.breaker.state, 'open');
  assert.equal(h.transitions[0].calls, 20);
  assert.equal(h.transitions[0].errorRatio, 1);
});

test('failures older than the window no longer count', () => {
  const h = harness();
  calls(h.breaker, 19, false);
  h.advance(11_000);
  calls(h.breaker, 1, false);
  assert.equal(h.breaker.state, 'closed');
  const s = h.breaker.snapshot();
  assert.equal(s.calls, 1);
  assert.equal(s.failures, 1);
});

test('failures still inside the window count', () => {
  const h = harness();
  calls(h.breaker, 19, false);
  h.advance(9_000);
  calls(h.breaker, 1, false);
  assert.equal(h.breaker.state, 'open');
  assert.equal(h.transitions[0].failures, 20);
});

test('the window slides bucket by bucket', () => {
  const h = harness({ window: 10_000 });
  // One failure per second for 10 s: each leaves as a new one comes in.
  for (let i = 0; i < 10; i++) {
    calls(h.breaker, 1, false);
    h.advance(1_000);
  }
  assert.equal(h.breaker.snapshot().failures, 9);
  h.advance(4_000);
  assert.equal(h.breaker.snapshot().failures, 5);
  h.advance(10_000);
  assert.equal(h.breaker.snapshot().calls, 0);
});

test('4xx-like outcomes (ok) never trip it, however many', () => {
  const h = harness();
  calls(h.breaker, 1_000, true);
  assert.equal(h.breaker.state, 'closed');
  assert.equal(h.breaker.snapshot().calls, 1_000);
});

test('opens when the slow-call ratio reaches slowRatio', () => {
  const h = harness({ slowCall: 1_000, slowRatio: 1 });
  calls(h.breaker, 19, true, 1_000);
  calls(h.breaker, 1, true, 999);
  assert.equal(h.breaker.state, 'closed', 'one fast call keeps the ratio below 100%');
  const g = harness({ slowCall: 1_000, slowRatio: 1 });
  calls(g.breaker, 20, true, 1_000);
  assert.equal(g.breaker.state, 'open');
  assert.equal(g.transitions[0].slow, 20);
  assert.equal(g.transitions[0].slowRatio, 1);
  assert.equal(g.transitions[0].reason, 'slow calls (≥ 1000ms) 20/20 ≥ 100% in 10000ms');
});

test('a slow-call ratio below 1 trips on its share', () => {
  const h = harness({ slowCall: 200, slowRatio: 0.25 });
  calls(h.breaker, 15, true, 10);
  calls(h.breaker, 4, true, 500);
  assert.equal(h.breaker.state, 'closed');
  calls(h.breaker, 1, true, 500);
  assert.equal(h.breaker.state, 'open');
  assert.equal(h.transitions[0].slowRatio, 0.25);
});

test('a ratio of 0 turns that trigger off', () => {
  const h = harness({ errorRatio: 0, slowRatio: 0 });
  calls(h.breaker, 50, true);
  assert.equal(h.breaker.state, 'closed');
});

test('refuses requests while open, and the refusals are never counted', () => {
  const h = harness();
  trip(h);
  const before = h.breaker.snapshot();
  for (let i = 0; i < 1_000; i++) assert.equal(h.breaker.tryAcquire(), false);
  h.advance(4_999);
  assert.equal(h.breaker.tryAcquire(), false);
  assert.deepEqual(h.breaker.snapshot(), before);
  assert.equal(h.transitions.length, 1);
});

test('turns half-open after openFor and admits exactly `probes` requests', () => {
  const h = harness({ openFor: 5_000, probes: 3 });
  trip(h);
  h.advance(4_999);
  assert.equal(h.breaker.tryAcquire(), false);
  h.advance(1);
  assert.equal(h.breaker.tryAcquire(), true);
  assert.equal(h.breaker.state, 'half-open');
  assert.equal(h.breaker.tryAcquire(), true);
  assert.equal(h.breaker.tryAcquire(), true);
  assert.equal(h.breaker.tryAcquire(), false, 'no fourth probe before the three report');
  const s = h.breaker.snapshot();
  assert.equal(s.halfOpenPermits, 0);
  assert.equal(s.probesInFlight, 3);
  assert.equal(h.transitions[1].from, 'open');
  assert.equal(h.transitions[1].to, 'half-open');
  assert.equal(h.transitions[1].reason, 'open for 5000ms');
});

test('closes after `probes` good probes, with a fresh window', () => {
  const h = harness({ probes: 3 });
  trip(h);
  h.advance(5_000);
  for (let i = 0; i < 3; i++) assert.equal(h.breaker.tryAcquire(), true);
  h.breaker.record(true, 5);
  h.breaker.record(true, 5);
  assert.equal(h.breaker.state, 'half-open');
  assert.equal(h.breaker.snapshot().probeSuccesses, 2);
  h.breaker.record(true, 5);
  assert.equal(h.breaker.state, 'closed');
  assert.equal(h.breaker.tryAcquire(), true);
  const s = h.breaker.snapshot();
  assert.equal(s.calls, 0);
  assert.equal(s.openedAt, null);
  const last = h.transitions.at(-1)!;
  assert.equal(last.from, 'half-open');
  assert.equal(last.to, 'closed');
  assert.equal(last.reason, '3 of 3 probes succeeded');
  // The old failures are gone: 19 new ones do not trip it.
  calls(h.breaker, 19, false);
  assert.equal(h.breaker.state, 'closed');
});

test('one failed probe reopens it at once, and openFor starts again', () => {
  const h = harness();
  trip(h);
  h.advance(5_000);
  for (let i = 0; i < 3; i++) assert.equal(h.breaker.tryAcquire(), true);
  h.breaker.record(true, 5);
  h.advance(100);
  h.breaker.record(false, 5);
  assert.equal(h.breaker.state, 'open');
  assert.equal(h.breaker.tryAcquire(), false);
  assert.equal(h.transitions.at(-1)!.reason, 'probe 2 of 3 failed');
  // The third probe reporting late does not change that.
  h.breaker.record(true, 5);
  assert.equal(h.breaker.state, 'open');
  h.advance(4_999);
  assert.equal(h.breaker.tryAcquire(), false);
  h.advance(1);
  assert.equal(h.breaker.tryAcquire(), true);
  assert.equal(h.breaker.state, 'half-open');
});

test('a slow probe counts as a failed one', () => {
  const h = harness({ slowCall: 1_000 });
  trip(h);
  h.advance(5_000);
  assert.equal(h.breaker.tryAcquire(), true);
  h.breaker.record(true, 1_000);
  assert.equal(h.breaker.state, 'open');
  assert.equal(h.transitions.at(-1)!.reason, 'probe 1 of 3 was slow');
});

test('probes that never report are handed out again after openFor', () => {
  const h = harness({ openFor: 5_000, probes: 2 });
  trip(h);
  h.advance(5_000);
  assert.equal(h.breaker.tryAcquire(), true);
  assert.equal(h.breaker.tryAcquire(), true);
  h.advance(4_999);
  assert.equal(h.breaker.tryAcquire(), false);
  h.advance(1);
  assert.equal(h.breaker.tryAcquire(), true, 'the lost permits are released');
  assert.equal(h.breaker.tryAcquire(), true);
  assert.equal(h.breaker.tryAcquire(), false);
  h.breaker.record(true, 5);
  h.breaker.record(true, 5);
  assert.equal(h.breaker.state, 'closed');
});

test('with no traffic at all, an active probe is due after 2 × openFor and can close it', () => {
  const h = harness({ openFor: 5_000 });
  assert.equal(h.breaker.idleProbeDue(), false, 'never due while closed');
  trip(h);
  h.advance(9_999);
  assert.equal(h.breaker.idleProbeDue(), false);
  h.advance(1);
  assert.equal(h.breaker.idleProbeDue(), true);
  assert.equal(h.breaker.idleProbeDue(), false, 'one active probe at a time');
  h.breaker.probeResult(true);
  assert.equal(h.breaker.state, 'closed');
  assert.equal(h.breaker.tryAcquire(), true);
  const last = h.transitions.at(-1)!;
  assert.equal(last.from, 'open');
  assert.equal(last.to, 'closed');
  assert.equal(last.reason, 'active health probe passed');
});

test('a failed active probe keeps it open for another openFor', () => {
  const h = harness({ openFor: 5_000 });
  trip(h);
  h.advance(10_000);
  assert.equal(h.breaker.idleProbeDue(), true);
  h.breaker.probeResult(false);
  assert.equal(h.breaker.state, 'open');
  h.advance(4_999);
  assert.equal(h.breaker.tryAcquire(), false);
  assert.equal(h.breaker.idleProbeDue(), false);
  h.advance(5_001);
  assert.equal(h.breaker.idleProbeDue(), true, 'due again after another 2 × openFor');
});

test('a half-open breaker whose probes hang asks for an active probe', () => {
  const h = harness({ openFor: 5_000 });
  trip(h);
  h.advance(5_000);
  for (let i = 0; i < 3; i++) assert.equal(h.breaker.tryAcquire(), true);
  h.advance(9_999);
  assert.equal(h.breaker.idleProbeDue(), false);
  h.advance(1);
  assert.equal(h.breaker.idleProbeDue(), true);
  h.breaker.probeResult(false);
  assert.equal(h.breaker.state, 'open');
  assert.equal(h.transitions.at(-1)!.reason, 'active health probe failed');
});

test('no active probe is due while probes flow', () => {
  const h = harness({ openFor: 5_000, probes: 1 });
  trip(h);
  for (let i = 0; i < 5; i++) {
    h.advance(5_000);
    assert.equal(h.breaker.tryAcquire(), true);
    h.breaker.record(false, 5);
    assert.equal(h.breaker.idleProbeDue(), false);
  }
});

test('a probe that reports late still counts as probe traffic', () => {
  const h = harness({ openFor: 5_000, probes: 2 });
  trip(h);
  h.advance(5_000);
  assert.equal(h.breaker.tryAcquire(), true);
  h.advance(8_000);
  h.breaker.record(true, 5);
  h.advance(2_000);
  assert.equal(h.breaker.idleProbeDue(), false, '10 s since the probe left, 2 s since it reported');
  h.advance(8_000);
  assert.equal(h.breaker.idleProbeDue(), true);
});

test('forced open refuses everything, forced closed admits everything, undefined is automatic', () => {
  const h = harness();
  h.breaker.force('open');
  assert.equal(h.breaker.state, 'open');
  assert.equal(h.breaker.forced, 'open');
  assert.equal(h.breaker.tryAcquire(), false);
  h.advance(60_000);
  assert.equal(h.breaker.tryAcquire(), false, 'forced open never half-opens');
  assert.equal(h.breaker.idleProbeDue(), false);

  h.breaker.force('closed');
  assert.equal(h.breaker.state, 'closed');
  assert.equal(h.breaker.forced, 'closed');
  calls(h.breaker, 50, false);
  assert.equal(h.breaker.state, 'closed', 'records do not trip a forced breaker');
  assert.equal(h.breaker.snapshot().failures, 50, 'but they are counted');

  h.breaker.force(undefined);
  assert.equal(h.breaker.forced, undefined);
  assert.equal(h.breaker.state, 'open', 'back in automatic, the window trips it');
  assert.deepEqual(
    h.transitions.map((t) => [t.from, t.to, t.reason]),
    [
      ['closed', 'open', 'forced open'],
      ['open', 'closed', 'forced closed'],
      ['closed', 'open', 'errors 50/50 ≥ 50% in 10000ms'],
    ],
  );
});

test('forcing an open breaker closed, then back to automatic with a clean window, stays closed', () => {
  const h = harness();
  trip(h);
  h.advance(11_000);
  h.breaker.force('closed');
  assert.equal(h.breaker.tryAcquire(), true);
  h.breaker.force(undefined);
  assert.equal(h.breaker.state, 'closed');
  assert.equal(h.breaker.tryAcquire(), true);
  assert.deepEqual(
    h.transitions.map((t) => [t.from, t.to]),
    [
      ['closed', 'open'],
      ['open', 'closed'],
    ],
  );
  const s = h.breaker.snapshot();
  assert.equal(s.forced, null);
  assert.equal(s.state, 'closed');
});

test('snapshot reports the state, forced flag and window figures', () => {
  const h = harness();
  calls(h.breaker, 3, true, 2_000);
  calls(h.breaker, 1, false);
  assert.deepEqual(h.breaker.snapshot(), {
    backend: 'rewrite',
    route: 'orders',
    state: 'closed',
    forced: null,
    calls: 4,
    failures: 1,
    slow: 3,
    errorRatio: 0.25,
    slowRatio: 0.75,
    windowMs: 10_000,
    openedAt: null,
    halfOpenPermits: 0,
    probesInFlight: 0,
    probeSuccesses: 0,
  });
  h.breaker.force('open');
  const s = h.breaker.snapshot();
  assert.equal(s.state, 'open');
  assert.equal(s.forced, 'open');
  assert.equal(s.openedAt, 1_000_000);
});

test('uses Date.now by default, so fake timers drive it', (t) => {
  t.mock.timers.enable({ apis: ['Date', 'setTimeout'], now: 50_000 });
  const breaker = new CircuitBreaker(DEFAULTS.breaker, { backend: 'b', route: 'r' });
  calls(breaker, 20, false);
  assert.equal(breaker.snapshot().openedAt, 50_000);
  t.mock.timers.tick(4_999);
  assert.equal(breaker.tryAcquire(), false);
  t.mock.timers.tick(1);
  assert.equal(breaker.tryAcquire(), true);
  assert.equal(breaker.state, 'half-open');
});

test('a breaker whose first call comes long after its creation counts from that call (the ring is made by the first call)', () => {
  const h = harness();
  // Minutes of silence before any call: nothing to slide, then a normal window.
  h.advance(5 * 60_000);
  calls(h.breaker, 10, true);
  calls(h.breaker, 9, false);
  assert.equal(h.breaker.state, 'closed');
  // The window (10 s) drops the first calls as usual once the ring exists.
  h.advance(DEFAULTS.breaker.window);
  calls(h.breaker, 19, false);
  assert.equal(h.breaker.state, 'closed');
  calls(h.breaker, 1, false);
  assert.equal(h.breaker.state, 'open');
  assert.equal(h.transitions.at(-1)?.calls, 20);
});
