// The sliding window in isolation: N record() calls (the request path) and
// S snapshot() calls over a full 30-second window (the rollout controller's
// once-a-second read). Prints best and median of ROUNDS rounds, and for
// record() the garbage collections seen while timing: none means the hot path
// allocates nothing. Each case runs in its own process so call sites stay
// monomorphic, as in the gateway; the injected-clock case shows the window's
// own cost apart from Date.now's.
// N=10000000 S=2000 ROUNDS=5 node bench/windows-micro.ts
import { SlidingWindow } from '../src/telemetry/windows.ts';
import { LATENCY_MIX_MS as LATENCIES } from './lib/latency-mix.ts';
import { caseToRun, doneTiming, timeRounds } from './lib/micro.ts';

const N = Number(process.env.N ?? 10_000_000);
const S = Number(process.env.S ?? 2_000);
const ROUNDS = Number(process.env.ROUNDS ?? 5);
const RETAIN = 30;
const CASES = ['record-date-now', 'record-injected-clock', 'snapshot'] as const;
const CASE = caseToRun(
  import.meta.filename,
  CASES,
  `node ${process.version}, ${ROUNDS} rounds of ${N} records / ${S} snapshots`,
);

const STATUSES = new Int32Array([200, 200, 200, 201, 204, 304, 404, 200, 200, 500]);

const time = (label: string, ops: number, unit: 'ns' | 'µs', loop: () => number) =>
  timeRounds({ label, ops, rounds: ROUNDS, unit }, loop);

async function recordDateNow(): Promise<void> {
  const window = new SlidingWindow({ retainSeconds: RETAIN });
  await time('record (Date.now clock)', N, 'ns', () => {
    for (let i = 0; i < N; i++)
      window.record(STATUSES[i % 10], LATENCIES[i & 4095], STATUSES[i % 10] >= 500);
    return N;
  });
  const snap = window.snapshot(Date.now() - RETAIN * 1000);
  console.log(
    `  (window after the run: ${snap.requests} requests, p99 ${snap.p99} ms, ` +
      `${(window.estimatedFootprintInBytes / 1024).toFixed(0)} KiB)`,
  );
}

async function recordInjectedClock(): Promise<void> {
  const epoch = Math.floor(Date.now() / 1000) * 1000;
  let tick = 0;
  const window = new SlidingWindow({ retainSeconds: RETAIN, clock: () => epoch + tick });
  await time('record (injected clock, new second per 1M)', N, 'ns', () => {
    for (let i = 0; i < N; i++) {
      tick += i & 1023 ? 0 : 1; // one "ms" per 1,024 calls: a new slot every ~1M calls
      window.record(STATUSES[i % 10], LATENCIES[i & 4095], STATUSES[i % 10] >= 500);
    }
    return N;
  });
}

async function snapshot(): Promise<void> {
  let now = Math.floor(Date.now() / 1000) * 1000;
  const window = new SlidingWindow({ retainSeconds: RETAIN, clock: () => now });
  // Every slot in use, 2,000 requests a second.
  for (let s = 0; s <= RETAIN; s++) {
    for (let i = 0; i < 2_000; i++)
      window.record(STATUSES[i % 10], LATENCIES[(s * 2_000 + i) & 4095], STATUSES[i % 10] >= 500);
    if (s < RETAIN) now += 1000;
  }
  const since = now - RETAIN * 1000;
  await time(`snapshot (${RETAIN + 1} full slots)`, S, 'µs', () => {
    let requests = 0;
    for (let i = 0; i < S; i++) requests += window.snapshot(since).requests;
    return requests;
  });
  const snap = window.snapshot(since);
  console.log(
    `  (${snap.requests} requests, p50 ${snap.p50} p95 ${snap.p95} p99 ${snap.p99} max ${snap.max} ms; ` +
      `footprint ${window.estimatedFootprintInBytes} bytes = ${RETAIN + 1} slots + merge histogram)`,
  );
}

if (CASE === 'record-date-now') await recordDateNow();
else if (CASE === 'record-injected-clock') await recordInjectedClock();
else if (CASE === 'snapshot') await snapshot();
doneTiming();
