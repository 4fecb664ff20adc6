// The one resolver of guard blocks: a field comes from the route's (or
// backend's) block, else the `defaults:` block, else the table's built-in
// value, field by field; `false` turns a block off; and a bad field in any
// block is named with its file, line and path.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { z } from 'zod';
import { FALLBACK_REASONS, GUARD_BLOCKS, type GuardName } from '../../src/config/guard-blocks.ts';
import { type GuardInput, resolveGuard } from '../../src/config/guards.ts';
import { parseConfigText } from '../../src/config/index.ts';
import { ConfigError, formatConfigIssue } from '../../src/errors.ts';

/** Per block: a field set at both levels, and another set only in `defaults:`. */
const CASES: {
  name: GuardName;
  field: string;
  shared: unknown;
  own: unknown;
  other: string;
  otherShared: unknown;
}[] = [
  {
    name: 'breaker',
    field: 'window',
    shared: 20_000,
    own: 5_000,
    other: 'openFor',
    otherShared: 9,
  },
  {
    name: 'outlier',
    field: 'ejectFor',
    shared: 1_000,
    own: 2_000,
    other: 'consecutiveErrors',
    otherShared: 9,
  },
  {
    name: 'fallback',
    field: 'maxBodyBytes',
    shared: 10,
    own: 20,
    other: 'on',
    otherShared: ['reset'],
  },
  { name: 'retry', field: 'attempts', shared: 3, own: 4, other: 'backoff', otherShared: 9 },
  { name: 'limit', field: 'rps', shared: 5, own: 6, other: 'burst', otherShared: 9 },
  { name: 'concurrency', field: 'max', shared: 50, own: 60, other: 'minLimit', otherShared: 9 },
  { name: 'shadow', field: 'percent', shared: 10, own: 20, other: 'samples', otherShared: 9 },
  {
    name: 'health',
    field: 'interval',
    shared: 1_000,
    own: 2_000,
    other: 'path',
    otherShared: '/up',
  },
];

/** A field as the resolved config holds it (sets become arrays to compare). */
function read(config: object | undefined, field: string): unknown {
  assert.ok(config, 'the block is on');
  const value = (config as Record<string, unknown>)[field];
  return value instanceof Set ? [...value] : value;
}

function input<N extends GuardName>(fields: Record<string, unknown>): GuardInput<N> {
  return fields as GuardInput<N>;
}

describe('resolveGuard: route over defaults: over built-in, field by field', () => {
  test('the table covers every guard block the schema has', () => {
    assert.deepEqual(Object.keys(GUARD_BLOCKS).sort(), CASES.map((c) => c.name).sort());
  });

  for (const c of CASES) {
    const builtIn = (GUARD_BLOCKS[c.name].defaults as Record<string, unknown>)[c.field];
    const otherBuiltIn = (GUARD_BLOCKS[c.name].defaults as Record<string, unknown>)[c.other];

    test(`${c.name}: unset fields take the built-in defaults`, () => {
      const r = resolveGuard(c.name, input({}), undefined);
      assert.deepEqual(read(r, c.field), builtIn);
      assert.deepEqual(read(r, c.other), otherBuiltIn);
      assert.ok(Object.isFrozen(r));
    });

    test(`${c.name}: defaults: replaces a built-in; the route replaces defaults: for its field only`, () => {
      const shared = input({ [c.field]: c.shared, [c.other]: c.otherShared });
      const fromShared = resolveGuard(c.name, undefined, shared, true);
      assert.deepEqual(read(fromShared, c.field), c.shared);
      assert.deepEqual(read(fromShared, c.other), c.otherShared);

      const r = resolveGuard(c.name, input({ [c.field]: c.own }), shared);
      assert.deepEqual(read(r, c.field), c.own);
      assert.deepEqual(
        read(r, c.other),
        c.otherShared,
        'a field the route leaves out keeps defaults:',
      );
    });

    test(`${c.name}: false turns the block off at either level`, () => {
      const shared = input({ [c.field]: c.shared });
      assert.equal(resolveGuard(c.name, false, shared, true), undefined);
      assert.equal(resolveGuard(c.name, undefined, false, true), undefined);
      // A route's own block turns back on what defaults: turned off, over the built-in values.
      const r = resolveGuard(c.name, input({ [c.field]: c.own }), false);
      assert.deepEqual(read(r, c.field), c.own);
      assert.deepEqual(read(r, c.other), otherBuiltIn);
    });

    test(`${c.name}: off unless configured exactly when the table says so`, () => {
      const r = resolveGuard(c.name, undefined, undefined);
      assert.equal(r !== undefined, GUARD_BLOCKS[c.name].onByDefault);
    });
  }
});

test('fallback reasons are one list: the schema accepts exactly them and the default is all of them', () => {
  const on = (GUARD_BLOCKS.fallback.schema as z.ZodType).safeParse({ on: [...FALLBACK_REASONS] });
  assert.equal(on.success, true);
  const other = (GUARD_BLOCKS.fallback.schema as z.ZodType).safeParse({ on: ['dns'] });
  assert.equal(other.success, false);
  assert.deepEqual(
    [...(resolveGuard('fallback', undefined, undefined)?.on ?? [])],
    [...FALLBACK_REASONS],
  );
});

const FILE = 'cutover.yaml';

function issuesOf(yaml: string): string[] {
  try {
    parseConfigText(yaml, FILE, {});
  } catch (e) {
    assert.ok(e instanceof ConfigError, String(e));
    return e.issues.map(formatConfigIssue);
  }
  assert.fail('the config was accepted');
}

test('a bad field in any block, at any level, names the file, line and field', () => {
  assert.deepEqual(
    issuesOf(`backends:
  legacy:
    url: http://127.0.0.1:9001
    health: { intervall: 5s }
    outlier: { ejectFor: soon }
  rewrite: { url: "http://127.0.0.1:9002" }
defaults:
  retry: { attemps: 3 }
  concurrency: { max: 0 }
routes:
  - name: users
    match: { path: /users }
    legacy: legacy
    candidate: rewrite
    shadow: { percnt: 5 }
    fallback: { on: [dns, timeout] }
`),
    [
      'cutover.yaml:4:15 backends.legacy.health.intervall: unknown field "intervall"; did you mean "interval"?',
      'cutover.yaml:5:14 backends.legacy.outlier: ejectFor: expected a duration such as 250ms, 5s or 1m, got "soon"',
      'cutover.yaml:8:12 defaults.retry.attemps: unknown field "attemps"',
      'cutover.yaml:9:23 defaults.concurrency.max: expected at least 1, got 0',
      'cutover.yaml:15:15 routes[0].shadow.percnt: unknown field "percnt"',
      'cutover.yaml:16:15 routes[0].fallback: on[0]: expected one of connect, timeout, reset, 5xx, grpc, got "dns"',
    ],
  );
});

test('through the loader: a route block merges over defaults: field by field', () => {
  const config = parseConfigText(
    `backends:
  legacy: { url: "http://127.0.0.1:9001", breaker: { probes: 7 } }
  rewrite: { url: "http://127.0.0.1:9002" }
defaults:
  breaker: { window: 20s, openFor: 1s }
  retry: { attempts: 3, backoff: 50ms }
routes:
  - name: users
    match: { path: /users }
    legacy: legacy
    candidate: rewrite
    retry: { attempts: 5 }
  - name: other
    match: { path: /other }
    legacy: legacy
`,
    FILE,
    {},
  );
  const legacy = config.backends.get('legacy')?.breaker;
  assert.deepEqual(
    { probes: legacy?.probes, window: legacy?.window, openFor: legacy?.openFor },
    { probes: 7, window: 20_000, openFor: 1_000 },
  );
  assert.equal(
    config.backends.get('rewrite')?.breaker?.probes,
    GUARD_BLOCKS.breaker.defaults.probes,
  );
  const [users, other] = config.routes;
  assert.deepEqual(
    { attempts: users.retry?.attempts, backoff: users.retry?.backoff, budget: users.retry?.budget },
    { attempts: 5, backoff: 50, budget: GUARD_BLOCKS.retry.defaults.budget },
  );
  assert.equal(other.retry?.attempts, 3);
  // Fallback needs a candidate to fall back from: a legacy-only route has none.
  assert.equal(other.fallback, undefined);
  assert.ok(users.fallback);
});
