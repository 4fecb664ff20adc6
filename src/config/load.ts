// Reads a config file: YAML with positions, ${ENV} interpolation, the schema,
// then the whole-file checks of normalizeConfig. Every problem found is
// reported at once, each with file:line:column and the field's path.
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { isMap, LineCounter, parseDocument } from 'yaml';
import { ConfigError, ConfigFileError, type ConfigIssue } from '../errors.ts';
import { type Env, interpolateDocument } from './interpolate.ts';
import { configErrorMap, describeValue, schemaIssues } from './messages.ts';
import { type FieldPath, normalizeConfig } from './normalize.ts';
import { formatPath, SourcePositions } from './positions.ts';
import { configSchema } from './schema.ts';
import type { Config } from './types.ts';

/** Past this many alias expansions a document is refused (the "billion laughs" guard of `yaml`). */
const MAX_ALIAS_COUNT = 100;

function byPosition(a: ConfigIssue, b: ConfigIssue): number {
  return a.line - b.line || a.column - b.column;
}

/** A problem inside a field whose ${VAR} could not be filled would only repeat that problem. */
function isWithin(path: string, prefixes: ReadonlySet<string>): boolean {
  for (const p of prefixes) {
    if (path === p || path.startsWith(`${p}.`) || path.startsWith(`${p}[`)) return true;
  }
  return false;
}

/** `Config.source` is an absolute path; names such as `<inline>` are kept as given. */
function sourceName(file: string): string {
  return file.startsWith('<') ? file : resolve(file);
}

export function parseConfigText(text: string, file: string, env: Env = process.env): Config {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, merge: true });
  const positions = new SourcePositions(doc, lines);
  const issueAt = (path: FieldPath, message: string, atKey = false): ConfigIssue => ({
    file,
    ...positions.locate(path, atKey),
    path: formatPath(path),
    message,
  });

  if (doc.errors.length > 0) {
    throw new ConfigError(
      doc.errors.map((e) => ({
        file,
        ...positions.at(e.pos[0]),
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
    for (const i of schemaIssues(configSchema, parsed.error.issues)) {
      const issue = issueAt(i.path, i.message, i.atKey);
      if (!isWithin(issue.path, unfilled)) issues.push(issue);
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

function readProblem(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return 'no such file';
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied';
  if (code === 'EISDIR') return 'it is a directory';
  return (err as Error).message;
}

/** Reads the file as UTF-8; `file` is named in messages exactly as given. */
export async function readConfigText(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    throw new ConfigFileError(file, readProblem(err), { cause: err });
  }
}

export async function loadConfigFile(file: string, env: Env = process.env): Promise<Config> {
  return parseConfigText(await readConfigText(file), file, env);
}
