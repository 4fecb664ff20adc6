// `cutover demo`'s story end to end, in process, with the holds shortened
// through the config's ${DEMO_*} variables: a healthy route rolls out to
// done, orders is held in shadow by its planted bug, and breaking the
// rewrite rolls back the route still in canary.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { request } from 'undici';
import { demoBanner, type RunningDemo, startDemo } from '../../src/cli/demo.ts';
import { createLogger } from '../../src/telemetry/index.ts';
import { waitFor } from '../helpers/wait.ts';

interface Gate {
  name: string;
  status: string;
}

interface Rollout {
  route: string;
  state: string;
  weight: number;
  waitingFor: string | null;
  reason: string;
  gates: Gate[];
}

interface Entry {
  kind: string;
  to: string;
  weight: number;
}

const dir = mkdtempSync(join(tmpdir(), 'cutover-demo-rollout-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function start(trafficRps: number, stateFile = 'demo.db'): Promise<RunningDemo> {
  return startDemo({
    port: 0,
    adminPort: 0,
    legacyPort: 0,
    rewritePort: 0,
    grpcLegacyPort: 0,
    grpcRewritePort: 0,
    env: {
      DEMO_SHADOW_FOR: '1s',
      DEMO_INTERVAL: '1s',
      // slow holds its first step for an hour: the route in canary when the rewrite breaks.
      DEMO_SLOW_INTERVAL: '1h',
      DEMO_STATE: `sqlite:${join(dir, stateFile)}`,
    },
    // Five times the demo's rate: the 5% step gets its 20 requests in seconds.
    trafficRps,
    logger: createLogger({ level: 'silent' }),
  });
}

async function rollouts(demo: RunningDemo): Promise<Map<string, Rollout>> {
  const res = await request(`${demo.cutover.adminUrl}/api/rollouts`);
  assert.equal(res.statusCode, 200);
  const body = (await res.body.json()) as { rollouts: Rollout[] };
  return new Map(body.rollouts.map((r) => [r.route, r]));
}

function untilState(demo: RunningDemo, route: string, state: string): Promise<Rollout> {
  return waitFor(
    `${route} ${state}`,
    90_000,
    async () => (await rollouts(demo)).get(route),
    (r) => r?.state === state,
  ) as Promise<Rollout>;
}

describe('cutover demo rollouts', () => {
  let demo: RunningDemo | undefined;
  after(() => demo?.close());

  test('a healthy route reaches done, orders stays in shadow, a break rolls back slow', async () => {
    demo = await start(240);
    const first = await rollouts(demo);
    assert.deepEqual([...first.keys()], ['user-profile', 'orders', 'catalog', 'slow', 'stock']);

    const done = await untilState(demo, 'user-profile', 'done');
    assert.equal(done.weight, 100);
    const hist = await request(`${demo.cutover.adminUrl}/api/routes/user-profile/history`);
    const entries = ((await hist.body.json()) as { history: Entry[] }).history;
    const moves = entries.filter((e) => e.kind === 'transition').map((e) => `${e.to}@${e.weight}`);
    assert.deepEqual(moves, [
      'shadow@0',
      'canary@5',
      'canary@25',
      'canary@50',
      'canary@100',
      'done@100',
    ]);

    // The gRPC route goes the same way: its shadow pairs, decoded with the
    // .proto, match once servedBy is ignored, and its gates pass.
    const stock = await untilState(demo, 'stock', 'done');
    assert.equal(stock.weight, 100);
    const diffs = await request(`${demo.cutover.adminUrl}/api/routes/stock/diffs`);
    const summary = (
      (await diffs.body.json()) as { summary: { compared: number; mismatched: number } }
    ).summary;
    assert.ok(summary.compared > 0, 'stock calls were shadowed');
    assert.equal(summary.mismatched, 0);

    const now = await rollouts(demo);
    const orders = now.get('orders')!;
    assert.equal(orders.state, 'shadow');
    assert.equal(orders.weight, 0);
    const mismatch = orders.gates.find((g) => g.name === 'mismatchRate');
    assert.equal(mismatch?.status, 'failed');
    assert.match(orders.waitingFor ?? '', /mismatchRate/);

    const slow = await untilState(demo, 'slow', 'canary');
    assert.equal(slow.weight, 5);

    const broke = await request(`${demo.rewriteUrl}/__demo/break`, { method: 'POST' });
    assert.equal(broke.statusCode, 200);
    await broke.body.dump();
    const back = await untilState(demo, 'slow', 'rolled-back');
    assert.equal(back.weight, 0);
    assert.match(back.reason, /errorRate|breaker/);
    // The rollout at 100% is not checked any more: done stays done.
    assert.equal((await rollouts(demo)).get('user-profile')?.state, 'done');
    await demo.close();
    demo = undefined;
  });

  test('a rerun starts every rollout from shadow again', async () => {
    demo = await start(240, 'rerun.db');
    await untilState(demo, 'user-profile', 'canary');
    await demo.close();
    // Without the reset, the state file would put user-profile back at its step.
    demo = await start(0, 'rerun.db');
    const all = await rollouts(demo);
    assert.equal(all.size, 5);
    for (const [route, r] of all) assert.deepEqual([r.state, r.weight], ['shadow', 0], route);
    await demo.close();
    demo = undefined;
  });

  test('the banner says the demo sends traffic and how to watch and break it', async () => {
    demo = await start(0, 'banner.db');
    const text = demoBanner(demo);
    const admin = demo.cutover.adminUrl;
    assert.match(text, /background traffic/);
    assert.ok(text.includes(`cutover status --admin ${admin}`), text);
    assert.ok(text.includes(`curl -s ${admin}/api/rollouts`), text);
    assert.ok(text.includes(`cutover history user-profile --admin ${admin}`), text);
    assert.ok(text.includes(`cutover diffs orders --admin ${admin}`), text);
    assert.ok(text.includes(`curl -X POST ${demo.rewriteUrl}/__demo/break`), text);
    assert.ok(text.includes(`cutover rollout start slow --admin ${admin}`), text);
    assert.ok(text.includes('cutover plan examples/traces/demo.zipkin.json'), text);
    // The report on what the demo did reads the demo's own state file.
    const state = demo.cutover.gateway.config.state;
    assert.ok(text.includes(`cutover report --state ${String(state)} --instances`), text);
    // The dashboard the banner points at is served, with no build step before the demo.
    assert.ok(text.includes(`dashboard ${admin}/ui/`), text);
    const page = await fetch(`${admin}/ui/`);
    assert.equal(page.status, 200);
    assert.match(
      await page.text(),
      /<script type="module" src="\/ui\/assets\/app\.[0-9a-f]{8}\.js">/,
    );
    await demo.close();
    demo = undefined;
  });
});
