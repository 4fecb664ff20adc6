// zod's default messages ("Invalid input: expected string, received number")
// speak about JavaScript; a config author reads YAML. This file rewrites them
// into what the field expected and what it got. Messages that schema.ts sets
// itself take precedence over this map and are kept as they are.
import { z } from 'zod';
import { duration, durationMessage, size, sizeMessage } from './fields.ts';
import type { FieldPath } from './normalize.ts';

export const MISSING = 'required field is missing';

/** How a field should be pointed at: its value, its key, or (when absent) its parent. */
export interface SchemaIssue {
  readonly path: FieldPath;
  readonly message: string;
  readonly atKey: boolean;
}

const EXPECTED: Record<string, string> = {
  string: 'a string',
  number: 'a number',
  int: 'an integer',
  boolean: 'true or false',
  object: 'a mapping',
  record: 'a mapping',
  array: 'a list',
  null: 'an empty value',
};

/** What a YAML value is, in a reader's words. */
export function describeValue(input: unknown): string {
  if (input === null || input === undefined) return 'an empty value';
  if (Array.isArray(input)) return 'a list';
  switch (typeof input) {
    case 'string':
      return 'a string';
    case 'number':
      return 'a number';
    case 'boolean':
      return String(input);
    case 'object':
      return 'a mapping';
    default:
      return typeof input;
  }
}

function literal(value: unknown): string {
  return typeof value === 'string' ? value : String(value);
}

function countOf(n: number | bigint, one: string, many: string): string {
  return `${n} ${n === 1 ? one : many}`;
}

function boundMessage(
  bound: 'at least' | 'at most',
  origin: string,
  limit: number | bigint,
  inclusive: boolean | undefined,
  input: unknown,
): string {
  if (origin === 'string') {
    if (bound === 'at least' && limit === 1) return 'expected a non-empty string';
    return `expected ${bound} ${countOf(limit, 'character', 'characters')}`;
  }
  if (origin === 'array') return `expected ${bound} ${countOf(limit, 'item', 'items')}`;
  const word = inclusive === false ? (bound === 'at least' ? 'more than' : 'less than') : bound;
  return `expected ${word} ${limit}, got ${literal(input)}`;
}

/** `expected a string or a number, got true` for a union whose every branch failed on type. */
function unionMessage(branches: readonly (readonly z.core.$ZodIssue[])[], input: unknown): string {
  const wanted: string[] = [];
  for (const branch of branches) {
    const first = branch[0];
    if (branch.length !== 1 || first.path.length !== 0)
      return `${describeValue(input)} is not allowed here`;
    if (first.code === 'invalid_type') wanted.push(EXPECTED[first.expected] ?? first.expected);
    else if (first.code === 'invalid_value') wanted.push(...first.values.map(literal));
    else return first.message;
  }
  return `expected ${wanted.join(' or ')}, got ${describeValue(input)}`;
}

/** The per-parse error map: used only where schema.ts did not set a message. */
export const configErrorMap: z.core.$ZodErrorMap = (issue) => {
  switch (issue.code) {
    case 'invalid_type':
      if (issue.input === undefined) return MISSING;
      if (issue.expected === 'int' && typeof issue.input === 'number') {
        return `expected an integer, got ${issue.input}`;
      }
      return `expected ${EXPECTED[issue.expected] ?? issue.expected}, got ${describeValue(issue.input)}`;
    case 'invalid_value': {
      const got =
        typeof issue.input === 'string' ? JSON.stringify(issue.input) : literal(issue.input);
      if (issue.values.length === 1) return `expected ${literal(issue.values[0])}, got ${got}`;
      return `expected one of ${issue.values.map(literal).join(', ')}, got ${got}`;
    }
    case 'too_small':
      return boundMessage('at least', issue.origin, issue.minimum, issue.inclusive, issue.input);
    case 'too_big':
      return boundMessage('at most', issue.origin, issue.maximum, issue.inclusive, issue.input);
    case 'invalid_union':
      // A duration or size of the wrong type gets the same message as one of the wrong form.
      if (issue.inst === duration.in) return durationMessage(issue.input);
      if (issue.inst === size.in) return sizeMessage(issue.input);
      return unionMessage(issue.errors, issue.input);
    case 'invalid_format':
      return issue.pattern
        ? `expected a string matching ${issue.pattern}, got ${JSON.stringify(issue.input)}`
        : `expected ${issue.format}, got ${JSON.stringify(issue.input)}`;
    case 'invalid_key': {
      const why = issue.issues.map((i) => i.message).join('; ');
      return `invalid name ${JSON.stringify(issue.input)}: ${why}`;
    }
    default:
      return undefined;
  }
};

/** The field names a strict object at `path` accepts, for "did you mean". */
function knownKeys(schema: z.core.$ZodType, path: FieldPath): string[] {
  let s = schema;
  const unwrap = (t: z.core.$ZodType): z.core.$ZodType => {
    let cur = t;
    for (;;) {
      if (cur instanceof z.ZodOptional) cur = cur.unwrap();
      else if (cur instanceof z.ZodPipe) cur = cur.in;
      else return cur;
    }
  };
  for (const seg of path) {
    s = unwrap(s);
    if (s instanceof z.ZodObject) {
      const next: z.core.$ZodType | undefined = s.shape[String(seg)];
      if (!next) return [];
      s = next;
    } else if (s instanceof z.ZodArray) s = s.element;
    else if (s instanceof z.ZodRecord) s = s.valueType;
    else return [];
  }
  s = unwrap(s);
  return s instanceof z.ZodObject ? Object.keys(s.shape) : [];
}

/** Optimal string alignment distance: Levenshtein where a swap of two neighbours costs 1. */
export function editDistance(a: string, b: string): number {
  const d: number[][] = [];
  for (let i = 0; i <= a.length; i++) {
    d.push([i]);
    for (let j = 1; j <= b.length; j++) {
      if (i === 0) {
        d[i].push(j);
        continue;
      }
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        best = Math.min(best, d[i - 2][j - 2] + 1);
      }
      d[i].push(best);
    }
  }
  return d[a.length][b.length];
}

/** A known key close enough to be a typo: at most 2 edits, and not more than half the word. */
export function closestKey(unknown: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = 3;
  for (const candidate of known) {
    const distance = editDistance(unknown.toLowerCase(), candidate.toLowerCase());
    if (distance < bestDistance && distance * 2 <= unknown.length) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best;
}

/** zod's issues as config issues: one per unknown key, missing fields pointed at their parent. */
export function schemaIssues(
  schema: z.core.$ZodType,
  issues: readonly z.core.$ZodIssue[],
): SchemaIssue[] {
  const out: SchemaIssue[] = [];
  for (const issue of issues) {
    const path = issue.path.map((p) => (typeof p === 'number' ? p : String(p)));
    if (issue.code === 'unrecognized_keys') {
      const known = knownKeys(schema, path);
      for (const key of issue.keys) {
        const hint = closestKey(key, known);
        const message = hint
          ? `unknown field "${key}"; did you mean "${hint}"?`
          : `unknown field "${key}"`;
        out.push({ path: [...path, key], message, atKey: true });
      }
    } else {
      out.push({ path, message: issue.message, atKey: issue.code === 'invalid_key' });
    }
  }
  return out;
}
