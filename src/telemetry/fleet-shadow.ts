// The shadow pairs of a route over the fleet: each instance's running counts,
// summed, with `since` subtracting instance by instance, in the shape of
// rollout's ShadowTally (the mismatch gate reads it as it reads one process's).
//
// Limit, by construction: one process re-judges its earlier pairs when it
// learns noise (compare/pattern-sets.ts), so its `since` is exact; the fleet
// only has each instance's totals, so `since` is the difference of totals
// each judged by the noise known when it was read. When an instance's
// mismatches went down (noise learned after the base), the difference is
// floored at 0 for that instance. The instance says `settled: false` for the
// pairs right after a verdict changes, so the gate waits through the change.
import type { ShadowCounts } from './fleet-payload.ts';

export type FleetShadowReading = ShadowCounts;

export class FleetShadowTally implements ShadowCounts {
  readonly compared: number;
  readonly mismatched: number;
  /** True when every instance's counts are settled. */
  readonly settled: boolean;
  /** Tallies of the same source subtract per instance; any other earlier tally is not ours. */
  readonly #source: object;
  readonly #readings: ReadonlyMap<string, FleetShadowReading>;

  /** `readings` is copied: the tally is a frozen reading, as a process's is. */
  constructor(source: object, readings: ReadonlyMap<string, FleetShadowReading>) {
    this.#source = source;
    this.#readings = new Map(readings);
    let compared = 0;
    let mismatched = 0;
    let settled = true;
    for (const r of readings.values()) {
      compared += r.compared;
      mismatched += r.mismatched;
      settled &&= r.settled;
    }
    this.compared = compared;
    this.mismatched = mismatched;
    this.settled = settled;
  }

  /**
   * The pairs counted after `earlier`, instance by instance; an instance
   * `earlier` did not know counts all its pairs. A tally from elsewhere
   * (not this fleet view) has nothing in common with this one: all are new.
   */
  since(earlier: ShadowCounts): FleetShadowTally {
    if (!(earlier instanceof FleetShadowTally) || earlier.#source !== this.#source) return this;
    const readings = new Map<string, FleetShadowReading>();
    for (const [instance, now] of this.#readings) {
      const base = earlier.#readings.get(instance);
      if (base === undefined) {
        readings.set(instance, now);
        continue;
      }
      const compared = Math.max(0, now.compared - base.compared);
      const mismatched = Math.min(compared, Math.max(0, now.mismatched - base.mismatched));
      readings.set(instance, { compared, mismatched, settled: now.settled });
    }
    return new FleetShadowTally(this.#source, readings);
  }
}
