// modules.yaml: selectors, declared data stores, explicit shared columns and
// 2PC shares, cost inputs; and a bad file refused with every problem listed.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { ModulesFileError } from '../../src/errors.ts';
import { loadModulesFile, PlanBuilder, parseModulesText, readSpans } from '../../src/plan/index.ts';
import { zipkinJson } from './trace-fixtures.ts';

const dir = mkdtempSync(join(tmpdir(), 'cutover-modules-file-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const traces = join(dir, 'zipkin.json');
writeFileSync(traces, zipkinJson());

const GOOD = `
modules:
  storefront: [gateway, "orders:GET /orders"]
  pay: [payments]
dataStores:
  - { name: postgres, kind: database }
shared:
  - modules: [storefront, pay]
    columns: [shop.orders.status, shop.orders.total]
twoPhase:
  - { modules: [pay, storefront], share: 0.3 }
cost:
  teamSize: 3
  skillFactor: 1.8
  baseDays: 10
  perModule:
    pay: { baseDays: 20 }
`;

test('modules.yaml groups services (and service:operation) into modules, names stores, shares and costs', async () => {
  const file = join(dir, 'modules.yaml');
  writeFileSync(file, GOOD);
  const builder = new PlanBuilder(loadModulesFile(file));
  const plan = builder.finish(await readSpans([traces], { onSpan: (s) => builder.add(s) }));

  const byName = new Map(plan.modules.map((m) => [m.name, m]));
  assert.deepEqual([...byName.keys()].sort(), ['pay', 'storefront']);
  assert.deepEqual(byName.get('storefront')?.services, ['gateway', 'orders:GET /orders']);
  // The postgres span's peer.service is the declared store: named as declared.
  assert.deepEqual(plan.dataStores, [
    {
      name: 'postgres',
      source: 'modules.yaml',
      modules: ['storefront'],
      tables: ['shop.orders'],
      kind: 'database',
    },
  ]);
  const [p] = plan.pairs;
  assert.equal(plan.pairs.length, 1);
  assert.deepEqual([p.a, p.b, p.sharedLevel, p.sharedColumns], ['pay', 'storefront', 'columns', 2]);
  assert.deepEqual(p.shared, ['shop.orders.status', 'shop.orders.total']);
  assert.equal(p.twoPhaseShare, 0.3);
  assert.deepEqual(
    plan.warnings.map((w) => w.kind),
    ['two-phase'],
  );
  // Cost: 10 base days × 1.8 = 18 person-days, 6 calendar days for 3 people;
  // pay's own 20 base days → 36. Split 45 / 30 / 25 %.
  assert.deepEqual(byName.get('storefront')?.cost, {
    days: 18,
    calendarDays: 6,
    people: 18 * 0.45,
    compatibility: 18 * 0.3,
    observability: 18 * 0.25,
    inputs: { baseDays: 10, skillFactor: 1.8, teamSize: 3 },
  });
  assert.equal(byName.get('pay')?.cost?.days, 36);
  assert.equal(byName.get('pay')?.cost?.calendarDays, 12);
});

test('without cost inputs no module has a cost; an empty file is the same as none', () => {
  const builder = new PlanBuilder(parseModulesText('', 'empty.yaml'));
  const plan = builder.finish({ files: [], spans: 0, skipped: {}, elapsedMs: 0 });
  assert.deepEqual(plan.modules, []);
  assert.deepEqual(parseModulesText('cost: { baseDays: 5 }', 'm.yaml').cost, {
    teamSize: 1,
    skillFactor: 1,
    baseDays: 5,
    perModule: {},
  });
});

test('a bad modules.yaml is one error listing every problem with file:line:column and field path', () => {
  const text = [
    'modules:', //                                  1
    '  orders: [orders-api]', //                    2
    '  billing: [orders-api, billing-api]', //      3
    '  ledger: 3', //                               4
    'shared:', //                                   5
    '  - modules: [orders, nope]', //               6
    '    columns: []', //                           7
    'twoPhase:', //                                 8
    '  - { modules: [orders, billing], share: 1.5 }', // 9
    'cost:', //                                     10
    '  basedays: 3', //                             11
    '  perModule: { ghost: { baseDays: 1 } }', //   12
  ].join('\n');
  assert.throws(
    () => parseModulesText(text, 'modules.yaml'),
    (err: unknown) => {
      assert.ok(err instanceof ModulesFileError);
      assert.equal(err.code, 'CUTOVER_ERR_MODULES_FILE');
      assert.deepEqual(
        err.issues.map((i) => `${i.file}:${i.line} ${i.path}: ${i.message}`),
        [
          'modules.yaml:3 modules.billing[0]: "orders-api" is already in module "orders"; a selector belongs to one module',
          'modules.yaml:4 modules.ledger: expected a list, got a number',
          'modules.yaml:6 shared[0].modules[1]: unknown module "nope"; modules are: orders, billing, ledger',
          'modules.yaml:7 shared[0].columns: expected at least 1 item',
          'modules.yaml:9 twoPhase[0].share: expected at most 1, got 1.5',
          'modules.yaml:11 cost.baseDays: required field is missing',
          'modules.yaml:11 cost.basedays: unknown field "basedays"; did you mean "baseDays"?',
          'modules.yaml:12 cost.perModule.ghost: unknown module "ghost"; modules are: orders, billing, ledger',
        ],
      );
      assert.match(err.message, /^invalid modules file \(8 errors\):\n {2}modules\.yaml:3:13 /);
      return true;
    },
  );
});

test('a modules.yaml that cannot be read, or is not YAML, names the file', () => {
  assert.throws(
    () => loadModulesFile(join(dir, 'missing.yaml')),
    (err: unknown) => {
      assert.ok(err instanceof ModulesFileError);
      assert.match(err.message, /missing\.yaml:1:1 cannot read: ENOENT/);
      return true;
    },
  );
  assert.throws(() => parseModulesText('modules: [a\n', 'm.yaml'), /m\.yaml:\d+:\d+ invalid YAML/);
  assert.throws(
    () => parseModulesText('- a\n', 'm.yaml'),
    /m\.yaml:1:1 expected a mapping at the top level, got a list/,
  );
});
