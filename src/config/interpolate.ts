// `${NAME}` and `${NAME:-default}` in string values, filled from the
// environment. Done on the parsed document's scalars rather than the raw text
// so a value can never break the YAML around it and positions stay exact.
import { type Document, isMap, isScalar, isSeq } from 'yaml';
import type { FieldPath } from './normalize.ts';
import { keyText } from './positions.ts';

export type Env = Readonly<Record<string, string | undefined>>;

export interface InterpolationIssue {
  readonly path: FieldPath;
  /** Offset of the scalar in the source. */
  readonly offset: number;
  readonly message: string;
}

// `$${` escapes; `${...}` is a reference; a `${` left over has no closing brace.
const REFERENCE = /\$\$\{|\$\{([^}]*)\}|\$\{/g;
const BODY = /^([A-Za-z_][A-Za-z0-9_]*)(?::-(.*))?$/s;

/** The text with every reference filled in, and one message per reference that could not be. */
export function expandReferences(text: string, env: Env): { value: string; problems: string[] } {
  const problems: string[] = [];
  const value = text.replace(REFERENCE, (whole: string, body: string | undefined) => {
    if (whole === '$${') return '${';
    if (body === undefined) {
      problems.push('"${" is not closed; write $${ for a literal ${');
      return whole;
    }
    const m = BODY.exec(body);
    if (!m) {
      problems.push(`expected \${NAME} or \${NAME:-default}, got ${JSON.stringify(whole)}`);
      return whole;
    }
    const [, name, fallback] = m;
    const set = env[name];
    // As in POSIX shells, `:-` also replaces a variable that is set but empty.
    if (fallback !== undefined) return set === undefined || set === '' ? fallback : set;
    if (set === undefined) {
      problems.push(`environment variable ${name} is not set`);
      return whole;
    }
    return set;
  });
  return { value, problems };
}

/** Fills references in every string value of the document, in place. Keys are left alone. */
export function interpolateDocument(doc: Document.Parsed, env: Env): InterpolationIssue[] {
  const issues: InterpolationIssue[] = [];
  const walk = (node: unknown, path: (string | number)[]): void => {
    if (isMap(node)) {
      for (const pair of node.items) walk(pair.value, [...path, keyText(pair.key) ?? '?']);
    } else if (isSeq(node)) {
      node.items.forEach((item, i) => {
        walk(item, [...path, i]);
      });
    } else if (isScalar(node) && typeof node.value === 'string' && node.value.includes('${')) {
      const { value, problems } = expandReferences(node.value, env);
      node.value = value;
      const offset = node.range?.[0] ?? 0;
      for (const message of problems) issues.push({ path, offset, message });
    }
  };
  walk(doc.contents, []);
  return issues;
}
