// The trie that all of a route's compare paths compile into: the differ
// follows it in step with the values, never re-reading a path per
// comparison. The path syntax itself (parse, format) belongs to config
// (config/json-path.ts), which checks every path at load.

import { ANY_STEP, parseJsonPath } from '../config/index.ts';

export type { JsonPathStep as PathStep } from '../config/index.ts';
export {
  formatJsonPath as formatPath,
  parseJsonPath as parsePath,
} from '../config/index.ts';

/** What the rules say about one place in a document. */
export interface PathFlags {
  ignore: boolean;
  timestamp: boolean;
  redact: boolean;
  /** Compare this array as a set: a key field name, `''` for a multiset, undefined for in order. */
  unordered: string | undefined;
}

/**
 * A trie node. Children of `[*]` steps are merged into the named children at
 * compile time, so a lookup is `children.get(key) ?? any`: one pointer, no
 * list of candidate nodes to carry through the walk.
 */
export interface PathNode extends PathFlags {
  readonly children: Map<string, PathNode>;
  any: PathNode | undefined;
}

function newNode(): PathNode {
  return {
    children: new Map(),
    any: undefined,
    ignore: false,
    timestamp: false,
    redact: false,
    unordered: undefined,
  };
}

/** Builds a trie from paths, each marked with a flag; `build()` merges wildcards. */
export class PathTrieBuilder {
  readonly #root = newNode();

  add(path: string, mark: (flags: PathFlags) => void): void {
    let node = this.#root;
    for (const step of parseJsonPath(path)) {
      if (step === ANY_STEP) {
        node.any ??= newNode();
        node = node.any;
      } else {
        const key = String(step);
        let next = node.children.get(key);
        if (!next) {
          next = newNode();
          node.children.set(key, next);
        }
        node = next;
      }
    }
    mark(node);
  }

  /** The compiled trie, or undefined when no path was added. */
  build(): PathNode | undefined {
    const root = this.#root;
    if (root.children.size === 0 && !root.any && !hasFlags(root)) return undefined;
    return freezeNode(resolveWildcards(root));
  }
}

function hasFlags(n: PathFlags): boolean {
  return n.ignore || n.timestamp || n.redact || n.unordered !== undefined;
}

/** A node that holds what both `a` and `b` say; `a` (the named path) wins a conflict. */
function mergeNodes(a: PathNode, b: PathNode): PathNode {
  const out = newNode();
  out.ignore = a.ignore || b.ignore;
  out.timestamp = a.timestamp || b.timestamp;
  out.redact = a.redact || b.redact;
  out.unordered = a.unordered ?? b.unordered;
  for (const [k, v] of b.children) out.children.set(k, v);
  for (const [k, v] of a.children) {
    const other = out.children.get(k);
    out.children.set(k, other ? mergeNodes(v, other) : v);
  }
  out.any = a.any && b.any ? mergeNodes(a.any, b.any) : (a.any ?? b.any);
  return out;
}

function resolveWildcards(node: PathNode): PathNode {
  const out = newNode();
  Object.assign(out, { ...node, children: out.children });
  if (node.any) out.any = resolveWildcards(node.any);
  for (const [k, child] of node.children) {
    const merged = node.any ? mergeNodes(child, node.any) : child;
    out.children.set(k, resolveWildcards(merged));
  }
  return out;
}

function freezeNode(node: PathNode): PathNode {
  for (const child of node.children.values()) freezeNode(child);
  if (node.any) freezeNode(node.any);
  return Object.freeze(node);
}

/** The node for one step down, or undefined when no rule reaches below. */
export function childNode(node: PathNode | undefined, key: string | number): PathNode | undefined {
  if (node === undefined) return undefined;
  return node.children.get(typeof key === 'number' ? String(key) : key) ?? node.any;
}
