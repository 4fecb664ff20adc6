// Structural diff of two parsed JSON documents under compiled rules. The walk
// follows the rule trie in step with the values (one pointer per level) and
// keeps the current path as a stack of steps; a path string is only built
// when a difference is found.

import type { GrpcBodyComparison } from './grpc-answer.ts';
import { childNode, formatPath, type PathNode } from './path.ts';
import type { CompiledCompareRules } from './rules.ts';
import { canonicalInstant } from './timestamp.ts';

export type DifferenceKind = 'changed' | 'missing-in-candidate' | 'extra-in-candidate' | 'type';

export interface Difference {
  /** Where: `$.orders[0].total`, `status`, `grpc-status`, `header:content-type`, or `body` for raw bytes. */
  readonly path: string;
  /** `path` with every index written `[*]`, for field statistics and noise learning. */
  readonly pattern: string;
  readonly kind: DifferenceKind;
  readonly legacy?: unknown;
  readonly candidate?: unknown;
  /** Set when the pattern is known noise: reported, but it does not fail the match. */
  readonly noise?: true;
}

export interface CompareResult {
  /** True when every difference (if any) is noise. */
  readonly match: boolean;
  readonly differences: readonly Difference[];
  /** True when more real differences existed than `maxDifferences` and some were left out. */
  readonly truncated: boolean;
  /** gRPC answers only: whether the messages were decoded as protobuf or compared as bytes, and why. */
  readonly grpcBody?: GrpcBodyComparison;
}

type JsonObject = Record<string, unknown>;

/** Collects the differences of one comparison. */
export class DiffCollector {
  readonly steps: (string | number)[] = [];
  readonly differences: Difference[] = [];
  readonly rules: CompiledCompareRules;
  readonly #noisy: ReadonlySet<string> | undefined;
  #real = 0;
  #noise = 0;
  #truncated = false;

  constructor(rules: CompiledCompareRules, noisy: ReadonlySet<string> | undefined) {
    this.rules = rules;
    this.#noisy = noisy !== undefined && noisy.size > 0 ? noisy : undefined;
  }

  /** True once more than `maxDifferences` real differences were seen: the walk may stop. */
  get full(): boolean {
    return this.#truncated;
  }

  add(path: string, pattern: string, kind: DifferenceKind, legacy: unknown, candidate: unknown) {
    const max = this.rules.maxDifferences;
    const d: Difference =
      legacy === undefined && candidate === undefined
        ? { path, pattern, kind }
        : candidate === undefined
          ? { path, pattern, kind, legacy }
          : legacy === undefined
            ? { path, pattern, kind, candidate }
            : { path, pattern, kind, legacy, candidate };
    if (this.#noisy?.has(pattern)) {
      // Noise is kept apart from the cap on real differences, so that noisy
      // fields can never crowd out the one that fails the match.
      if (this.#noise++ < max) this.differences.push({ ...d, noise: true });
      return;
    }
    if (this.#real++ < max) this.differences.push(d);
    else this.#truncated = true;
  }

  /** Report a difference at the current JSON path. */
  here(kind: DifferenceKind, legacy: unknown, candidate: unknown): void {
    this.add(formatPath(this.steps), formatPath(this.steps, true), kind, legacy, candidate);
  }

  result(): CompareResult {
    return { match: this.#real === 0, differences: this.differences, truncated: this.#truncated };
  }
}

function jsonType(v: unknown): string {
  return v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v;
}

export function roundTo(n: number, places: number): number {
  return Number(n.toFixed(places));
}

/** Compare two parsed JSON values; differences go to `out`, paths relative to `$`. */
export function diffJson(legacy: unknown, candidate: unknown, out: DiffCollector): void {
  diffValue(legacy, candidate, out.rules.root, out);
}

function diffValue(a: unknown, b: unknown, node: PathNode | undefined, out: DiffCollector): void {
  if (a === b || node?.ignore || out.full) return;
  const ta = jsonType(a);
  if (ta !== jsonType(b)) {
    out.here('type', a, b);
  } else if (ta === 'array') {
    if (node?.unordered !== undefined) diffUnordered(a as unknown[], b as unknown[], node, out);
    else diffOrdered(a as unknown[], b as unknown[], node, out);
  } else if (ta === 'object') {
    diffObject(a as JsonObject, b as JsonObject, node, out);
  } else if (!primitivesEqual(ta, a, b, node, out.rules)) {
    out.here('changed', a, b);
  }
}

/** Two primitives of the same type that are not `===`: equal only by a rule. */
function primitivesEqual(
  type: string,
  a: unknown,
  b: unknown,
  node: PathNode | undefined,
  rules: CompiledCompareRules,
): boolean {
  if (type === 'number') {
    const places = rules.floatPlaces;
    return places !== undefined && roundTo(a as number, places) === roundTo(b as number, places);
  }
  if (type === 'string' && node?.timestamp) {
    const ia = canonicalInstant(a as string);
    return ia !== undefined && ia === canonicalInstant(b as string);
  }
  return false;
}

function diffObject(a: JsonObject, b: JsonObject, node: PathNode | undefined, out: DiffCollector) {
  const nullIsMissing = out.rules.nullEqualsMissing;
  const steps = out.steps;
  for (const key in a) {
    const child = childNode(node, key);
    if (child?.ignore) continue;
    const av = a[key];
    if (Object.hasOwn(b, key)) {
      const bv = b[key];
      if (av === bv) continue;
      steps.push(key);
      diffValue(av, bv, child, out);
      steps.pop();
    } else if (!(nullIsMissing && av === null)) {
      steps.push(key);
      out.here('missing-in-candidate', av, undefined);
      steps.pop();
    }
  }
  for (const key in b) {
    if (Object.hasOwn(a, key)) continue;
    const bv = b[key];
    if ((nullIsMissing && bv === null) || childNode(node, key)?.ignore) continue;
    steps.push(key);
    out.here('extra-in-candidate', undefined, bv);
    steps.pop();
  }
}

function diffOrdered(a: unknown[], b: unknown[], node: PathNode | undefined, out: DiffCollector) {
  const steps = out.steps;
  const common = Math.min(a.length, b.length);
  for (let i = 0; i < common; i++) {
    if (a[i] === b[i]) continue;
    steps.push(i);
    diffValue(a[i], b[i], childNode(node, i), out);
    steps.pop();
  }
  for (let i = common; i < a.length; i++) reportAlone(i, a[i], 'missing-in-candidate', node, out);
  for (let i = common; i < b.length; i++) reportAlone(i, b[i], 'extra-in-candidate', node, out);
}

function reportAlone(
  index: number,
  value: unknown,
  kind: 'missing-in-candidate' | 'extra-in-candidate',
  node: PathNode | undefined,
  out: DiffCollector,
): void {
  if (childNode(node, index)?.ignore) return;
  out.steps.push(index);
  if (kind === 'missing-in-candidate') out.here(kind, value, undefined);
  else out.here(kind, undefined, value);
  out.steps.pop();
}

/** The identity of an array element under a key field, or undefined when it has none. */
function elementKey(v: unknown, field: string): string | undefined {
  if (v === null || typeof v !== 'object' || Array.isArray(v) || !Object.hasOwn(v, field)) {
    return undefined;
  }
  const k = (v as JsonObject)[field];
  return k !== null && typeof k === 'object' ? `j:${JSON.stringify(k)}` : `${typeof k}:${k}`;
}

/**
 * An array compared as a set. With a key field, elements are paired by key and
 * then diffed field by field (reported at the legacy index); without one, or
 * for elements that lack the key, as a multiset of normalised values.
 */
function diffUnordered(a: unknown[], b: unknown[], node: PathNode, out: DiffCollector): void {
  const field = node.unordered as string;
  const rules = out.rules;
  const pending = new Map<string, number[]>();
  const identity = (v: unknown, i: number): string => {
    const k = field === '' ? undefined : elementKey(v, field);
    return k ?? `v:${JSON.stringify(canonicalize(v, childNode(node, i), rules))}`;
  };
  for (let j = 0; j < b.length; j++) {
    const id = identity(b[j], j);
    const list = pending.get(id);
    if (list) list.push(j);
    else pending.set(id, [j]);
  }
  const unmatched: number[] = [];
  for (let i = 0; i < a.length; i++) {
    const j = pending.get(identity(a[i], i))?.shift();
    if (j === undefined) {
      unmatched.push(i);
    } else if (field !== '' && a[i] !== b[j]) {
      out.steps.push(i);
      diffValue(a[i], b[j], childNode(node, i), out);
      out.steps.pop();
    }
  }
  for (const i of unmatched) reportAlone(i, a[i], 'missing-in-candidate', node, out);
  const extra: number[] = [];
  for (const list of pending.values()) extra.push(...list);
  extra.sort((x, y) => x - y);
  for (const j of extra) reportAlone(j, b[j], 'extra-in-candidate', node, out);
}

/**
 * The normalised form of a value: keys sorted, ignored paths removed, numbers
 * rounded, instants in UTC, unordered arrays sorted, and null-valued keys
 * dropped when null equals missing. Two values that compare equal have the
 * same canonical JSON text; it is also what sample diffs show.
 */
export function canonicalize(
  value: unknown,
  node: PathNode | undefined,
  rules: CompiledCompareRules,
): unknown {
  switch (jsonType(value)) {
    case 'number':
      return rules.floatPlaces === undefined ? value : roundTo(value as number, rules.floatPlaces);
    case 'string':
      return node?.timestamp ? (canonicalInstant(value as string) ?? value) : value;
    case 'array':
      return canonicalArray(value as unknown[], node, rules);
    case 'object': {
      const src = value as JsonObject;
      const out: JsonObject = Object.create(null);
      for (const key of Object.keys(src).sort()) {
        const child = childNode(node, key);
        const v = src[key];
        if (child?.ignore || (rules.nullEqualsMissing && v === null)) continue;
        out[key] = canonicalize(v, child, rules);
      }
      return out;
    }
    default:
      return value;
  }
}

function canonicalArray(
  arr: unknown[],
  node: PathNode | undefined,
  rules: CompiledCompareRules,
): unknown[] {
  const out: unknown[] = [];
  for (let i = 0; i < arr.length; i++) {
    const child = childNode(node, i);
    if (!child?.ignore) out.push(canonicalize(arr[i], child, rules));
  }
  const field = node?.unordered;
  if (field === undefined) return out;
  const keyed = out.map((v) => ({
    key: field === '' ? '' : (elementKey(v, field) ?? ''),
    text: JSON.stringify(v),
    v,
  }));
  keyed.sort((x, y) => cmp(x.key, y.key) || cmp(x.text, y.text));
  return keyed.map((k) => k.v);
}

function cmp(x: string, y: string): number {
  return x < y ? -1 : x > y ? 1 : 0;
}

/** Pretty-printed canonical JSON (sorted keys, ignored paths removed), for sample diffs. */
export function normalizedJsonText(value: unknown, rules: CompiledCompareRules): string {
  return JSON.stringify(canonicalize(value, rules.root, rules), null, 2) ?? '';
}
