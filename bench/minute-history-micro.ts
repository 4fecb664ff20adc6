// What the report's minute history costs a request (issue 13): SideStats.observe
// (the call every finished attempt makes) without a minute history (as before
// issue 13) and with one, and the flush's cost per route × side. Prints best
// and median of ROUNDS rounds and the garbage collections seen while timing
// (none: the request path allocates nothing). Each case in its own process so
// call sites stay monomorphic, as in the gateway.
// N=5000000 ROUNDS=5 node bench/minute-history-micro.ts
import { MemoryStore } from '../src/state/index.ts';
import { MinuteHistory } from '../src/telemetry/minute-history.ts';
import { SUCCESS } from '../src/telemetry/outcome.ts';
import { SideStats } from '../src/telemetry/request-stats.ts';
import { LATENCY_MIX_MS } from './lib/latency-mix.ts';
import { caseToRun, doneTiming, timeRounds } from './lib/micro.ts';

const N = Number(process.env.N ?? 5_000_000);
const ROUNDS = Number(process.env.ROUNDS ?? 5);
const CASES = ['observe-before', 'observe-with-history', 'observe-clock-only', 'flush'] as const;
const CASE = caseToRun(
  import.meta.filename,
  CASES,
  `node ${process.version}, ${ROUNDS} rounds of ${N} observe() calls`,
);

/** The micro benches' latency mix, in seconds (observe takes seconds). */
const LATENCIES = LATENCY_MIX_MS.map((ms) => ms / 1000);
const STATUSES = new Int32Array([200, 200, 200, 201, 204, 304, 404, 200, 200, 200]);

/** `at`: pass the end time as attempt.ts does (its own clock read, made anyway for the latency). */
async function time(label: string, side: SideStats, at: boolean): Promise<void> {
  const loop = at
    ? () => {
        const origin = performance.timeOrigin;
        for (let i = 0; i < N; i++)
          side.observe(
            STATUSES[i % 10],
            LATENCIES[i & 4095],
            SUCCESS,
            -1,
            origin + performance.now(),
          );
      }
    : () => {
        for (let i = 0; i < N; i++) side.observe(STATUSES[i % 10], LATENCIES[i & 4095], SUCCESS);
      };
  await timeRounds({ label, ops: N, rounds: ROUNDS, width: 44 }, () => {
    loop();
    return N;
  });
}

if (CASE === 'observe-before') {
  await time('observe (no minute history, as before)', new SideStats('r', 'legacy', 'b'), false);
} else if (CASE === 'observe-clock-only') {
  // The caller's clock read alone (attempt.ts reads it for the latency anyway): the loop's floor.
  await time('observe (no history) + performance.now()', new SideStats('r', 'legacy', 'b'), true);
} else if (CASE === 'observe-with-history') {
  const history = new MinuteHistory();
  const side = new SideStats('r', 'legacy', 'b', history);
  await time('observe (minute history, end time given)', side, true);
} else if (CASE === 'flush') {
  // 100 routes × 2 sides, 1,000 requests each in the minute, then one flush to a Memory store.
  const routes = 100;
  const store = new MemoryStore();
  const times: number[] = [];
  let bytes = 0;
  for (let round = 0; round < ROUNDS; round++) {
    const history = new MinuteHistory();
    const now = Date.now();
    for (let r = 0; r < routes; r++)
      for (const side of ['legacy', 'candidate']) {
        const s = history.side(`route-${r}`, side);
        for (let i = 0; i < 1_000; i++)
          s.record(STATUSES[i % 10], LATENCIES[i & 4095] * 1000, false, now);
      }
    history.start({ sink: store, instance: `i-${round}`, retainMs: 86_400_000 });
    const start = process.hrtime.bigint();
    await history.stop();
    times.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  const rows = await store.readHistory(0, Date.now() + 60_000);
  for (const r of rows) bytes += Buffer.byteLength(r.payload);
  times.sort((a, b) => a - b);
  console.log(
    `flush of ${routes} routes × 2 sides (${routes * 2} rows)       best ${times[0].toFixed(2)} ms   median ${times[Math.floor(ROUNDS / 2)].toFixed(2)} ms; ` +
      `payload ${(bytes / rows.length).toFixed(0)} bytes a row on average`,
  );
}
doneTiming();
