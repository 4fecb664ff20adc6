// deploy/Dockerfile read, not built (a build needs a registry): the base
// image, the non-root user, production dependencies only, what goes into
// the build context — and its HEALTHCHECK command run for real against a
// running Cutover, then against one that is gone.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { DEFAULTS } from '../../src/config/index.ts';
import { startGateway, twoBackendYaml } from '../helpers/gateway.ts';
import { execForm, healthcheck, type Stage, stages } from './dockerfile.ts';
import { ROOT } from './kustomize.ts';

const run = promisify(execFile);
const STAGES = stages(join(ROOT, 'deploy/Dockerfile'));
const RUNTIME = STAGES.at(-1)!;

function args(stage: Stage, keyword: string): string[] {
  return stage.instructions.filter((i) => i.keyword === keyword).map((i) => i.args);
}

test('a multi-stage build on Node 24 slim', () => {
  assert.ok(STAGES.length >= 2, `${STAGES.length} stage(s)`);
  for (const s of STAGES) {
    // Node 24 is the runtime (package.json engines); slim, optionally pinned by digest.
    assert.match(s.image, /^node:24(\.\d+)*-(bookworm-|trixie-)?slim(@sha256:[0-9a-f]{64})?$/);
  }
  const engines = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).engines.node;
  assert.match(engines, /^>=24\./);
});

test('only production dependencies, installed from the lockfile in a stage of their own', () => {
  const runs = STAGES.flatMap((s) => args(s, 'RUN'));
  assert.ok(
    runs.some((r) => /\bnpm ci\b/.test(r) && /--omit=dev\b/.test(r)),
    'no `npm ci --omit=dev`',
  );
  assert.ok(!runs.some((r) => /\bnpm (install|i)\b/.test(r)), 'npm install ignores the lockfile');
  assert.equal(
    args(RUNTIME, 'RUN').some((r) => /\bnpm\b/.test(r)),
    false,
    'the runtime stage installs nothing itself',
  );
  const deps = STAGES.find((s) => args(s, 'RUN').some((r) => /--omit=dev/.test(r)))!;
  assert.ok(
    args(RUNTIME, 'COPY').some(
      (c) => c.startsWith(`--from=${deps.name} `) && /node_modules/.test(c),
    ),
    'node_modules comes from the dependency stage',
  );
});

test('the runtime stage runs as a non-root user it creates, with a numeric uid', () => {
  const user = args(RUNTIME, 'USER').at(-1);
  assert.ok(user, 'no USER: the container would run as root');
  const [uid, gid] = user.split(':');
  // Numeric, so that Kubernetes' runAsNonRoot can verify it without /etc/passwd.
  assert.match(uid, /^\d+$/);
  assert.notEqual(Number(uid), 0);
  assert.ok(gid === undefined || (/^\d+$/.test(gid) && Number(gid) !== 0));
  assert.ok(
    args(RUNTIME, 'RUN').some((r) => new RegExp(`useradd\\b.*--uid ${uid}\\b`).test(r)),
    `uid ${uid} is not created in the image`,
  );
  // USER comes before the instructions that define how the process starts.
  const order = RUNTIME.instructions.map((i) => i.keyword);
  assert.ok(order.lastIndexOf('USER') < order.indexOf('ENTRYPOINT'));
});

test("the HEALTHCHECK asks the admin /healthz on the admin's default port", () => {
  const checks = args(RUNTIME, 'HEALTHCHECK');
  assert.equal(checks.length, 1);
  const { command } = healthcheck(checks[0]);
  const argv = execForm(command);
  assert.equal(argv[0], 'node');
  assert.equal(argv[1], '-e');
  assert.match(argv[2], /process\.env\.CUTOVER_HEALTHCHECK_URL/);
  const url = new URL(RUNTIME.env.get('CUTOVER_HEALTHCHECK_URL') ?? '');
  assert.equal(url.pathname, '/healthz');
  assert.equal(url.hostname, '127.0.0.1');
  assert.equal(Number(url.port), DEFAULTS.adminListen.port);
  assert.ok(args(RUNTIME, 'EXPOSE')[0].split(/\s+/).includes(String(DEFAULTS.adminListen.port)));
});

test("the HEALTHCHECK command passes on a running Cutover's admin and fails once it is gone", async (t) => {
  const [, , script] = execForm(healthcheck(args(RUNTIME, 'HEALTHCHECK')[0]).command);
  // The same Node 24 as the image, not whatever `node` is first on PATH.
  const check = (url: string) =>
    run(process.execPath, ['-e', script], { env: { CUTOVER_HEALTHCHECK_URL: url } }).then(
      () => 0,
      (e: { code?: number }) => e.code ?? -1,
    );
  const gw = await startGateway(twoBackendYaml('http://127.0.0.1:9', 'http://127.0.0.1:9'));
  let closed = false;
  t.after(async () => {
    if (!closed) await gw.close();
  });
  const url = `${gw.adminUrl}/healthz`;
  assert.equal(await check(url), 0);
  // An admin path that does not answer 200 fails the check.
  assert.equal(await check(`${gw.adminUrl}/no-such-path`), 1);
  await gw.close();
  closed = true;
  assert.equal(await check(url), 1);
});

test('the entry point is bin/cutover.js, started with the config path the Kubernetes pods use', () => {
  assert.deepEqual(execForm(args(RUNTIME, 'ENTRYPOINT')[0]), ['node', '/app/bin/cutover.js']);
  assert.deepEqual(execForm(args(RUNTIME, 'CMD')[0]), [
    'start',
    '--config',
    '/etc/cutover/cutover.yaml',
  ]);
  const deployment = readFileSync(join(ROOT, 'deploy/kubernetes/base/deployment.yaml'), 'utf8');
  assert.match(deployment, /args: \["start", "--config", "\/etc\/cutover\/cutover\.yaml"\]/);
});

/**
 * A .dockerignore pattern as Docker reads it (Go's filepath.Match plus `**`):
 * unlike shell globs, `*` also matches names that start with a dot.
 */
function ignorePattern(pattern: string): RegExp {
  const body = pattern
    .split(/(\*\*|\*|\?)/)
    .map((part) => {
      if (part === '**') return '.*';
      if (part === '*') return '[^/]*';
      if (part === '?') return '[^/]';
      return part.replace(/[.+^${}()|[\]\\]/g, '\\$&');
    })
    .join('');
  return new RegExp(`^${body}$`);
}

/** Whether the build context keeps `path`: the last matching pattern wins, and a directory's match covers what is in it. */
function inContext(path: string, patterns: readonly string[]): boolean {
  let kept = true;
  const parts = path.split('/');
  const prefixes = parts.map((_, i) => parts.slice(0, i + 1).join('/'));
  for (const raw of patterns) {
    const negated = raw.startsWith('!');
    const pattern = ignorePattern((negated ? raw.slice(1) : raw).replace(/\/$/, ''));
    if (prefixes.some((p) => pattern.test(p))) kept = negated;
  }
  return kept;
}

test('.dockerignore keeps what the image copies and leaves out node_modules, .git and state', () => {
  const patterns = readFileSync(join(ROOT, '.dockerignore'), 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
  const copied = args(RUNTIME, 'COPY')
    .concat(STAGES.flatMap((s) => args(s, 'COPY')))
    .filter((c) => !c.startsWith('--from='))
    .flatMap((c) => c.split(/\s+/).slice(0, -1));
  assert.ok(copied.length > 0);
  for (const source of copied) assert.ok(inContext(source, patterns), `${source} is ignored`);
  for (const needed of ['bin/cutover.js', 'src/cli/main.ts', 'src/config/schema.ts']) {
    assert.ok(inContext(needed, patterns), `${needed} is ignored`);
  }
  for (const left of [
    'node_modules/yaml/package.json',
    '.git/HEAD',
    '.cutover/state.db',
    'test/deploy/dockerfile.test.ts',
  ]) {
    assert.equal(inContext(left, patterns), false, `${left} is sent to the build`);
  }
});
