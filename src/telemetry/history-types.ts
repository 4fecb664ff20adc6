// The report's history: one aggregate a minute per route × side, kept in the
// state store for `report.retention` (docs/report.md, "History"). Written by
// each instance for its own requests; a reader merges the instances' rows of
// the same route, side and minute (counts add, histograms merge).
import type { WindowSlot } from './window-merge.ts';

export type HistorySide = 'legacy' | 'candidate';

/** One instance's requests of one route × side in one minute. */
export interface RouteMinute {
  readonly route: string;
  readonly side: HistorySide;
  /** Epoch ms of the minute's start (a multiple of 60,000). */
  readonly minute: number;
  readonly instance: string;
  /** Counts by status class and the latency histogram of the minute (never empty: a minute without requests has no row). */
  readonly slot: WindowSlot;
  /** Times this side's breaker opened in the minute on this instance. */
  readonly breakerOpenings: number;
}

/** One instance's shadow pairs of one route in one minute. */
export interface ShadowMinute {
  readonly route: string;
  /** Epoch ms of the minute's start. */
  readonly minute: number;
  readonly instance: string;
  /** Pairs compared and found different (after noise) in the minute. */
  readonly compared: number;
  readonly mismatched: number;
  /** Differing field path (`$.items[*].price`, `header:etag`, `status`) → mismatched pairs that had it. At most 20 paths, the most frequent. */
  readonly fields: Readonly<Record<string, number>>;
  /** Latency of the same requests on each side (paired latency), when any pair had both. */
  readonly legacy: WindowSlot | undefined;
  readonly candidate: WindowSlot | undefined;
}

/** A route's history over a span, every instance merged: what `cutover report` reads. */
export interface RouteHistory {
  readonly route: string;
  /** Minutes in time order; a side absent from a minute had no request in it. */
  readonly minutes: readonly {
    readonly minute: number;
    readonly legacy: WindowSlot | undefined;
    readonly candidate: WindowSlot | undefined;
    /** Breaker openings in the minute, every instance summed. */
    readonly breakerOpenings: { readonly legacy: number; readonly candidate: number };
    readonly shadow: Omit<ShadowMinute, 'route' | 'minute' | 'instance'> | undefined;
    /** Instances that wrote a row for the minute (for throughput per instance). */
    readonly instances: number;
  }[];
}
