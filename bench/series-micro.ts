// The dashboard's 1-second series (issue 14) in isolation: what one sample of
// every route costs each second, what the rings hold, and what a route's
// 15-minute answer costs to build. Nothing is added to the request path
// (the sampler reads the counters SideStats keeps anyway), so the request
// path's cost is SideStats.observe as before; it is timed here with and
// without a sampler running over the same stats, to show it.
// ROUTES=100,1000,10000 TICKS=60 node bench/series-micro.ts
import { SecondSeries, SideStats, SUCCESS } from '../src/telemetry/index.ts';
import { latencyMs } from './lib/latency-mix.ts';
import { observe, seriesRoutes } from './lib/series-traffic.ts';

const SIZES = (process.env.ROUTES ?? '100,1000,10000').split(',').map(Number);
const TICKS = Number(process.env.TICKS ?? 60);
/** Requests per side between two samples (the traffic is not timed). */
const PER_SIDE = 5;

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

for (const n of SIZES) {
  const routes = seriesRoutes(n);
  const series = new SecondSeries(() => routes);
  const heapBefore = process.memoryUsage().heapUsed;
  const times: number[] = [];
  const second0 = 1_767_225_600;
  series.sample(second0);
  for (let t = 1; t <= TICKS; t++) {
    for (const r of routes) {
      observe(r.legacy, PER_SIDE);
      if (r.candidate) observe(r.candidate, 1);
    }
    const start = process.hrtime.bigint();
    series.sample(second0 + t);
    times.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  const sorted = [...times].sort((a, b) => a - b);
  const mean = times.reduce((a, b) => a + b, 0) / times.length;
  const start = process.hrtime.bigint();
  const body = JSON.stringify({ points: series.points('route-0', 900) });
  const answerMs = Number(process.hrtime.bigint() - start) / 1e6;
  console.log(
    `routes=${n} sample: mean ${mean.toFixed(2)} ms p50 ${percentile(sorted, 50).toFixed(2)} ms p99 ${percentile(sorted, 99).toFixed(2)} ms; rings ${(series.footprintBytes / 1048576).toFixed(1)} MiB (heap +${((process.memoryUsage().heapUsed - heapBefore) / 1048576).toFixed(1)} MiB); one route's ${TICKS}-point answer ${body.length} B in ${answerMs.toFixed(2)} ms`,
  );
}

// The request path: observe() alone, then with a sampler reading the same stats every 1,000 requests.
const side = new SideStats('r', 'legacy', 'b');
const alone = new SecondSeries(() => [
  { name: 'r', legacy: side, candidate: undefined, weight: 0 },
]);
for (const sampled of [false, true, false, true]) {
  const N = 2_000_000;
  const start = process.hrtime.bigint();
  for (let i = 0; i < N; i++) {
    side.observe(200, latencyMs(i) / 1000, SUCCESS);
    if (sampled && i % 1000 === 0) alone.sample(i);
  }
  const ns = Number(process.hrtime.bigint() - start) / N;
  console.log(`observe ${sampled ? 'with' : 'without'} sampler: ${ns.toFixed(1)} ns/request`);
}
