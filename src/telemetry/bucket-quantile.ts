// Percentiles from Prometheus-style latency buckets, interpolated inside the
// bucket as Prometheus' histogram_quantile does: the dashboard's series of a
// route no rollout reads (no HDR window), on one instance or summed over the fleet.
import { LATENCY_BUCKETS } from './request-stats.ts';

/** LATENCY_BUCKETS and +Inf. */
export const BUCKETS = LATENCY_BUCKETS.length + 1;

/** The ms below which a share `q` of `total` requests fall, from non-cumulative bucket counts. */
export function bucketQuantile(counts: ArrayLike<number>, total: number, q: number): number {
  const rank = q * total;
  let seen = 0;
  for (let i = 0; i < BUCKETS; i++) {
    const inBucket = counts[i];
    if (inBucket === 0 || seen + inBucket < rank) {
      seen += inBucket;
      continue;
    }
    const lower = i === 0 ? 0 : LATENCY_BUCKETS[i - 1];
    // Above the last finite bound Prometheus answers that bound: the true value is unknown.
    if (i === LATENCY_BUCKETS.length) return lower * 1000;
    const upper = LATENCY_BUCKETS[i];
    return (lower + ((upper - lower) * (rank - seen)) / inBucket) * 1000;
  }
  return 0;
}
