// The JSONPath subset that compare rules use: `$`, `.name`, `['name']`,
// `[N]`, `[*]` and `.*`. Recursive descent (`$..id`) and filters are left
// out on purpose: every supported path is a plain walk from the root, so all
// of a route's paths compile into one trie that the differ follows in step
// with the values, never re-reading a path per comparison.

import { InvalidArgumentError } from '../errors.ts';

/** One step of a parsed path: a key or index, or `*` for any key or index. */
export type PathStep = string | number | typeof ANY;

export const ANY: unique symbol = Symbol('any');

/** Parse `$.items[*].at` into `['items', ANY, 'at']`. Throws on anything else. */
export function parsePath(path: string): PathStep[] {
  const bad = (why: string): never => {
    throw new InvalidArgumentError(`compare path ${JSON.stringify(path)}: ${why}`);
  };
  if (path[0] !== '$') bad('must start with $');
  const steps: PathStep[] = [];
  let i = 1;
  while (i < path.length) {
    const c = path[i];
    if (c === '.') {
      if (path[i + 1] === '.') bad('recursive descent (..) is not supported');
      let end = i + 1;
      while (end < path.length && path[end] !== '.' && path[end] !== '[') end++;
      const name = path.slice(i + 1, end);
      if (name === '') bad(`empty key at offset ${i}`);
      steps.push(name === '*' ? ANY : name);
      i = end;
    } else if (c === '[') {
      const close = path.indexOf(']', i);
      if (close < 0) bad(`unclosed [ at offset ${i}`);
      const inner = path.slice(i + 1, close);
      if (inner === '*') steps.push(ANY);
      else if (/^\d+$/.test(inner)) steps.push(Number(inner));
      else if (/^'[^']*'$|^"[^"]*"$/.test(inner)) steps.push(inner.slice(1, -1));
      else bad(`expected [N], [*] or ['key'], found [${inner}]`);
      i = close + 1;
    } else {
      bad(`unexpected ${JSON.stringify(c)} at offset ${i}`);
    }
  }
  return steps;
}

const IDENT = /^[A-Za-z_$][\w$]*$/;

/**
 * Format a concrete path (`$.orders[0].total`). With `pattern` every index is
 * written `[*]`, which is what field statistics and noise learning key on.
 */
export function formatPath(steps: readonly (string | number)[], pattern = false): string {
  let out = '$';
  for (const s of steps) {
    if (typeof s === 'number') out += pattern ? '[*]' : `[${s}]`;
    else out += IDENT.test(s) ? `.${s}` : `['${s}']`;
  }
  return out;
}

/** What the rules say about one place in a document. */
export interface PathFlags {
  ignore: boolean;
  timestamp: boolean;
  redact: boolean;
  /** Compare this array as a set: a key field name, `''` for a multiset, undefined for in order. */
  unordered: string | undefined;
}

/**
 * A trie node. Children of `ANY` steps are merged into the named children at
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
    for (const step of parsePath(path)) {
      if (step === ANY) {
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
