// What the report's minute history costs a request (issue 13): SideStats.observe
// (the call every finished attempt makes) without a minute history (as before
// issue 13) and with one, and the flush's cost per route × side. Prints best
// and median of ROUNDS rounds and the garbage collections seen while timing
// (none: the request path allocates nothing). Each case in its own process so
// call sites stay monomorphic, as in the gateway.
// N=5000000 ROUNDS=5 node bench/minute-history-micro.ts
import { execFileSync } from 'node:child_process';
import { PerformanceObserver } from 'node:perf_hooks';
import { MemoryStore } from '../src/state/index.ts';
import { MinuteHistory } from '../src/telemetry/minute-history.ts';
import { SUCCESS } from '../src/telemetry/outcome.ts';
import { SideStats } from '../src/telemetry/request-stats.ts';

const N = Number(process.env.N ?? 5_000_000);
const ROUNDS = Number(process.env.ROUNDS ?? 5);
const CASES = ['observe-before', 'observe-with-history', 'observe-clock-only', 'flush'] as const;
const CASE = process.env.CASE;

if (CASE === undefined) {
  console.log(`node ${process.version}, ${ROUNDS} rounds of ${N} observe() calls`);
  for (const name of CASES) {
    execFileSync(process.execPath, [import.meta.filename], {
      env: { ...process.env, CASE: name },
      stdio: 'inherit',
    });
  }
  process.exit(0);
}

let gcs = 0;
const observer = new PerformanceObserver((list) => {
  gcs += list.getEntries().length;
});
observer.observe({ entryTypes: ['gc'] });
const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** The latency mix of bench/windows-micro.ts (most 2–20 ms, some up to 2 s), in seconds. */
const LATENCIES = new Float64Array(4096);
for (let i = 0; i < LATENCIES.length; i++) {
  const u = ((i * 2654435761) >>> 0) / 4294967296;
  LATENCIES[i] = (u < 0.92 ? 2 + u * 20 : 250 + (u - 0.92) * 20_000) / 1000;
}
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
  loop();
  await settle();
  const perOp: number[] = [];
  let collections = 0;
  for (let round = 0; round < ROUNDS; round++) {
    gcs = 0;
    const start = process.hrtime.bigint();
    loop();
    perOp.push(Number(process.hrtime.bigint() - start) / N);
    await settle();
    collections += gcs;
  }
  perOp.sort((a, b) => a - b);
  const f = (n: number) => n.toFixed(1).padStart(6);
  console.log(
    `${label.padEnd(44)} best ${f(perOp[0])} ns/op   median ${f(perOp[Math.floor(ROUNDS / 2)])} ns/op   GCs ${collections}`,
  );
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
} else throw new Error(`unknown CASE ${CASE}`);
observer.disconnect();
