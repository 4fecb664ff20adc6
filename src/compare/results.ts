// What the gateway reports about shadow pairs,
// and what the admin API and CLI read back. One ShadowResults per route.
import { InvalidArgumentError } from '../errors.ts';
import {
  type CompareResult,
  type Difference,
  type DifferenceKind,
  normalizedJsonText,
} from './json-diff.ts';
import { type PathStep, parsePath } from './path.ts';
import { REDACTED, Redactor } from './redact.ts';
import { isJsonMediaType, mediaType, parseJsonBody, type ResponseSample } from './response.ts';
import type { CompiledCompareRules } from './rules.ts';
import { unifiedDiff } from './unified-diff.ts';

export type SkipReason =
  | 'too_large' // a body over shadow.maxBodyBytes: not compared
  | 'dropped' // the shadow queue was full
  | 'candidate_error' // the shadow request failed (connect, reset, timeout)
  | 'legacy_error' // the legacy answer did not complete
  | 'method' // a write not shadowed (writes: false) — counted, never sent
  | 'memory'; // the shadow memory budget (server.shadowMemory) was full

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

export interface ShadowSummary {
  readonly route: string;
  readonly compared: number;
  readonly matched: number;
  readonly mismatched: number;
  readonly skipped: Readonly<Record<string, number>>;
  readonly mismatchRatio: number;
}

/** Per field pattern: how often it differed, and the last values seen there. */
export interface ShadowFieldStats {
  readonly pattern: string;
  /** Real differences: they failed the match. */
  readonly raw: number;
  /** Differences on patterns known as noise: reported, never failing. */
  readonly noise: number;
  readonly kinds: Readonly<Partial<Record<DifferenceKind, number>>>;
  /** Redacted and cut to FIELD_VALUE_CHARS; absent when that side had no value. */
  readonly lastLegacy?: unknown;
  readonly lastCandidate?: unknown;
}

/** One kept mismatch, as shown to people: redacted and size-bounded. */
export interface ShadowSample {
  /** ISO 8601 time of `record()`. */
  readonly at: string;
  readonly method: string;
  readonly url: string;
  readonly legacyStatus: number;
  readonly candidateStatus: number;
  /** The first SAMPLE_DIFFERENCES differences, values redacted and cut. */
  readonly differences: readonly Difference[];
  /** Unified diff of the normalised JSON bodies, or a note on non-JSON bodies; '' when equal. */
  readonly diff: string;
  readonly requestHeaders: Readonly<Record<string, string | string[] | number>>;
  readonly legacyMs: number;
  readonly candidateMs: number;
}

/** Nearest-rank percentiles; null while no value was recorded. */
export interface LatencyPercentiles {
  readonly p50: number | null;
  readonly p95: number | null;
  readonly p99: number | null;
}

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
  /** Newest first. */
  readonly samples: readonly ShadowSample[];
  readonly latency: ShadowLatency;
}

/** Longest JSON text of a value kept in field statistics and samples. */
const FIELD_VALUE_CHARS = 200;
/** Differences kept per sample. */
const SAMPLE_DIFFERENCES = 20;
/** Longest sample diff text. */
const SAMPLE_DIFF_CHARS = 4000;
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
];

/** A window of the last `size` numbers, with percentiles computed on demand. */
class NumberWindow {
  readonly #values: Float64Array;
  #next = 0;
  #count = 0;

  constructor(size: number) {
    this.#values = new Float64Array(size);
  }

  get count(): number {
    return this.#count;
  }

  add(value: number): void {
    this.#values[this.#next] = value;
    this.#next = (this.#next + 1) % this.#values.length;
    if (this.#count < this.#values.length) this.#count++;
  }

  percentiles(): LatencyPercentiles {
    const n = this.#count;
    if (n === 0) return { p50: null, p95: null, p99: null };
    const sorted = this.#values.slice(0, n).sort();
    const rank = (p: number) => sorted[Math.max(0, Math.ceil((p / 100) * n) - 1)];
    return { p50: rank(50), p95: rank(95), p99: rank(99) };
  }
}

interface FieldEntry {
  raw: number;
  noise: number;
  kinds: Partial<Record<DifferenceKind, number>>;
  lastLegacy: unknown;
  lastCandidate: unknown;
}

/** A kept mismatch; its view (redaction, diff) is built once, when first read. */
interface SampleEntry {
  readonly at: number;
  readonly pair: ShadowPair;
  readonly differences: readonly Difference[];
  view: ShadowSample | undefined;
}

/** A value small enough to show and store: cut JSON text past `FIELD_VALUE_CHARS`. */
function smallValue(value: unknown): unknown {
  if (value === undefined || value === null || typeof value === 'number') return value;
  if (typeof value === 'boolean') return value;
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  if (text === undefined) return undefined;
  if (text.length <= FIELD_VALUE_CHARS) return value;
  return `${text.slice(0, FIELD_VALUE_CHARS - 1)}…`;
}

/**
 * The shadow comparison results of one route: counts, per-field statistics,
 * the newest mismatch samples and paired latency, all bounded in memory.
 * `record()` runs once per compared pair, so it only counts and keeps
 * references; redaction and diff text are built when someone reads a sample.
 * The pair handed to `record()` must not change afterwards.
 */
export class ShadowResults {
  readonly route: string;
  readonly #redactor: Redactor;
  readonly #compiled: CompiledCompareRules;
  /** Whether the redactor has JSON path rules (it returns its input untouched otherwise). */
  readonly #redactsJson: boolean;
  readonly #fields = new Map<string, FieldEntry>();
  readonly #samples: (SampleEntry | undefined)[];
  #nextSample = 0;
  readonly #skipped: Record<SkipReason, number>;
  readonly #legacyMs: NumberWindow;
  readonly #candidateMs: NumberWindow;
  readonly #ratio: NumberWindow;
  #compared = 0;
  #matched = 0;

  constructor(
    options: ShadowResultsOptions & {
      redactor?: Redactor;
      compiled: CompiledCompareRules;
      /** Latency values kept per series; default 10,000. */
      latencyWindow?: number;
    },
  ) {
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
    this.#redactor = options.redactor ?? new Redactor();
    this.#compiled = options.compiled;
    const probe = {};
    this.#redactsJson = this.#redactor.json(probe) !== probe;
    this.#samples = new Array<SampleEntry | undefined>(samples).fill(undefined);
    this.#skipped = Object.fromEntries(SKIP_REASONS.map((r) => [r, 0])) as Record<
      SkipReason,
      number
    >;
    this.#legacyMs = new NumberWindow(window);
    this.#candidateMs = new NumberWindow(window);
    this.#ratio = new NumberWindow(window);
  }

  record(pair: ShadowPair, result: CompareResult): void {
    this.#compared++;
    if (result.match) this.#matched++;
    const { legacyMs, candidateMs } = pair;
    if (Number.isFinite(legacyMs) && Number.isFinite(candidateMs)) {
      this.#legacyMs.add(legacyMs);
      this.#candidateMs.add(candidateMs);
      if (legacyMs > 0) this.#ratio.add(candidateMs / legacyMs);
    }
    for (const d of result.differences) this.#count(d);
    if (!result.match && this.#samples.length > 0) {
      this.#samples[this.#nextSample] = {
        at: Date.now(),
        pair,
        differences: result.differences.slice(0, SAMPLE_DIFFERENCES),
        view: undefined,
      };
      this.#nextSample = (this.#nextSample + 1) % this.#samples.length;
    }
  }

  recordSkip(reason: SkipReason): void {
    this.#skipped[reason] = (this.#skipped[reason] ?? 0) + 1;
  }

  summary(): ShadowSummary {
    const compared = this.#compared;
    const mismatched = compared - this.#matched;
    return {
      route: this.route,
      compared,
      matched: this.#matched,
      mismatched,
      skipped: { ...this.#skipped },
      mismatchRatio: compared === 0 ? 0 : mismatched / compared,
    };
  }

  toJSON(): ShadowResultsJSON {
    const fields: ShadowFieldStats[] = [];
    for (const [pattern, f] of this.#fields) {
      fields.push({
        pattern,
        raw: f.raw,
        noise: f.noise,
        kinds: { ...f.kinds },
        lastLegacy: f.lastLegacy,
        lastCandidate: f.lastCandidate,
      });
    }
    fields.sort((a, b) => b.raw - a.raw || (a.pattern < b.pattern ? -1 : 1));
    const samples: ShadowSample[] = [];
    const n = this.#samples.length;
    for (let k = 1; k <= n; k++) {
      const entry = this.#samples[(this.#nextSample - k + n) % n];
      if (entry === undefined) break;
      entry.view ??= this.#sampleView(entry);
      samples.push(entry.view);
    }
    return {
      summary: this.summary(),
      fields,
      samples,
      latency: {
        pairs: this.#legacyMs.count,
        legacy: this.#legacyMs.percentiles(),
        candidate: this.#candidateMs.percentiles(),
        ratio: this.#ratio.percentiles(),
      },
    };
  }

  #count(d: Difference): void {
    let f = this.#fields.get(d.pattern);
    if (f === undefined) {
      const pattern = this.#fields.size < MAX_FIELDS ? d.pattern : OTHER_FIELDS;
      f = this.#fields.get(pattern);
      if (f === undefined) {
        f = { raw: 0, noise: 0, kinds: {}, lastLegacy: undefined, lastCandidate: undefined };
        this.#fields.set(pattern, f);
      }
    }
    if (d.noise) f.noise++;
    else f.raw++;
    f.kinds[d.kind] = (f.kinds[d.kind] ?? 0) + 1;
    f.lastLegacy = this.#shownValue(d.path, d.legacy);
    f.lastCandidate = this.#shownValue(d.path, d.candidate);
  }

  /** A difference's value as shown: redacted when its path or header is, then cut. */
  #shownValue(path: string, value: unknown): unknown {
    if (value === undefined) return undefined;
    if (path.startsWith('header:')) {
      const name = path.slice('header:'.length);
      return smallValue(this.#redactor.headers({ [name]: value as string })[name]);
    }
    if (path[0] === '$' && this.#redactsJson) return smallValue(this.#redactAt(path, value));
    return smallValue(value);
  }

  /**
   * Redact a value found at `path` of a body: wrap it in a skeleton document
   * with the same path, so the redactor's path rules apply to it as they
   * would to the whole body.
   */
  #redactAt(path: string, value: unknown): unknown {
    let steps: PathStep[];
    try {
      steps = parsePath(path);
    } catch {
      // A key that path syntax cannot spell back (a quote in it): hide rather than leak.
      return REDACTED;
    }
    let doc = value;
    for (let i = steps.length - 1; i >= 0; i--) {
      const step = steps[i];
      if (typeof step === 'number') {
        const arr: unknown[] = [];
        arr[step] = doc;
        doc = arr;
      } else {
        doc = { [step as string]: doc };
      }
    }
    let out = this.#redactor.json(doc);
    for (const step of steps) out = (out as Record<string | number, unknown>)[step as string];
    return out;
  }

  #sampleView(entry: SampleEntry): ShadowSample {
    const { pair } = entry;
    const headers: Record<string, string | string[] | number> = {};
    for (const [name, v] of Object.entries(this.#redactor.headers(pair.requestHeaders))) {
      if (v !== undefined) headers[name] = v;
    }
    return {
      at: new Date(entry.at).toISOString(),
      method: pair.method,
      url: pair.url,
      legacyStatus: pair.legacy.status,
      candidateStatus: pair.candidate.status,
      differences: entry.differences.map((d) => this.#shownDifference(d)),
      diff: this.#bodyDiff(pair.legacy, pair.candidate),
      requestHeaders: headers,
      legacyMs: pair.legacyMs,
      candidateMs: pair.candidateMs,
    };
  }

  #shownDifference(d: Difference): Difference {
    const legacy = this.#shownValue(d.path, d.legacy);
    const candidate = this.#shownValue(d.path, d.candidate);
    const out: { -readonly [K in keyof Difference]: Difference[K] } = {
      path: d.path,
      pattern: d.pattern,
      kind: d.kind,
    };
    if (legacy !== undefined) out.legacy = legacy;
    if (candidate !== undefined) out.candidate = candidate;
    if (d.noise) out.noise = true;
    return out;
  }

  /** Diff of the normalised, redacted JSON bodies; a size note when either is not JSON. */
  #bodyDiff(legacy: ResponseSample, candidate: ResponseSample): string {
    const type = mediaType(legacy.headers) || mediaType(candidate.headers);
    const a = isJsonMediaType(type) ? parseJsonBody(legacy.body) : undefined;
    const b = a === undefined ? undefined : parseJsonBody(candidate.body);
    if (a === undefined || b === undefined) {
      if (
        Buffer.from(legacy.body.buffer, legacy.body.byteOffset, legacy.body.byteLength).equals(
          candidate.body,
        )
      ) {
        return '';
      }
      return `body not compared as JSON (${type || 'no content type'}): legacy ${legacy.body.byteLength} bytes, candidate ${candidate.body.byteLength} bytes`;
    }
    const rules = this.#compiled;
    return unifiedDiff(
      normalizedJsonText(this.#redactor.json(a.value), rules),
      normalizedJsonText(this.#redactor.json(b.value), rules),
      SAMPLE_DIFF_CHARS,
    );
  }
}
