// cutover_breaker_state, read from the live breakers when /metrics is scraped.
// A prom-client Gauge set at each breaker's creation held a series (labels
// object, hash key, value) per route × backend and cost ≈ 1.7 KiB of garbage
// per set (label sorting and hashing): 34 MB while a 10,000-route table was
// built (issue 10). Reading at scrape time also drops the series of a breaker
// that a reload removed, instead of showing its last state forever.
import type { Registry } from 'prom-client';
import { registerScrapeGauge } from './scrape-gauge.ts';

/** What the gauge reads: a breaker's route, backend and effective state. */
export interface BreakerSeries {
  readonly route: string;
  readonly backend: string;
  readonly breaker: { readonly state: string };
}

/** 0 closed, 1 half-open, 2 open — the order of severity, so max() over routes means something. */
export const BREAKER_STATE_VALUE: Readonly<Record<string, number>> = {
  closed: 0,
  'half-open': 1,
  open: 2,
};

const NAME = 'cutover_breaker_state';
const HELP = 'Circuit breaker state per backend and route: 0 closed, 1 half-open, 2 open';

/** Registers the gauge; it shows every breaker the sources list at scrape time. */
export function registerBreakerGauge(
  registry: Registry,
  sources: ReadonlySet<() => Iterable<BreakerSeries>>,
): void {
  registerScrapeGauge(registry, NAME, HELP, sources, ({ route, backend, breaker }, out) => {
    out.push({ value: BREAKER_STATE_VALUE[breaker.state] ?? 0, labels: { backend, route } });
  });
}
