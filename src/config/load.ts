// Parses a config text: YAML with positions, ${ENV} interpolation, the schema,
// then the whole-file checks of normalizeConfig. Every problem found is
// reported at once, each with file:line:column and the field's path. Every
// step is linear in the size of the file; load-file.ts runs it in a worker.
import { resolve } from 'node:path';
import { isMap, LineCounter, parseDocument } from 'yaml';
import { ConfigError, type ConfigIssue } from '../errors.ts';
import { DUPLICATE_KEY_MESSAGE, duplicateKeyOffsets } from './duplicate-keys.ts';
import { type Env, interpolateDocument } from './interpolate.ts';
import { configErrorMap, describeValue, schemaIssues } from './messages.ts';
import { type FieldPath, normalizeConfig } from './normalize.ts';
import { formatPath, SourcePositions } from './positions.ts';
import { referenceIssues } from './references.ts';
import { configSchema } from './schema.ts';
import type { Config } from './types.ts';

/** Past this many alias expansions a document is refused (the "billion laughs" guard of `yaml`). */
const MAX_ALIAS_COUNT = 100;

function byPosition(a: ConfigIssue, b: ConfigIssue): number {
  return a.line - b.line || a.column - b.column;
}

/**
 * A problem inside a field whose ${VAR} could not be filled would only repeat
 * that problem. Looks up each prefix of `path` (cut before a `.` or `[`)
 * rather than scanning every unfilled field, which was quadratic.
 */
function isWithin(path: string, prefixes: ReadonlySet<string>): boolean {
  if (prefixes.size === 0) return false;
  if (prefixes.has(path)) return true;
  for (let i = 1; i < path.length; i++) {
    const c = path.charCodeAt(i);
    if ((c === 46 /* . */ || c === 91) /* [ */ && prefixes.has(path.slice(0, i))) return true;
  }
  return false;
}

/** `Config.source` is an absolute path; names such as `<inline>` are kept as given. */
function sourceName(file: string): string {
  return file.startsWith('<') ? file : resolve(file);
}

export function parseConfigText(text: string, file: string, env: Env = process.env): Config {
  const lines = new LineCounter();
  // uniqueKeys: false — yaml's own check is quadratic; duplicateKeyOffsets does it in one pass.
  const doc = parseDocument(text, {
    lineCounter: lines,
    prettyErrors: false,
    merge: true,
    uniqueKeys: false,
  });
  const positions = new SourcePositions(doc, lines);
  const issueAt = (path: FieldPath, message: string, atKey = false): ConfigIssue => ({
    file,
    ...positions.locate(path, atKey),
    path: formatPath(path),
    message,
  });

  const yamlErrors = [
    ...doc.errors.map((e) => ({ offset: e.pos[0], message: e.message })),
    ...duplicateKeyOffsets(doc).map((offset) => ({ offset, message: DUPLICATE_KEY_MESSAGE })),
  ];
  if (yamlErrors.length > 0) {
    throw new ConfigError(
      yamlErrors
        .sort((a, b) => a.offset - b.offset)
        .map((e) => ({
          file,
          ...positions.at(e.offset),
          path: '',
          message: `invalid YAML: ${e.message}`,
        })),
    );
  }
  if (doc.contents === null) {
    throw new ConfigError([
      issueAt([], 'the file is empty; expected a mapping with backends and routes'),
    ]);
  }
  if (!isMap(doc.contents)) {
    const got = describeValue(doc.contents.toJS(doc));
    throw new ConfigError([issueAt([], `expected a mapping at the top level, got ${got}`)]);
  }

  const envIssues = interpolateDocument(doc, env).map((i) => ({
    file,
    ...positions.at(i.offset),
    path: formatPath(i.path),
    message: i.message,
  }));
  const unfilled = new Set(envIssues.map((i) => i.path));

  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (err) {
    // An alias to an anchor that is not defined above it, or too many aliases.
    throw new ConfigError([issueAt([], `invalid YAML: ${(err as Error).message}`)]);
  }

  const issues: ConfigIssue[] = [...envIssues];
  const parsed = configSchema.safeParse(data, { error: configErrorMap });
  if (!parsed.success) {
    const shown = new Set<string>();
    for (const i of schemaIssues(configSchema, parsed.error.issues)) {
      const issue = issueAt(i.path, i.message, i.atKey);
      shown.add(issue.path);
      if (!isWithin(issue.path, unfilled)) issues.push(issue);
    }
    // Cross-references of whatever parsed, so one run lists every problem;
    // a field the schema refused already has its message.
    for (const i of referenceIssues(data)) {
      const issue = issueAt(i.path, i.message);
      if (!shown.has(issue.path) && !isWithin(issue.path, unfilled)) issues.push(issue);
    }
  } else {
    const { config, issues: found } = normalizeConfig(parsed.data, sourceName(file));
    for (const i of found) {
      const issue = issueAt(i.path, i.message);
      if (!isWithin(issue.path, unfilled)) issues.push(issue);
    }
    if (config && issues.length === 0) return config;
  }
  throw new ConfigError(issues.sort(byPosition));
}
