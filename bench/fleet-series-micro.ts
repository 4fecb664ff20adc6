// The dashboard over a fleet (issue 14) in isolation: what each instance
// adds every second — building its payload's series part, and reading and
// merging every instance's payloads into the points of every route — and
// how many bytes a second of the series adds to the payload.
// ROUTES=100,1000 INSTANCES=2,10 TICKS=30 node bench/fleet-series-micro.ts
import { buildFiguresPayload, FleetSeriesMerge, SecondSeries } from '../src/telemetry/index.ts';
import { observe, seriesRoutes } from './lib/series-traffic.ts';

const SIZES = (process.env.ROUTES ?? '100,1000').split(',').map(Number);
const FLEETS = (process.env.INSTANCES ?? '2,10').split(',').map(Number);
const TICKS = Number(process.env.TICKS ?? 30);
const SECOND0 = 1_767_225_600;

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const ms = (start: bigint): number => Number(process.hrtime.bigint() - start) / 1e6;

for (const n of SIZES) {
  const routes = seriesRoutes(n);
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
        observe(r.legacy, 20);
        if (r.candidate) observe(r.candidate, 5);
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
