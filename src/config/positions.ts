// Where a field sits in the YAML source, so every message can name
// file:line:column. Paths are the ones zod and normalizeConfig report
// (['routes', 1, 'split', 'stickyKey']).
import {
  type Document,
  isAlias,
  isMap,
  isNode,
  isScalar,
  isSeq,
  type LineCounter,
  type Pair,
  type YAMLMap,
} from 'yaml';
import type { FieldPath } from './normalize.ts';

export interface Position {
  /** 1-based. */
  readonly line: number;
  /** 1-based. */
  readonly column: number;
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_-]*$/;

/** `routes[1].split.stickyKey`; names that are not identifiers are quoted: `backends["a b"]`. */
export function formatPath(path: FieldPath): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else if (!IDENTIFIER.test(seg)) out += `[${JSON.stringify(seg)}]`;
    else out += out === '' ? seg : `.${seg}`;
  }
  return out;
}

/** The text of a mapping key, or undefined for complex keys. */
export function keyText(key: unknown): string | undefined {
  if (isScalar(key)) return String(key.value);
  return undefined;
}

function startOf(node: unknown): number | undefined {
  return isNode(node) && node.range ? node.range[0] : undefined;
}

/** An empty value (`legacy:` with nothing after it) has no text of its own to point at. */
function isEmptyValue(node: unknown): boolean {
  return isScalar(node) && node.value === null && node.range?.[0] === node.range?.[1];
}

export class SourcePositions {
  readonly #doc: Document.Parsed;
  readonly #lines: LineCounter;
  /**
   * Each mapping's pairs by key, built the first time an issue points into
   * it. Scanning `items` per issue made a file of n unknown keys cost n²
   * (20,000 keys: seconds; issue 9).
   */
  readonly #pairs: WeakMap<YAMLMap, Map<string, Pair>>;

  constructor(doc: Document.Parsed, lines: LineCounter) {
    this.#doc = doc;
    this.#lines = lines;
    this.#pairs = new WeakMap();
  }

  #pairOf(map: YAMLMap, key: string): Pair | undefined {
    let byKey = this.#pairs.get(map);
    if (!byKey) {
      byKey = new Map();
      for (const pair of map.items) {
        const text = keyText(pair.key);
        // The first pair wins, as `items.find` did; a repeated key is refused anyway.
        if (text !== undefined && !byKey.has(text)) byKey.set(text, pair);
      }
      this.#pairs.set(map, byKey);
    }
    return byKey.get(key);
  }

  at(offset: number): Position {
    const { line, col } = this.#lines.linePos(offset);
    return { line, column: col };
  }

  /**
   * The position of the field at `path`: its value, or its key when `key` is
   * set (unknown fields, bad names). A path that leads nowhere (a missing
   * field) points at the deepest mapping or list that exists on it.
   */
  locate(path: FieldPath, key = false): Position {
    let node: unknown = this.#doc.contents;
    let offset = startOf(node) ?? 0;
    for (const seg of path) {
      if (isAlias(node)) node = node.resolve(this.#doc);
      let next: unknown;
      let keyNode: unknown;
      if (isMap(node)) {
        const pair = this.#pairOf(node, String(seg));
        if (pair) {
          next = pair.value;
          keyNode = pair.key;
        }
      } else if (isSeq(node) && typeof seg === 'number') {
        next = node.items[seg];
      }
      if (next === undefined && keyNode === undefined) break;
      const useKey = keyNode !== undefined && (key || next === null || isEmptyValue(next));
      offset = (useKey ? startOf(keyNode) : startOf(next)) ?? offset;
      node = next;
    }
    return this.at(offset);
  }
}
