// The dashboard over a fleet (issue 14) in isolation: what each instance
// adds every second — building its payload's series part, and reading and
// merging every instance's payloads into the points of every route — and
// how many bytes a second of the series adds to the payload.
// ROUTES=100,1000 INSTANCES=2,10 TICKS=30 node bench/fleet-series-micro.ts
import {
  buildFiguresPayload,
  FleetSeriesMerge,
  SecondSeries,
  type SeriesRoute,
  SideStats,
  SUCCESS,
} from '../src/telemetry/index.ts';

const SIZES = (process.env.ROUTES ?? '100,1000').split(',').map(Number);
const FLEETS = (process.env.INSTANCES ?? '2,10').split(',').map(Number);
const TICKS = Number(process.env.TICKS ?? 30);
const SECOND0 = 1_767_225_600;

/** Latencies from a long-tailed mix (92% 2–22 ms, 8% 250 ms–1.85 s), as series-micro.ts. */
const LATENCIES = new Float64Array(4096);
for (let i = 0; i < LATENCIES.length; i++) {
  const u = ((i * 2654435761) >>> 0) / 4294967296;
  LATENCIES[i] = u < 0.92 ? 2 + u * 20 : 250 + (u - 0.92) * 20_000;
}
let k = 0;

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const ms = (start: bigint): number => Number(process.hrtime.bigint() - start) / 1e6;

for (const n of SIZES) {
  const routes: SeriesRoute[] = [];
  for (let i = 0; i < n; i++) {
    routes.push({
      name: `route-${i}`,
      legacy: new SideStats(`route-${i}`, 'legacy', 'legacy'),
      candidate: new SideStats(`route-${i}`, 'candidate', 'rewrite'),
      weight: 10,
    });
  }
  // One instance's sampler: its second is what every instance of the fleet publishes (same shape).
  const series = new SecondSeries(() => routes);
  series.sample(SECOND0);
  for (const fleet of FLEETS) {
    const build: number[] = [];
    const merge: number[] = [];
    let bytes = 0;
    const merger = new FleetSeriesMerge({ localInstance: 'i0' });
    for (let t = 1; t <= TICKS; t++) {
      const second = SECOND0 + t;
      for (const r of routes) {
        for (let j = 0; j < 20; j++) r.legacy.observe(200, LATENCIES[k++ & 4095] / 1000, SUCCESS);
        for (let j = 0; j < 5; j++)
          r.candidate?.observe(200, LATENCIES[k++ & 4095] / 1000, SUCCESS);
      }
      series.sample(second);
      let start = process.hrtime.bigint();
      const payload = buildFiguresPayload([], second, { series: series.localSecond })!;
      build.push(ms(start));
      bytes = payload.length;
      const slots = Array.from({ length: fleet }, (_, i) => ({
        instance: `i${i}`,
        second,
        payload,
      }));
      start = process.hrtime.bigint();
      const { revised } = merger.ingest(slots, second);
      for (const s of revised) merger.merged(s);
      merge.push(ms(start));
    }
    console.log(
      `routes=${n} instances=${fleet}: payload ${(bytes / 1024).toFixed(1)} KiB (${(bytes / n).toFixed(0)} B a route); build ${median(build).toFixed(2)} ms; read + merge of ${fleet} payloads ${median(merge).toFixed(2)} ms (medians of ${TICKS} seconds)`,
    );
  }
}
