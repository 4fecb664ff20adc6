// The sliding window is pure logic over a clock, so it is tested in-process
// with a clock the test moves by hand. Percentiles are checked against the
// exact percentile of the same values, computed by sorting.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Int32Histogram } from 'hdr-histogram-js';
import {
  latencyBinIndex,
  SlidingWindow,
  WINDOW_LATENCY_MAX_MS,
} from '../../src/telemetry/windows.ts';
import { prng } from '../helpers/prng.ts';

/** 2026-01-01T00:00:00Z: a whole second, so `T0 + n * 1000` starts second n. */
const T0 = 1_767_225_600_000;

interface Harness {
  readonly window: SlidingWindow;
  /** Set the clock to T0 + ms. */
  at(ms: number): void;
}

function harness(retainSeconds = 30): Harness {
  let now = T0;
  const window = new SlidingWindow({ retainSeconds, clock: () => now });
  return {
    window,
    at(ms) {
      now = T0 + ms;
    },
  };
}

/** The value of rank ceil(p% × n) among the sorted values: HdrHistogram's definition. */
function exactPercentile(sorted: readonly number[], p: number): number {
  return sorted[Math.max(Math.ceil((p / 100) * sorted.length), 1) - 1];
}

/** Records `latencies` spread over `seconds` slots, then checks p50/p95/p99/max within 1%. */
function assertPercentilesWithin1Percent(latencies: readonly number[], seconds: number): void {
  const h = harness(seconds);
  latencies.forEach((ms, i) => {
    h.at(Math.floor((i * seconds) / latencies.length) * 1000 + 500);
    h.window.record(200, ms, false);
  });
  const snap = h.window.snapshot(T0);
  assert.equal(snap.requests, latencies.length);
  assert.equal(snap.since, T0, 'every slot was used');
  // The window stores 10 µs units, so the exact value is the rounded one.
  const sorted = latencies.map((ms) => Math.round(ms * 100) / 100).sort((a, b) => a - b);
  for (const [name, p] of [
    ['p50', 50],
    ['p95', 95],
    ['p99', 99],
    ['max', 100],
  ] as const) {
    assertAtOrJustAbove(snap[name], exactPercentile(sorted, p), name);
  }
}

/** HDR answers the top of the value's bin: never below the exact value, at most 1% above. */
function assertAtOrJustAbove(actual: number, exact: number, what: string): void {
  const error = (actual - exact) / exact;
  assert.ok(error >= 0 && error <= 0.01, `${what}: got ${actual}, exact ${exact}, error ${error}`);
}

test('counts requests by status class, 5xx as errors', () => {
  const h = harness();
  for (const status of [100, 101, 200, 200, 204, 299, 301, 304, 400, 404, 429, 500, 503]) {
    h.window.record(status, 5, status >= 500);
  }
  const snap = h.window.snapshot(T0);
  assert.deepEqual(snap.byClass, [2, 4, 2, 3, 2]);
  assert.equal(snap.requests, 13);
  assert.equal(snap.errors, 2);
  assert.equal(snap.errorRate, 2 / 13);
});

test('a failed attempt counts as 5xx whatever its status; the window does not judge statuses', () => {
  const h = harness();
  h.window.record(200, 5, true); // a reset after the head, or a gRPC error in a 200
  h.window.record(404, 5, true);
  h.window.record(200, 5, false);
  const snap = h.window.snapshot(T0);
  assert.deepEqual(snap.byClass, [0, 1, 0, 0, 2]);
  assert.equal(snap.errors, 2);
});

test('error rate is errors over requests across the slots merged', () => {
  const h = harness();
  for (let i = 0; i < 90; i++) h.window.record(200, 5, false);
  h.at(1000);
  for (let i = 0; i < 10; i++) h.window.record(502, 5, true);
  assert.equal(h.window.snapshot(T0).errorRate, 0.1);
  assert.equal(h.window.snapshot(T0 + 1000).errorRate, 1, 'only the second with the errors');
});

test('statuses outside 100..599 count as 5xx', () => {
  const h = harness();
  for (const status of [0, -1, 99, 600, 999, Number.NaN, 1e9]) h.window.record(status, 5, false);
  h.window.record(599, 5, true);
  h.window.record(100, 5, false);
  const snap = h.window.snapshot(T0);
  assert.deepEqual(snap.byClass, [1, 0, 0, 0, 8]);
  assert.equal(snap.errors, 8);
});

test('latencies are clamped into 0.01 ms..60 s instead of throwing', () => {
  const h = harness();
  h.window.record(200, -5, false);
  h.window.record(200, 0, false);
  h.window.record(200, Number.NaN, false);
  h.window.record(200, 0.001, false);
  let snap = h.window.snapshot(T0);
  assert.equal(snap.requests, 4);
  assert.equal(snap.max, 0.01);
  assert.equal(snap.p99, 0.01);

  h.window.record(200, 120_000, false);
  h.window.record(200, Number.POSITIVE_INFINITY, false);
  snap = h.window.snapshot(T0);
  assert.equal(snap.requests, 6);
  assert.equal(snap.max, WINDOW_LATENCY_MAX_MS);
  assert.equal(snap.p99, WINDOW_LATENCY_MAX_MS);
  assert.equal(snap.p50, 0.01);
});

test('p50/p95/p99/max within 1% on 1..1000 ms uniform, over 30 slots', () => {
  const latencies: number[] = [];
  for (let i = 0; i < 30_000; i++) latencies.push(1 + (999 * i) / 29_999);
  assertPercentilesWithin1Percent(latencies, 30);
});

test('p50/p95/p99/max within 1% on a bimodal distribution (92% fast, 8% slow tail)', () => {
  const random = prng(42);
  const latencies: number[] = [];
  for (let i = 0; i < 50_000; i++) {
    latencies.push(random() < 0.92 ? 2 + random() * 18 : 250 + random() * 1750);
  }
  assertPercentilesWithin1Percent(latencies, 10);
});

test('p50 within 1% on sub-millisecond latencies', () => {
  const random = prng(7);
  const latencies: number[] = [];
  for (let i = 0; i < 10_000; i++) latencies.push(0.5 + random() * 0.5);
  assertPercentilesWithin1Percent(latencies, 1);
});

test('snapshot(since) merges only the slots from floor(since / 1000) on', () => {
  const h = harness();
  h.at(0);
  h.window.record(200, 10, false);
  h.at(1_000);
  h.window.record(404, 20, false);
  h.at(2_999);
  h.window.record(500, 30, true);
  h.at(3_250);

  let snap = h.window.snapshot(T0 + 1_500);
  assert.deepEqual(snap.byClass, [0, 0, 0, 1, 1]);
  assert.equal(snap.since, T0 + 1_000, 'the start of the oldest slot used');
  assert.equal(snap.until, T0 + 3_250);
  assert.equal(snap.max, 30);

  snap = h.window.snapshot(T0 + 2_000);
  assert.deepEqual(snap.byClass, [0, 0, 0, 0, 1]);
  assert.equal(snap.since, T0 + 2_000);
  assert.equal(snap.p50, 30);

  snap = h.window.snapshot(T0);
  assert.equal(snap.requests, 3);
  assert.equal(snap.since, T0);
  assertAtOrJustAbove(snap.p50, 20, 'p50');
});

test('slots older than retainSeconds are gone, even when asked for', () => {
  const h = harness(3);
  h.window.record(500, 100, true);
  h.at(1_000);
  h.window.record(200, 10, false);

  h.at(3_999); // second 3: second 0 is exactly retainSeconds old
  assert.equal(h.window.snapshot(T0).requests, 2);
  h.at(4_000);
  const snap = h.window.snapshot(T0);
  assert.equal(snap.requests, 1);
  assert.equal(snap.errors, 0);
  assert.equal(snap.max, 10);
  assert.equal(snap.since, T0 + 1_000);
  h.at(5_000);
  assert.equal(h.window.snapshot(T0).requests, 0);
});

test('a slot reused by the ring starts empty: no ghosts from retainSeconds + 1 seconds ago', () => {
  const h = harness(2); // 3 slots: second 3 lands on second 0's slot
  h.window.record(500, 900, true);
  h.window.record(500, 900, true);
  h.at(3_000);
  h.window.record(200, 10, false);
  const snap = h.window.snapshot(0); // asks for everything ever
  assert.equal(snap.requests, 1);
  assert.deepEqual(snap.byClass, [0, 1, 0, 0, 0]);
  assert.equal(snap.max, 10);
  assert.equal(snap.p99, 10);
  assert.equal(snap.since, T0 + 3_000);
});

test('after a long pause every slot is stale and reused', () => {
  const h = harness(5);
  for (let s = 0; s <= 5; s++) {
    h.at(s * 1000);
    h.window.record(503, 1_000, true);
  }
  h.at(3_600_000 + 250);
  h.window.record(200, 1, false);
  const snap = h.window.snapshot(0);
  assert.equal(snap.requests, 1);
  assert.equal(snap.errors, 0);
  assert.equal(snap.max, 1);
});

test('an empty window, or one whose data is out of the span, gives zeros', () => {
  const h = harness();
  h.at(500);
  const zeros = {
    requests: 0,
    byClass: [0, 0, 0, 0, 0],
    errors: 0,
    errorRate: 0,
    p50: 0,
    p95: 0,
    p99: 0,
    max: 0,
    since: T0 + 500,
    until: T0 + 500,
  };
  assert.deepEqual(h.window.snapshot(T0), zeros);
  h.window.record(500, 50, true);
  h.at(1_500);
  assert.deepEqual(h.window.snapshot(T0 + 1_000), {
    ...zeros,
    since: T0 + 1_500,
    until: T0 + 1_500,
  });
  assert.equal(h.window.snapshot(T0 + 10_000).requests, 0, 'a span starting in the future');
});

test('slots are created on first use and reused afterwards', () => {
  const h = harness(3);
  const initial = h.window.estimatedFootprintInBytes;
  h.window.record(200, 1, false);
  const oneSlot = h.window.estimatedFootprintInBytes;
  assert.ok(oneSlot > initial);
  for (let s = 1; s <= 3; s++) {
    h.at(s * 1000);
    h.window.record(200, 1, false);
  }
  h.window.snapshot(T0);
  const full = h.window.estimatedFootprintInBytes;
  assert.ok(full > oneSlot);
  for (let s = 4; s <= 20; s++) {
    h.at(s * 1000);
    h.window.record(200, 1, false);
    h.window.snapshot(T0);
  }
  assert.equal(h.window.estimatedFootprintInBytes, full, 'the ring wrapped without growing');
});

test('defaults to Date.now and reports retainSeconds', () => {
  const window = new SlidingWindow({ retainSeconds: 60 });
  assert.equal(window.retainSeconds, 60);
  const before = Date.now();
  window.record(201, 3, false);
  const snap = window.snapshot(before - 1_000);
  assert.equal(snap.requests, 1);
  assert.ok(snap.until >= before);
  assert.ok(snap.since <= before && snap.since > before - 2_000);
});

test('retainSeconds must be a positive integer', () => {
  for (const retainSeconds of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
    assert.throws(() => new SlidingWindow({ retainSeconds }), RangeError, String(retainSeconds));
  }
});

test('the fast bin index agrees with the library over the whole latency range', () => {
  // The window's histograms: 1..60 s in 10 µs units, 2 significant digits.
  const reference = new Int32Histogram(1, WINDOW_LATENCY_MAX_MS * 100, 2);
  let mismatches = 0;
  let first = -1;
  for (let units = 1; units <= WINDOW_LATENCY_MAX_MS * 100; units++) {
    if (latencyBinIndex(units) !== reference.countsArrayIndex(units)) {
      if (mismatches++ === 0) first = units;
    }
  }
  assert.equal(mismatches, 0, `first mismatch at ${first}`);
});

test('record takes the time of the request when the caller has it', () => {
  const h = harness(5);
  h.at(10_000);
  h.window.record(500, 10, true, T0 + 8_200); // second 8, passed in; the clock says second 10
  h.window.record(200, 10, false);
  assert.equal(h.window.snapshot(T0 + 9_000).requests, 1);
  const snap = h.window.snapshot(T0 + 8_000);
  assert.equal(snap.requests, 2);
  assert.equal(snap.since, T0 + 8_000);
});
