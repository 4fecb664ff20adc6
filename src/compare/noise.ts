// Noise learning: two answers of the LEGACY service to the same request
// should be equal, so every field where they differ is noise (a request id, a
// clock, a random order). Counted per pattern (indices as [*]) over many
// pairs; a pattern that differs often enough is reported but never fails a
// comparison of legacy against candidate.
//
// Learning starts fast (issue 10): the first `learnFirst` probes are asked
// for every copied safe request, then only a `sample` of them. Until those
// first probes are back the verdicts are still moving, and `learning` says so
// (the rollout's mismatchRate gate waits on it).

import { InvalidArgumentError } from '../errors.ts';
import type { ProtoContext } from './grpc-answer.ts';
import { childNode, formatPath, type PathNode } from './path.ts';
import { compareDetailed, GRPC_STATUS, type ResponseSample } from './response.ts';
import type { CompiledCompareRules } from './rules.ts';

export interface NoiseOptions {
  /** A pattern must have differed in at least this many pairs; default 2. */
  readonly minDiffered?: number;
  /** …and in at least this share of the pairs where it was present; default 0.2. */
  readonly minShare?: number;
  /** Probes asked for every copy before falling back to the sample; default 0 (sample only). */
  readonly learnFirst?: number;
}

/** What the shadow counts read of noise learning (NoiseTracker, or a fixed set). */
export interface NoiseVerdicts {
  /** The patterns judged noise now: the same object until a verdict changes. */
  noisyPatterns(): ReadonlySet<string>;
  /** True while verdicts are still expected to move (the first probes are not all back). */
  readonly learning: boolean;
}

/** Verdicts that never change: a fixed set of noise patterns (tests, pinned noise). */
export function fixedNoise(patterns: Iterable<string> = []): NoiseVerdicts {
  const set: ReadonlySet<string> = new Set(patterns);
  return { noisyPatterns: () => set, learning: false };
}

export interface NoiseEntry {
  readonly pattern: string;
  /** Pairs in which the field differed. */
  readonly differed: number;
  /** Pairs in which the field was present on either side. */
  readonly present: number;
  readonly noisy: boolean;
}

interface Counts {
  differed: number;
  present: number;
}

const NOTHING_NOISY: ReadonlySet<string> = new Set();

export class NoiseTracker implements NoiseVerdicts {
  readonly #rules: CompiledCompareRules;
  readonly #minDiffered: number;
  readonly #minShare: number;
  /** Probes sent by which the fast phase is over (`learnFirst` from the start). */
  #fastUntil: number;
  readonly #counts = new Map<string, Counts>();
  #pairs = 0;
  /** Probes sent, and probes whose answers are back (observed or failed). */
  #probes = 0;
  #probesEnded = 0;
  /** Replaced only when a verdict changes, so its identity says "changed". */
  #noisy: ReadonlySet<string> = NOTHING_NOISY;

  constructor(rules: CompiledCompareRules, options: NoiseOptions = {}) {
    // Learning must see every differing field, not the first hundred.
    this.#rules = { ...rules, maxDifferences: Number.MAX_SAFE_INTEGER };
    this.#minDiffered = options.minDiffered ?? 2;
    this.#minShare = options.minShare ?? 0.2;
    const first = options.learnFirst ?? 0;
    if (!(Number.isInteger(first) && first >= 0)) {
      throw new InvalidArgumentError(`noise learnFirst: expected an integer ≥ 0, got ${first}`);
    }
    this.#fastUntil = first;
  }

  /** Number of pairs observed. */
  get pairs(): number {
    return this.#pairs;
  }

  /**
   * True from the first probe until the first `learnFirst` probes are back:
   * verdicts are still moving. A route that never had a probe (only writes
   * copied, or learning off) learns nothing, so nothing moves.
   */
  get learning(): boolean {
    return this.#probes > 0 && this.#probesEnded < this.#fastUntil;
  }

  /**
   * A fast phase of `first` probes from now (learning turned on by a reload),
   * or none (`0`: turned off; probes already sent still count when back).
   */
  startFastPhase(first: number): void {
    this.#fastUntil = this.#probes + first;
  }

  /**
   * Whether to ask legacy a second time for this copy: always for the first
   * `learnFirst`, then when `roll` (uniform in [0, 1)) falls below `sample`.
   * A true answer must be followed by one `probeEnded`.
   */
  wantsProbe(sample: number, roll: number): boolean {
    if (this.#probes >= this.#fastUntil && !(roll < sample)) return false;
    this.#probes++;
    return true;
  }

  /**
   * A probe is back: both legacy answers when it succeeded, nothing when
   * either failed. `proto` decodes gRPC answers, as for the comparison.
   */
  probeEnded(first?: ResponseSample, second?: ResponseSample, proto?: ProtoContext): void {
    this.#probesEnded++;
    if (first !== undefined && second !== undefined) this.observe(first, second, proto);
  }

  /** Feed two legacy answers to the same request. */
  observe(first: ResponseSample, second: ResponseSample, proto?: ProtoContext): void {
    const { result, bodies } = compareDetailed(first, second, this.#rules, { proto });
    const present = new Set<string>(['status']);
    if (result.grpcBody !== undefined) present.add(GRPC_STATUS);
    for (const h of this.#rules.headers) present.add(`header:${h}`);
    if (bodies === undefined) {
      present.add('body');
    } else {
      collectPatterns(bodies.legacy, this.#rules.root, [], present);
      collectPatterns(bodies.candidate, this.#rules.root, [], present);
    }
    const differed = new Set<string>();
    for (const d of result.differences) differed.add(d.pattern);
    for (const p of differed) present.add(p);
    for (const p of present) {
      let c = this.#counts.get(p);
      if (!c) {
        c = { differed: 0, present: 0 };
        this.#counts.set(p, c);
      }
      c.present++;
      if (differed.has(p)) c.differed++;
    }
    this.#pairs++;
    this.#updateVerdicts(present);
  }

  /** Only the patterns this pair touched can change their verdict. */
  #updateVerdicts(touched: Iterable<string>): void {
    let next: Set<string> | undefined;
    for (const p of touched) {
      if (this.isNoisy(p) === this.#noisy.has(p)) continue;
      next ??= new Set(this.#noisy);
      if (next.has(p)) next.delete(p);
      else next.add(p);
    }
    if (next !== undefined) this.#noisy = next;
  }

  isNoisy(pattern: string): boolean {
    const c = this.#counts.get(pattern);
    return (
      c !== undefined && c.differed >= this.#minDiffered && c.differed >= this.#minShare * c.present
    );
  }

  /**
   * The noisy patterns, to pass as `compareResponses(…, { noisy })`. The same
   * object until a verdict changes; never changed in place.
   */
  noisyPatterns(): ReadonlySet<string> {
    return this.#noisy;
  }

  /** Every pattern that differed at least once, sorted by pattern. */
  snapshot(): NoiseEntry[] {
    const out: NoiseEntry[] = [];
    for (const [pattern, c] of this.#counts) {
      if (c.differed > 0) out.push({ pattern, ...c, noisy: this.isNoisy(pattern) });
    }
    return out.sort((a, b) => (a.pattern < b.pattern ? -1 : a.pattern > b.pattern ? 1 : 0));
  }
}

function collectPatterns(
  value: unknown,
  node: PathNode | undefined,
  steps: (string | number)[],
  into: Set<string>,
): void {
  if (node?.ignore) return;
  into.add(formatPath(steps, true));
  if (value === null || typeof value !== 'object') return;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      steps.push(i);
      collectPatterns(value[i], childNode(node, i), steps, into);
      steps.pop();
    }
    return;
  }
  for (const [key, v] of Object.entries(value)) {
    steps.push(key);
    collectPatterns(v, childNode(node, key), steps, into);
    steps.pop();
  }
}
