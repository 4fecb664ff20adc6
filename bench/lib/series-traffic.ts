// What the dashboard-series benches share: routes with both sides' stats,
// and requests from the micro benches' latency mix to observe into them.
import { type SeriesRoute, SideStats, SUCCESS } from '../../src/telemetry/index.ts';
import { latencyMs } from './latency-mix.ts';

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
