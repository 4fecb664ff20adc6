// What the dashboard-series benches share: routes with both sides' stats,
// and a long-tailed latency mix (92% 2–22 ms, 8% 250 ms–1.85 s, as
// windows-micro.ts) to observe into them.
import { type SeriesRoute, SideStats, SUCCESS } from '../../src/telemetry/index.ts';

const LATENCIES = new Float64Array(4096);
for (let i = 0; i < LATENCIES.length; i++) {
  const u = ((i * 2654435761) >>> 0) / 4294967296;
  LATENCIES[i] = u < 0.92 ? 2 + u * 20 : 250 + (u - 0.92) * 20_000;
}

/** The `i`-th latency of the mix, in ms (it repeats every 4,096). */
export const latencyMs = (i: number): number => LATENCIES[i & 4095];

let next = 0;

/** `n` successful requests observed on `side`, with the mix's next latencies. */
export function observe(side: SideStats, n: number): void {
  for (let i = 0; i < n; i++) side.observe(200, latencyMs(next++) / 1000, SUCCESS);
}

/** `n` routes `route-0`… with a legacy and a candidate side, at weight 10. */
export function seriesRoutes(n: number): SeriesRoute[] {
  const routes: SeriesRoute[] = [];
  for (let i = 0; i < n; i++) {
    routes.push({
      name: `route-${i}`,
      legacy: new SideStats(`route-${i}`, 'legacy', 'legacy'),
      candidate: new SideStats(`route-${i}`, 'candidate', 'rewrite'),
      weight: 10,
    });
  }
  return routes;
}
