// Reads and checks `modules.yaml` the way config files are checked
// (src/config/load.ts): YAML with positions, the zod schema, then the
// cross-references; every problem is reported at once with file:line:column
// and the field's path, in one ModulesFileError.
import { readFileSync } from 'node:fs';
import { isMap, LineCounter, parseDocument } from 'yaml';
import {
  configErrorMap,
  DUPLICATE_KEY_MESSAGE,
  describeValue,
  duplicateKeyOffsets,
  type FieldPath,
  formatPath,
  SourcePositions,
  schemaIssues,
} from '../../config/index.ts';
import { type ConfigIssue, ModulesFileError } from '../../errors.ts';
import { type ModulesFile, modulesFileSchema } from './schema.ts';

type Parsed = ReturnType<typeof modulesFileSchema.parse>;

interface RefIssue {
  readonly path: FieldPath;
  readonly message: string;
}

function record(v: unknown): Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
    ? (v as Record<string, unknown>)
    : {};
}

function list(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [];
}

/**
 * Selectors named twice, and module names in shared / twoPhase / cost that no
 * module has. Runs on the raw data, even when the schema refused some of it,
 * so one run lists every problem; values of the wrong type are skipped (the
 * schema named them).
 */
function referenceIssues(raw: unknown): RefIssue[] {
  const data = record(raw);
  const issues: RefIssue[] = [];
  const owner = new Map<string, string>();
  const modules = record(data.modules);
  for (const [module, selectors] of Object.entries(modules)) {
    list(selectors).forEach((sel, i) => {
      if (typeof sel !== 'string') return;
      const first = owner.get(sel);
      if (first !== undefined) {
        issues.push({
          path: ['modules', module, i],
          message: `"${sel}" is already in module "${first}"; a selector belongs to one module`,
        });
      } else owner.set(sel, module);
    });
  }
  // Without a `modules` section the modules are the services met in the traces,
  // which are not known yet: PlanBuilder warns about names it never meets.
  if (data.modules === undefined) return issues;
  const known = new Set(Object.keys(modules));
  const check = (module: unknown, path: FieldPath): void => {
    if (typeof module === 'string' && !known.has(module)) {
      issues.push({
        path,
        message: `unknown module "${module}"; modules are: ${[...known].join(', ')}`,
      });
    }
  };
  list(data.shared).forEach((s, i) => {
    list(record(s).modules).forEach((m, j) => {
      check(m, ['shared', i, 'modules', j]);
    });
  });
  list(data.twoPhase).forEach((t, i) => {
    const pair = list(record(t).modules);
    pair.forEach((m, j) => {
      check(m, ['twoPhase', i, 'modules', j]);
    });
    if (pair.length === 2 && pair[0] === pair[1]) {
      issues.push({ path: ['twoPhase', i, 'modules'], message: 'expected two different modules' });
    }
  });
  for (const m of Object.keys(record(record(data.cost).perModule))) {
    check(m, ['cost', 'perModule', m]);
  }
  return issues;
}

function toModulesFile(data: Parsed, file: string): ModulesFile {
  return {
    modules: data.modules ?? {},
    dataStores: (data.dataStores ?? []).map((d) =>
      typeof d === 'string' ? { name: d, kind: undefined } : { name: d.name, kind: d.kind },
    ),
    shared: data.shared ?? [],
    twoPhase: (data.twoPhase ?? []).map((t) => ({
      modules: [t.modules[0], t.modules[1]] as const,
      share: t.share,
    })),
    cost: data.cost && {
      teamSize: data.cost.teamSize,
      skillFactor: data.cost.skillFactor,
      baseDays: data.cost.baseDays,
      perModule: data.cost.perModule ?? {},
    },
    source: file,
  };
}

export function parseModulesText(text: string, file: string): ModulesFile {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: false });
  const positions = new SourcePositions(doc, lines);
  const issueAt = (path: FieldPath, message: string, atKey = false): ConfigIssue => ({
    file,
    ...positions.locate(path, atKey),
    path: formatPath(path),
    message,
  });
  const yamlErrors = [
    ...doc.errors.map((e) => ({ offset: e.pos[0], message: `invalid YAML: ${e.message}` })),
    ...duplicateKeyOffsets(doc).map((offset) => ({
      offset,
      message: `invalid YAML: ${DUPLICATE_KEY_MESSAGE}`,
    })),
  ];
  if (yamlErrors.length > 0) {
    throw new ModulesFileError(
      yamlErrors
        .sort((a, b) => a.offset - b.offset)
        .map((e) => ({ file, ...positions.at(e.offset), path: '', message: e.message })),
    );
  }
  // An empty file says nothing: every service is a module, as without the file.
  if (doc.contents === null) return toModulesFile({}, file);
  if (!isMap(doc.contents)) {
    const got = describeValue(doc.contents.toJS(doc));
    throw new ModulesFileError([issueAt([], `expected a mapping at the top level, got ${got}`)]);
  }
  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: 100 });
  } catch (err) {
    throw new ModulesFileError([issueAt([], `invalid YAML: ${(err as Error).message}`)]);
  }
  const parsed = modulesFileSchema.safeParse(data, { error: configErrorMap });
  const issues: ConfigIssue[] = [];
  const shown = new Set<string>();
  if (!parsed.success) {
    for (const i of schemaIssues(modulesFileSchema, parsed.error.issues)) {
      const issue = issueAt(i.path, i.message, i.atKey);
      shown.add(issue.path);
      issues.push(issue);
    }
  }
  for (const i of referenceIssues(data)) {
    const issue = issueAt(i.path, i.message);
    if (!shown.has(issue.path)) issues.push(issue);
  }
  if (issues.length > 0 || !parsed.success) {
    throw new ModulesFileError(issues.sort((a, b) => a.line - b.line || a.column - b.column));
  }
  return toModulesFile(parsed.data, file);
}

export function loadModulesFile(path: string): ModulesFile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ModulesFileError(
      [
        {
          file: path,
          line: 1,
          column: 1,
          path: '',
          message: `cannot read: ${(err as Error).message}`,
        },
      ],
      { cause: err },
    );
  }
  return parseModulesText(text, path);
}
