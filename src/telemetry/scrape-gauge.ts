// A gauge read from live objects when /metrics is scraped, instead of a
// prom-client Gauge set on every change: no series is kept per object between
// scrapes, and an object a reload removed leaves no series behind
// (breaker-gauge.ts says what setting cost, issue 10).
import type { Registry } from 'prom-client';

export interface GaugeValue {
  readonly value: number;
  readonly labels: Record<string, string>;
}

/** Registers gauge `name`; at each scrape every source's items become values through `toValues`. */
export function registerScrapeGauge<T>(
  registry: Registry,
  name: string,
  help: string,
  sources: ReadonlySet<() => Iterable<T>>,
  toValues: (item: T, out: GaugeValue[]) => void,
): void {
  registry.registerMetric({
    name,
    help,
    type: 'gauge',
    get: () => {
      const values: GaugeValue[] = [];
      for (const source of sources) for (const item of source()) toValues(item, values);
      return { name, help, type: 'gauge', values, aggregator: 'sum' };
    },
  } as unknown as Parameters<Registry['registerMetric']>[0]);
}
