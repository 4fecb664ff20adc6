// DESIGN.md's arrows, checked on the source: which module may import which,
// and that a module is entered only through its index.ts. `config` is the
// shared base (any module may import it, it imports nothing of ours); the
// top-level files (errors.ts, problem.ts) are leaves every module may use.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const SRC = fileURLToPath(new URL('../../src/', import.meta.url));

/** DESIGN.md § Modules: the modules each one may import, besides `config`. */
const ARROWS: Record<string, readonly string[]> = {
  config: [],
  cli: ['gateway', 'admin', 'rollout', 'state', 'telemetry', 'plan', 'report'],
  admin: ['gateway', 'rollout', 'state', 'telemetry', 'report'],
  gateway: ['guard', 'compare', 'telemetry', 'state'],
  rollout: ['telemetry', 'state'],
  guard: ['telemetry'],
  report: ['state', 'telemetry'],
  plan: [],
  compare: [],
  telemetry: [],
  state: [],
};

/**
 * Imports that break an arrow today, each named so it stays visible until
 * it is fixed. The test fails when one of these is gone (drop it here then).
 * None today.
 */
const KNOWN_VIOLATIONS: readonly string[] = [];

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(path);
    return e.name.endsWith('.ts') ? [path] : [];
  });
}

// `import … from '…'`, `export … from '…'` (over several lines), `import '…'`, `import('…')`.
const SPECIFIER =
  /\bfrom\s+['"]([^'"]+)['"]|\bimport\s+['"]([^'"]+)['"]|\bimport\(\s*['"]([^'"]+)['"]\s*\)/g;

/** Every import of one of our files: `from` and `to` relative to src/, with / separators. */
function ourImports(): { from: string; to: string }[] {
  const out: { from: string; to: string }[] = [];
  for (const file of sourceFiles(SRC)) {
    for (const m of readFileSync(file, 'utf8').matchAll(SPECIFIER)) {
      const spec = m[1] ?? m[2] ?? m[3];
      if (!spec.startsWith('.')) continue;
      const rel = (p: string) => relative(SRC, p).split(sep).join('/');
      out.push({ from: rel(file), to: rel(resolve(dirname(file), spec)) });
    }
  }
  return out;
}

/** The module a file belongs to, or undefined for a top-level file of src/. */
function moduleOf(path: string): string | undefined {
  const slash = path.indexOf('/');
  return slash < 0 ? undefined : path.slice(0, slash);
}

function violation(from: string, to: string): string | undefined {
  const source = moduleOf(from);
  const target = moduleOf(to);
  if (source === target) return undefined;
  if (target === undefined) return undefined; // errors.ts, problem.ts: leaves for everyone
  if (source === undefined) return `a top-level file imports the ${target} module`;
  const allowed = ARROWS[source];
  if (allowed === undefined) return `module ${source} is not in DESIGN.md's table (add its arrows)`;
  if (target !== 'config' || source === 'config') {
    if (!allowed.includes(target)) return `${source} may not import ${target}`;
  }
  if (to !== `${target}/index.ts`) return `${target} is entered only through its index.ts`;
  return undefined;
}

test('every import follows DESIGN.md’s arrows and enters a module through its index.ts', () => {
  const imports = ourImports();
  // The scan itself must see the code: a broken pattern would pass anything.
  assert.ok(imports.length > 100, `only ${imports.length} imports found`);
  assert.ok(imports.some((i) => i.from === 'cli/run.ts' && i.to === 'gateway/index.ts'));

  const found = new Map<string, string>();
  for (const { from, to } of imports) {
    const why = violation(from, to);
    if (why) found.set(`${from} -> ${to}`, why);
  }
  const unexpected = [...found].filter(([edge]) => !KNOWN_VIOLATIONS.includes(edge));
  assert.deepEqual(
    unexpected.map(([edge, why]) => `${edge}: ${why}`),
    [],
    'imports against DESIGN.md’s arrows',
  );
  const fixed = KNOWN_VIOLATIONS.filter((edge) => !found.has(edge));
  assert.deepEqual(
    fixed,
    [],
    'allowed violations that are gone: remove them from KNOWN_VIOLATIONS',
  );
});

test('the rules catch what they are for', () => {
  assert.match(
    violation('config/normalize.ts', 'compare/index.ts') ?? '',
    /config may not import compare/,
  );
  assert.match(
    violation('guard/breaker.ts', 'gateway/index.ts') ?? '',
    /guard may not import gateway/,
  );
  assert.match(violation('gateway/proxy.ts', 'cli/run.ts') ?? '', /gateway may not import cli/);
  assert.match(
    violation('gateway/proxy.ts', 'guard/breaker.ts') ?? '',
    /only through its index\.ts/,
  );
  assert.match(violation('guard/health.ts', 'config/types.ts') ?? '', /only through its index\.ts/);
  assert.equal(violation('guard/health.ts', 'config/index.ts'), undefined);
  assert.equal(violation('compare/path.ts', 'config/index.ts'), undefined);
  assert.equal(violation('config/load.ts', 'errors.ts'), undefined);
  assert.equal(violation('gateway/proxy.ts', 'gateway/body.ts'), undefined);
});
