// What the gateway reports about shadow pairs, and what the admin API, the
// CLI, the metrics and the rollout gate read back: the one count of a route's
// pairs (issue 10). Pairs are counted by the set of patterns in which they
// differed (pattern-sets.ts), so every figure follows the noise known now;
// how values and samples are shown is shadow-view.ts's job.
import { InvalidArgumentError } from '../errors.ts';
import type { CompareResult, Difference, DifferenceKind } from './json-diff.ts';
import { type LatencyPercentiles, NumberWindow } from './latency.ts';
import { fixedNoise, type NoiseVerdicts } from './noise.ts';
import { PatternSetCounts, type ShadowTally, UNLISTED_DIFFERENCES } from './pattern-sets.ts';
import type { Redactor } from './redact.ts';
import type { ResponseSample } from './response.ts';
import { type CompiledCompareRules, compileCompareRules } from './rules.ts';
import { type ShadowSample, ShadowView } from './shadow-view.ts';

export type SkipReason =
  | 'too_large' // a body over shadow.maxBodyBytes: not compared
  | 'dropped' // the shadow queue was full
  | 'candidate_error' // the shadow request failed (connect, reset, timeout)
  | 'legacy_error' // the legacy answer did not complete
  | 'method' // a write not shadowed (writes: false) — counted, never sent
  | 'memory' // the shadow memory budget (server.shadowMemory) was full
  | 'streaming'; // a gRPC call that streams (issue 12): not copied, or its copy abandoned

/** One compared pair, as the gateway hands it over. */
export interface ShadowPair {
  readonly method: string;
  /** Path and query as the client sent them. */
  readonly url: string;
  readonly requestHeaders: Readonly<Record<string, string | string[] | undefined>>;
  readonly legacy: ResponseSample;
  readonly candidate: ResponseSample;
  /** Milliseconds from sending to the end of each answer. */
  readonly legacyMs: number;
  readonly candidateMs: number;
}

export interface ShadowResultsOptions {
  readonly route: string;
  /** Newest N mismatch samples kept. */
  readonly samples: number;
}

/** Counts of compared pairs, judged by the noise known now. */
export interface ShadowSummary {
  readonly route: string;
  readonly compared: number;
  readonly matched: number;
  readonly mismatched: number;
  readonly skipped: Readonly<Record<SkipReason, number>>;
  readonly mismatchRatio: number;
  /** False while noise is still being learned: the ratio may still fall (the gate waits). */
  readonly settled: boolean;
  /** Pairs whose set of differing fields came past the 1,000 a route keeps: always mismatched. */
  readonly overflowPairs: number;
}

/** Per field pattern: in how many pairs it differed, and the last values seen there. */
export interface ShadowFieldStats {
  readonly pattern: string;
  /** Pairs in which it differed while it is not noise: they fail the match. */
  readonly raw: number;
  /** Pairs in which it differed, now that it is known as noise: reported, never failing. */
  readonly noise: number;
  /** Differences by kind (an array field may differ at several indexes of one pair). */
  readonly kinds: Readonly<Partial<Record<DifferenceKind, number>>>;
  /** Redacted and cut to FIELD_VALUE_CHARS; absent when that side had no value. */
  readonly lastLegacy?: unknown;
  readonly lastCandidate?: unknown;
}

/** The paired latency of compared pairs. */
export interface ShadowLatency {
  /** Compared pairs whose latency is in the window (at most the window size). */
  readonly pairs: number;
  readonly legacy: LatencyPercentiles;
  readonly candidate: LatencyPercentiles;
  /** candidateMs / legacyMs per pair: below 1 means the candidate was faster. */
  readonly ratio: LatencyPercentiles;
}

/** What GET /api/routes/{name}/diffs returns. */
export interface ShadowResultsJSON {
  readonly summary: ShadowSummary;
  /** Sorted by raw count, most first, then by pattern. */
  readonly fields: readonly ShadowFieldStats[];
  /** Newest first; only pairs that are still mismatches. */
  readonly samples: readonly ShadowSample[];
  readonly latency: ShadowLatency;
}

/** Differences kept per sample. */
const SAMPLE_DIFFERENCES = 20;
/** Latency values kept per series: enough for a steady p99, 80 kB per series. */
const DEFAULT_LATENCY_WINDOW = 10_000;
/**
 * Distinct field patterns tracked. A body keyed by ids (`$.users.u123`) makes
 * a pattern per id; past this many, new ones are counted under OTHER_FIELDS.
 */
const MAX_FIELDS = 1000;
const OTHER_FIELDS = '(other fields)';

const SKIP_REASONS: readonly SkipReason[] = [
  'too_large',
  'dropped',
  'candidate_error',
  'legacy_error',
  'method',
  'memory',
  'streaming',
];

interface FieldEntry {
  /** Pairs in which the pattern differed. */
  pairs: number;
  /** The pair that counted last, so that a pattern counts once per pair. */
  lastPair: number;
  kinds: Partial<Record<DifferenceKind, number>>;
  lastLegacy: unknown;
  lastCandidate: unknown;
}

/** A kept mismatch; its view is built when first read, again after the view changes. */
interface SampleEntry {
  readonly at: number;
  readonly pair: ShadowPair;
  readonly differences: readonly Difference[];
  readonly patterns: readonly string[];
  shown: ShadowSample | undefined;
  shownBy: ShadowView | undefined;
}

/** The distinct patterns a pair differed in, ascending; a cut list adds UNLISTED_DIFFERENCES. */
function patternsOf(result: CompareResult): readonly string[] {
  const ds = result.differences;
  if (!result.truncated && ds.length <= 1) return ds.length === 0 ? [] : [ds[0].pattern];
  const set = new Set<string>();
  for (const d of ds) set.add(d.pattern);
  if (result.truncated) set.add(UNLISTED_DIFFERENCES);
  return [...set].sort();
}

export interface ShadowResultsConstruction extends ShadowResultsOptions {
  /** How values and samples are shown; default: one made of `compiled` and `redactor`. */
  readonly view?: ShadowView;
  /** The route's rules, for sample diffs; default: the default rules. */
  readonly compiled?: CompiledCompareRules;
  readonly redactor?: Redactor;
  /** What is noise now; default: nothing (every difference fails). */
  readonly noise?: NoiseVerdicts;
  /** Latency values kept per series; default 10,000. */
  readonly latencyWindow?: number;
}

/**
 * The shadow comparison results of one route: counts by pattern set,
 * per-field statistics, the newest mismatch samples and paired latency, all
 * bounded in memory. `record()` runs once per compared pair, so it only
 * counts and keeps references; samples are shown when someone reads them.
 * The pair handed to `record()` must not change afterwards.
 */
export class ShadowResults {
  readonly route: string;
  #view: ShadowView;
  readonly #counts: PatternSetCounts;
  readonly #fields = new Map<string, FieldEntry>();
  readonly #samples: (SampleEntry | undefined)[];
  #nextSample = 0;
  readonly #skipped: Record<SkipReason, number>;
  readonly #legacyMs: NumberWindow;
  readonly #candidateMs: NumberWindow;
  readonly #ratio: NumberWindow;
  /** Pairs recorded with differences, numbering them for the field table. */
  #recorded = 0;

  constructor(options: ShadowResultsConstruction) {
    const samples = options.samples;
    if (!(Number.isInteger(samples) && samples >= 0)) {
      throw new InvalidArgumentError(`shadow samples: expected an integer ≥ 0, got ${samples}`);
    }
    const window = options.latencyWindow ?? DEFAULT_LATENCY_WINDOW;
    if (!(Number.isInteger(window) && window > 0)) {
      throw new InvalidArgumentError(
        `shadow latencyWindow: expected an integer > 0, got ${window}`,
      );
    }
    this.route = options.route;
    this.#view =
      options.view ?? new ShadowView(options.compiled ?? compileCompareRules(), options.redactor);
    this.#counts = new PatternSetCounts(options.noise ?? fixedNoise());
    this.#samples = new Array<SampleEntry | undefined>(samples).fill(undefined);
    this.#skipped = Object.fromEntries(SKIP_REASONS.map((r) => [r, 0])) as Record<
      SkipReason,
      number
    >;
    this.#legacyMs = new NumberWindow(window);
    this.#candidateMs = new NumberWindow(window);
    this.#ratio = new NumberWindow(window);
  }

  /**
   * Show values and samples with other rules (a reload changed the route's
   * redaction or compare rules). Values already kept in the field table
   * were redacted by the rules of their time.
   */
  useView(view: ShadowView): void {
    this.#view = view;
  }

  record(pair: ShadowPair, result: CompareResult): void {
    const patterns = patternsOf(result);
    this.#counts.add(patterns);
    const { legacyMs, candidateMs } = pair;
    if (Number.isFinite(legacyMs) && Number.isFinite(candidateMs)) {
      this.#legacyMs.add(legacyMs);
      this.#candidateMs.add(candidateMs);
      if (legacyMs > 0) this.#ratio.add(candidateMs / legacyMs);
    }
    if (patterns.length === 0) return;
    // A pattern counts once per pair, however many indexes of it differed.
    const pairNo = ++this.#recorded;
    for (const d of result.differences) {
      const f = this.#field(d.pattern);
      if (f.lastPair !== pairNo) {
        f.lastPair = pairNo;
        f.pairs++;
      }
      f.kinds[d.kind] = (f.kinds[d.kind] ?? 0) + 1;
      f.lastLegacy = this.#view.fieldValue(d.path, d.legacy);
      f.lastCandidate = this.#view.fieldValue(d.path, d.candidate);
    }
    if (this.#samples.length > 0 && this.#counts.isMismatch(patterns)) {
      this.#samples[this.#nextSample] = {
        at: Date.now(),
        pair,
        differences: result.differences.slice(0, SAMPLE_DIFFERENCES),
        patterns,
        shown: undefined,
        shownBy: undefined,
      };
      this.#nextSample = (this.#nextSample + 1) % this.#samples.length;
    }
  }

  recordSkip(reason: SkipReason): void {
    this.#skipped[reason]++;
  }

  /** The figures the rollout gate and the mismatch gauge read; see ShadowTally. */
  tally(): ShadowTally {
    return this.#counts.tally();
  }

  summary(): ShadowSummary {
    const t = this.#counts.tally();
    return {
      route: this.route,
      compared: t.compared,
      matched: t.compared - t.mismatched,
      mismatched: t.mismatched,
      skipped: { ...this.#skipped },
      mismatchRatio: t.compared === 0 ? 0 : t.mismatched / t.compared,
      settled: t.settled,
      overflowPairs: this.#counts.overflow,
    };
  }

  toJSON(): ShadowResultsJSON {
    return {
      summary: this.summary(),
      fields: this.#fieldStats(),
      samples: this.samples(),
      latency: {
        pairs: this.#legacyMs.count,
        legacy: this.#legacyMs.percentiles(),
        candidate: this.#candidateMs.percentiles(),
        ratio: this.#ratio.percentiles(),
      },
    };
  }

  /** The kept mismatches that are still mismatches now, newest first, as shown to people. */
  samples(): ShadowSample[] {
    const out: ShadowSample[] = [];
    const n = this.#samples.length;
    const view = this.#view;
    for (let k = 1; k <= n; k++) {
      const entry = this.#samples[(this.#nextSample - k + n) % n];
      if (entry === undefined) break;
      if (!this.#counts.isMismatch(entry.patterns)) continue;
      if (entry.shownBy !== view) {
        entry.shown = view.sample(entry.at, entry.pair, entry.differences);
        entry.shownBy = view;
      }
      out.push(entry.shown as ShadowSample);
    }
    return out;
  }

  #fieldStats(): ShadowFieldStats[] {
    const noisy = this.#counts.noisy();
    const fields: ShadowFieldStats[] = [];
    for (const [pattern, f] of this.#fields) {
      const noise = noisy.has(pattern);
      fields.push({
        pattern,
        raw: noise ? 0 : f.pairs,
        noise: noise ? f.pairs : 0,
        kinds: { ...f.kinds },
        lastLegacy: f.lastLegacy,
        lastCandidate: f.lastCandidate,
      });
    }
    return fields.sort((a, b) => b.raw - a.raw || (a.pattern < b.pattern ? -1 : 1));
  }

  #field(pattern: string): FieldEntry {
    let f = this.#fields.get(pattern);
    if (f === undefined) {
      const key = this.#fields.size < MAX_FIELDS ? pattern : OTHER_FIELDS;
      f = this.#fields.get(key);
      if (f === undefined) {
        f = { pairs: 0, lastPair: 0, kinds: {}, lastLegacy: undefined, lastCandidate: undefined };
        this.#fields.set(key, f);
      }
    }
    return f;
  }
}
