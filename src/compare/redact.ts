// Samples of mismatches are shown to people and stored; credentials and
// configured personal fields are replaced before they leave the comparison.

import { childNode, type PathNode, PathTrieBuilder } from './path.ts';
import type { ResponseHeaders } from './response.ts';

export const REDACTED = '[redacted]';

/** Always replaced: credentials in either direction (RFC 9110 §11.6.2, RFC 6265). */
const SECRET_HEADERS: ReadonlySet<string> = new Set([
  'authorization',
  'proxy-authorization',
  'cookie',
  'set-cookie',
]);

export interface RedactionRules {
  /** JSON paths whose values are replaced, e.g. `$.user.email`, `$.items[*].card`. */
  readonly paths?: readonly string[];
  /** More header names to replace, besides authorization and cookies. */
  readonly headers?: readonly string[];
}

/** Compiled once; `headers()` and `json()` return copies and never change their input. */
export class Redactor {
  readonly #root: PathNode | undefined;
  readonly #headers: ReadonlySet<string>;

  constructor(rules: RedactionRules = {}) {
    const trie = new PathTrieBuilder();
    for (const p of rules.paths ?? []) trie.add(p, (f) => (f.redact = true));
    this.#root = trie.build();
    this.#headers = new Set([
      ...SECRET_HEADERS,
      ...(rules.headers ?? []).map((h) => h.toLowerCase()),
    ]);
  }

  headers(headers: ResponseHeaders): Record<string, string | string[] | number | undefined> {
    const out: Record<string, string | string[] | number | undefined> = {};
    for (const [name, value] of Object.entries(headers)) {
      out[name] = this.#headers.has(name.toLowerCase()) && value !== undefined ? REDACTED : value;
    }
    return out;
  }

  json(value: unknown): unknown {
    return this.#root === undefined ? value : redactValue(value, this.#root);
  }
}

function redactValue(value: unknown, node: PathNode | undefined): unknown {
  if (node === undefined) return value;
  if (node.redact) return REDACTED;
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((v, i) => redactValue(v, childNode(node, i)));
  const out: Record<string, unknown> = Object.create(null);
  for (const [key, v] of Object.entries(value)) out[key] = redactValue(v, childNode(node, key));
  return out;
}
