// The JSONPath subset that shadow rules use: `$`, `.name`, `['name']`,
// `[N]`, `[*]` and `.*`. Recursive descent (`$..id`) and filters are left
// out on purpose: every supported path is a plain walk from the root, so all
// of a route's paths compile into one trie (compare/path.ts) that the differ
// follows in step with the values. The syntax lives here, in config, because
// the loader checks every path of a file (naming its line) and compare
// compiles the same paths: one parser, and the arrow points compare → config.

import { InvalidArgumentError } from '../errors.ts';

/** One step of a parsed path: a key or index, or `*` for any key or index. */
export type JsonPathStep = string | number | typeof ANY_STEP;

/** The `[*]` / `.*` step: any key or index. */
export const ANY_STEP: unique symbol = Symbol('any');

/** Parse `$.items[*].at` into `['items', ANY_STEP, 'at']`. Throws on anything else. */
export function parseJsonPath(path: string): JsonPathStep[] {
  const bad = (why: string): never => {
    throw new InvalidArgumentError(`compare path ${JSON.stringify(path)}: ${why}`);
  };
  if (path[0] !== '$') bad('must start with $');
  const steps: JsonPathStep[] = [];
  let i = 1;
  while (i < path.length) {
    const c = path[i];
    if (c === '.') {
      if (path[i + 1] === '.') bad('recursive descent (..) is not supported');
      let end = i + 1;
      while (end < path.length && path[end] !== '.' && path[end] !== '[') end++;
      const name = path.slice(i + 1, end);
      if (name === '') bad(`empty key at offset ${i}`);
      steps.push(name === '*' ? ANY_STEP : name);
      i = end;
    } else if (c === '[') {
      const close = path.indexOf(']', i);
      if (close < 0) bad(`unclosed [ at offset ${i}`);
      const inner = path.slice(i + 1, close);
      if (inner === '*') steps.push(ANY_STEP);
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
export function formatJsonPath(steps: readonly (string | number)[], pattern = false): string {
  let out = '$';
  for (const s of steps) {
    if (typeof s === 'number') out += pattern ? '[*]' : `[${s}]`;
    else out += IDENT.test(s) ? `.${s}` : `['${s}']`;
  }
  return out;
}
