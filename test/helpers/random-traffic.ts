// Seeded random traffic for the window and fleet tests: the same "random"
// requests every run, recorded into SlidingWindows at times a test sets.
import type { SlidingWindow } from '../../src/telemetry/index.ts';
import { prng } from './prng.ts';

/** 2026-01-01T00:00:00Z: a whole second, so `T0 + n * 1000` starts second n. */
export const T0 = 1_767_225_600_000;
export const T0_SECOND = T0 / 1000;

/** mulberry32 (helpers/prng.ts), under the name these tests use. */
export const seeded = prng;

const STATUSES = [101, 200, 200, 200, 201, 204, 301, 304, 400, 404, 429, 500, 502, 503, 700];

/**
 * A latency in ms from a mix that covers the whole range a window keeps and
 * beyond: mostly 1–50 ms, a slow tail up to 2 s, and a few odd ones (below
 * 10 µs, above 60 s, NaN) that the window clamps.
 */
export function randomLatency(random: () => number): number {
  const u = random();
  if (u < 0.8) return 1 + random() * 49;
  if (u < 0.97) return 50 + random() * 1950;
  if (u < 0.98) return random() * 0.02;
  if (u < 0.99) return 60_000 + random() * 100_000;
  if (u < 0.995) return Number.NaN;
  // Log-uniform over the whole range, so every bucket of the histogram is reached.
  return 0.01 * 6_000_000 ** random();
}

/** One request: when it ended (ms into its second), its status, latency and outcome. */
export interface RandomRequest {
  readonly atMs: number;
  readonly status: number;
  readonly ms: number;
  readonly failed: boolean;
}

/** `n` requests of one second. */
export function randomRequests(random: () => number, n: number): RandomRequest[] {
  const out: RandomRequest[] = [];
  for (let i = 0; i < n; i++) {
    const status = STATUSES[Math.floor(random() * STATUSES.length)];
    out.push({
      atMs: Math.floor(random() * 1000),
      status,
      ms: randomLatency(random),
      failed: status >= 500 || random() < 0.02,
    });
  }
  return out;
}

/** Records `requests` in epoch `second` into every window given. */
export function recordSecond(
  windows: readonly SlidingWindow[],
  second: number,
  requests: readonly RandomRequest[],
): void {
  for (const r of requests) {
    for (const w of windows) w.record(r.status, r.ms, r.failed, second * 1000 + r.atMs);
  }
}
