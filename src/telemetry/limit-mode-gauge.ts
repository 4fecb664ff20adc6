// cutover_rate_limit_mode, read from the live cluster limits when /metrics is
// scraped (as cutover_breaker_state): a limit whose store went away says so
// here, with no series kept for a route a reload removed.

import type { Registry } from 'prom-client';
import { LIMIT_FALLBACKS } from '../config/index.ts';
import { registerScrapeGauge } from './scrape-gauge.ts';

/** What the gauge reads: a route with a cluster limit and the mode it answers in. */
export interface LimitModeSeries {
  readonly route: string;
  readonly mode: string;
}

/** `shared`, then each fallback: one series per mode, 1 for the mode in force (a state set). */
const MODES = ['shared', ...LIMIT_FALLBACKS] as const;

const NAME = 'cutover_rate_limit_mode';
const HELP =
  'Mode of a cluster rate limit: 1 for the mode in force (shared: the state store answers; local, open, closed: its fallback while the store is down)';

export function registerLimitModeGauge(
  registry: Registry,
  sources: ReadonlySet<() => Iterable<LimitModeSeries>>,
): void {
  registerScrapeGauge(registry, NAME, HELP, sources, ({ route, mode }, out) => {
    for (const m of MODES) out.push({ value: m === mode ? 1 : 0, labels: { mode: m, route } });
  });
}
