// Noise learning: two answers of the LEGACY service to the same request
// should be equal, so every field where they differ is noise (a request id, a
// clock, a random order). Counted per pattern (indices as [*]) over many
// pairs; a pattern that differs often enough is reported but never fails a
// comparison of legacy against candidate.

import { childNode, formatPath, type PathNode } from './path.ts';
import { compareDetailed, type ResponseSample } from './response.ts';
import type { CompiledCompareRules } from './rules.ts';

export interface NoiseOptions {
  /** A pattern must have differed in at least this many pairs; default 2. */
  readonly minDiffered?: number;
  /** …and in at least this share of the pairs where it was present; default 0.2. */
  readonly minShare?: number;
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

export class NoiseTracker {
  readonly #rules: CompiledCompareRules;
  readonly #minDiffered: number;
  readonly #minShare: number;
  readonly #counts = new Map<string, Counts>();
  #pairs = 0;
  #noisy: ReadonlySet<string> | undefined;

  constructor(rules: CompiledCompareRules, options: NoiseOptions = {}) {
    // Learning must see every differing field, not the first hundred.
    this.#rules = { ...rules, maxDifferences: Number.MAX_SAFE_INTEGER };
    this.#minDiffered = options.minDiffered ?? 2;
    this.#minShare = options.minShare ?? 0.2;
  }

  /** Number of pairs observed. */
  get pairs(): number {
    return this.#pairs;
  }

  /** Feed two legacy answers to the same request. */
  observe(first: ResponseSample, second: ResponseSample): void {
    const { result, bodies } = compareDetailed(first, second, this.#rules);
    const present = new Set<string>(['status']);
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
    this.#noisy = undefined;
  }

  isNoisy(pattern: string): boolean {
    const c = this.#counts.get(pattern);
    return (
      c !== undefined && c.differed >= this.#minDiffered && c.differed >= this.#minShare * c.present
    );
  }

  /** The noisy patterns, to pass as `compareResponses(…, { noisy })`; cached until the next pair. */
  noisyPatterns(): ReadonlySet<string> {
    if (this.#noisy === undefined) {
      const set = new Set<string>();
      for (const p of this.#counts.keys()) if (this.isNoisy(p)) set.add(p);
      this.#noisy = set;
    }
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
