// Compared pairs counted by the set of field patterns in which they differed
// (issue 10). A pair's verdict is not fixed when it is compared: it is a
// mismatch while one of its patterns is not noise, judged by the noise known
// when the figures are read. So noise learned at pair 100 also clears pairs
// 1–99 that differed only in that field, and the mismatch ratio, the field
// table, the gauge and the rollout gate all read one set of counts.
import type { NoiseVerdicts } from './noise.ts';

/**
 * Distinct pattern sets kept per route. Real answers differ in a few ways (a
 * field or two, a status); a body keyed by ids makes a set per id. Past the
 * bound, a pair with a new set is counted in `overflow`, always a mismatch:
 * its patterns are not kept, so no noise verdict can clear it.
 */
export const MAX_PATTERN_SETS = 1000;

/**
 * Compared pairs after the last change of a noise verdict before the figures
 * are settled: a verdict that just moved may move again with the next probe.
 */
export const SETTLE_PAIRS = 20;

/**
 * A pattern of a pair whose real differences were cut at `maxDifferences`:
 * the ones not listed are unknown, so the pair stays a mismatch.
 */
export const UNLISTED_DIFFERENCES = '(unlisted differences)';

/** Shadow figures of a route, as the rollout gate reads them (rollout declares the same shape). */
export interface ShadowTally {
  readonly compared: number;
  /** Judged by the noise known when this tally was taken. */
  readonly mismatched: number;
  /** False while noise is still being learned: a gate on these figures waits. */
  readonly settled: boolean;
  /** The pairs counted after `earlier`, judged by the noise known now. */
  since(earlier: ShadowTally): ShadowTally;
}

/** Whether a set of patterns fails the match under `noisy`. */
function isMismatch(patterns: readonly string[], noisy: ReadonlySet<string>): boolean {
  for (const p of patterns) if (!noisy.has(p)) return true;
  return false;
}

/** A frozen reading of PatternSetCounts; `since` subtracts set by set. */
class CountsTally implements ShadowTally {
  readonly compared: number;
  readonly mismatched: number;
  readonly settled: boolean;
  readonly #source: object;
  /** Pairs per set index, as many as there were sets. */
  readonly #counts: Float64Array;
  readonly #overflow: number;
  /** Mismatch verdict per set index (shared with the counts; never changed below `#counts.length`). */
  readonly #verdicts: readonly boolean[];

  constructor(
    source: object,
    counts: Float64Array,
    overflow: number,
    verdicts: readonly boolean[],
    settled: boolean,
  ) {
    this.#source = source;
    this.#counts = counts;
    this.#overflow = overflow;
    this.#verdicts = verdicts;
    this.settled = settled;
    let compared = overflow;
    let mismatched = overflow;
    for (let i = 0; i < counts.length; i++) {
      compared += counts[i];
      if (verdicts[i]) mismatched += counts[i];
    }
    this.compared = compared;
    this.mismatched = mismatched;
  }

  since(earlier: ShadowTally): ShadowTally {
    // Figures of other counts (the route's shadow was removed and added again): all of these are new.
    if (!(earlier instanceof CountsTally) || earlier.#source !== this.#source) return this;
    const counts = new Float64Array(this.#counts.length);
    const before = earlier.#counts;
    for (let i = 0; i < counts.length; i++) {
      counts[i] = this.#counts[i] - (i < before.length ? before[i] : 0);
    }
    return new CountsTally(
      this.#source,
      counts,
      this.#overflow - earlier.#overflow,
      this.#verdicts,
      this.settled,
    );
  }
}

/** The live counts of one route; `tally()` reads them. */
export class PatternSetCounts {
  readonly #noise: NoiseVerdicts;
  /** Set key → index into the arrays below; index 0 is the empty set (a matched pair). */
  readonly #index = new Map<string, number>([['', 0]]);
  readonly #sets: (readonly string[])[] = [[]];
  readonly #counts: number[] = [0];
  /** Replaced (never changed in place) when the noise changes: tallies share it. */
  #verdicts: boolean[] = [false];
  #noisy: ReadonlySet<string>;
  #overflow = 0;
  #compared = 0;
  /** `#compared` when a noise verdict last changed. */
  #changedAt = Number.NEGATIVE_INFINITY;
  #tally: CountsTally | undefined;

  constructor(noise: NoiseVerdicts) {
    this.#noise = noise;
    this.#noisy = noise.noisyPatterns();
  }

  /** Distinct sets kept (the empty set of matched pairs included). */
  get sets(): number {
    return this.#sets.length;
  }

  /** Pairs whose set came past MAX_PATTERN_SETS: always mismatches. */
  get overflow(): number {
    return this.#overflow;
  }

  /** The noise patterns the counts are judged by now. */
  noisy(): ReadonlySet<string> {
    this.#refresh();
    return this.#noisy;
  }

  /** Count one compared pair by its distinct differing patterns, in ascending order. */
  add(patterns: readonly string[]): void {
    this.#refresh();
    this.#compared++;
    this.#tally = undefined;
    // JSON text: a key may hold any character, so no separator is safe. One
    // pattern is its own key: patterns never start with '[' as JSON arrays do.
    const key =
      patterns.length === 0 ? '' : patterns.length === 1 ? patterns[0] : JSON.stringify(patterns);
    let i = this.#index.get(key);
    if (i === undefined) {
      if (this.#sets.length >= MAX_PATTERN_SETS) {
        this.#overflow++;
        return;
      }
      i = this.#sets.length;
      this.#index.set(key, i);
      this.#sets.push(patterns);
      this.#counts.push(0);
      this.#verdicts.push(isMismatch(patterns, this.#noisy));
    }
    this.#counts[i]++;
  }

  /** Whether a pair with these patterns counts as a mismatch now. */
  isMismatch(patterns: readonly string[]): boolean {
    return isMismatch(patterns, this.noisy());
  }

  /** The figures now; the same object until a pair is added or a verdict or the phase changes. */
  tally(): ShadowTally {
    this.#refresh();
    const settled = !this.#noise.learning && this.#compared - this.#changedAt >= SETTLE_PAIRS;
    if (this.#tally === undefined || this.#tally.settled !== settled) {
      this.#tally = new CountsTally(
        this,
        Float64Array.from(this.#counts),
        this.#overflow,
        this.#verdicts,
        settled,
      );
    }
    return this.#tally;
  }

  /** A new noise set: every kept set is judged again. */
  #refresh(): void {
    const noisy = this.#noise.noisyPatterns();
    if (noisy === this.#noisy) return;
    this.#noisy = noisy;
    this.#changedAt = this.#compared;
    this.#verdicts = this.#sets.map((patterns) => isMismatch(patterns, noisy));
    this.#tally = undefined;
  }
}
