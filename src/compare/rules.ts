// Per-route comparison rules, compiled once when the config loads: paths are
// parsed into one trie, header names lower-cased, content types put in a set.
// Comparing then only follows pointers.

import type { CompareRulesConfig } from '../config/index.ts';
import { InvalidArgumentError } from '../errors.ts';
import { type PathNode, PathTrieBuilder } from './path.ts';

/** Rules as written in the config, plus knobs only code sets. */
export interface CompareRules extends CompareRulesConfig {
  /** Stop collecting real differences after this many; default 100. */
  readonly maxDifferences?: number;
}

export interface CompiledCompareRules {
  readonly headers: readonly string[];
  readonly ignoreContentTypes: ReadonlySet<string>;
  readonly nullEqualsMissing: boolean;
  readonly floatPlaces: number | undefined;
  readonly maxDifferences: number;
  /** The trie of all JSON paths; undefined when no path rule is set. */
  readonly root: PathNode | undefined;
}

/**
 * Headers that differ between any two answers of the same server (RFC 9110
 * Date, Server, ETag, Content-Length; RFC 9112 Transfer-Encoding; cookies
 * carry fresh sessions). They are never compared, even when listed.
 */
export const VOLATILE_HEADERS: ReadonlySet<string> = new Set([
  'date',
  'server',
  'set-cookie',
  'etag',
  'content-length',
  'transfer-encoding',
  'connection',
  'keep-alive',
  'age',
]);

/** Compared when a route lists no headers: the type is part of the answer, the rest rarely. */
export const DEFAULT_COMPARED_HEADERS: readonly string[] = ['content-type'];

const DEFAULT_MAX_DIFFERENCES = 100;

export function compileCompareRules(rules: CompareRules = {}): CompiledCompareRules {
  const trie = new PathTrieBuilder();
  for (const p of rules.ignore ?? []) trie.add(p, (f) => (f.ignore = true));
  for (const p of rules.timestamps ?? []) trie.add(p, (f) => (f.timestamp = true));
  for (const [p, key] of Object.entries(rules.unordered ?? {})) {
    if (key === false) continue;
    const field = typeof key === 'string' ? key : '';
    trie.add(p, (f) => (f.unordered = field));
  }
  const places = rules.floatPlaces;
  if (places !== undefined && !(Number.isInteger(places) && places >= 0 && places <= 15)) {
    throw new InvalidArgumentError(`compare floatPlaces: expected an integer 0–15, got ${places}`);
  }
  const max = rules.maxDifferences ?? DEFAULT_MAX_DIFFERENCES;
  if (!(Number.isInteger(max) && max > 0)) {
    throw new InvalidArgumentError(
      `compare maxDifferences: expected a positive integer, got ${max}`,
    );
  }
  const headers = (rules.headers ?? DEFAULT_COMPARED_HEADERS)
    .map((h) => h.toLowerCase())
    .filter((h) => !VOLATILE_HEADERS.has(h));
  return Object.freeze({
    headers: Object.freeze([...new Set(headers)]),
    ignoreContentTypes: new Set((rules.ignoreContentTypes ?? []).map((t) => t.toLowerCase())),
    nullEqualsMissing: rules.nullEqualsMissing ?? false,
    floatPlaces: places,
    maxDifferences: max,
    root: trie.build(),
  });
}
