// Reading a rollout changes nothing (issue 10 § 3): a real gateway between two
// real upstreams runs the same scripted rollout twice, once with bursts of 100
// /metrics scrapes (and status reads) around every step, once without. Checks
// are triggered explicitly (checkEvery 1h), so both runs see the same checks
// on the same traffic, and must end with the same decisions and ledger.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { request } from 'undici';
import type { RolloutController } from '../../src/rollout/index.ts';
import { startGateway, type TestGateway } from '../helpers/gateway.ts';
import { metricValue, scrapeMetrics } from '../helpers/metrics.ts';
import { waitFor } from '../helpers/wait.ts';
import {
  adminGet,
  type Entry,
  history,
  rollout,
  rolloutYaml,
  SAME_BODIES,
  type Status,
  sameAnswerPair,
} from './fixture.ts';

/** Holds of 1 ms: every decision rests on the counts, none on how long a step took. */
const BLOCK = `
  steps: [50, 100]
  shadowFor: 1ms
  interval: 1ms
  minRequests: 10
  window: 60s
  gates: { p95: false, baseline: false, mismatchRate: 0.5 }`;

const ROUTE = `    split: { stickyKey: header:x-user-id }\n${SAME_BODIES}`;

let nextUser = 0;

/** `n` requests from users never seen before, one after another. */
async function send(gw: TestGateway, n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    const res = await request(`${gw.url}/items`, { headers: { 'x-user-id': `u${nextUser++}` } });
    await res.body.dump();
  }
}

/** Until `n` pairs have been compared (a rollout that left shadow copies no more). */
async function compared(gw: TestGateway, n: number): Promise<void> {
  await waitFor(
    `${n} compared pairs`,
    10_000,
    async () => ({
      state: (await rollout(gw)).state,
      pairs: (await adminGet<{ summary: { compared: number } }>(gw, '/api/routes/main/diffs'))
        .summary.compared,
    }),
    (d) => d.pairs === n || d.state !== 'shadow',
  );
}

/** Past the next whole second: a new phase's data starts there (state.ts freshData). */
async function nextSecond(): Promise<void> {
  await sleep(Math.ceil(Date.now() / 1000) * 1000 + 50 - Date.now());
}

const gatesOf = (gates: Status['gates']) => gates.map((g) => `${g.name}:${g.status}:${g.value}`);

/** What was decided, without the clock's part (times, seconds left). */
const decision = (s: Status) => ({
  state: s.state,
  step: s.step,
  weight: s.weight,
  reason: s.reason,
  waitingFor: s.waitingFor,
  gates: gatesOf(s.gates),
});

const entry = (e: Entry) => ({
  kind: e.kind,
  move: `${e.by}:${e.from}→${e.to}@${e.previousWeight}→${e.weight}`,
  reason: e.reason,
  gates: gatesOf(e.gates),
});

/** The script: shadow, then the first step, then the second, then a manual pause. */
async function script(gw: TestGateway, read: () => Promise<void>) {
  const rollouts: RolloutController = gw.running.rollouts;
  const decisions: ReturnType<typeof decision>[] = [];
  const check = async () => {
    await read();
    await rollouts.tick();
    await read();
    decisions.push(decision(await rollout(gw)));
  };
  nextUser = 0;
  await read();
  // Shadow: pairs compared before the first check count from it on.
  await send(gw, 12);
  await compared(gw, 12);
  await check();
  await send(gw, 12);
  await compared(gw, 24);
  await check(); // 12 pairs since the first check: on to the first step
  await nextSecond();
  await send(gw, 40);
  await check(); // the step counts its candidate requests from here
  await send(gw, 40);
  await check(); // enough of them: on to 100%
  await send(gw, 20);
  await check();
  await send(gw, 20);
  await read();
  // A manual move is recorded with the last check's gates, whatever was read since.
  const paused = await request(`${gw.adminUrl}/api/routes/main/rollout/pause`, { method: 'POST' });
  await paused.body.dump();
  await read();
  return { decisions, ledger: (await history(gw)).map(entry) };
}

describe('reading a rollout is free of side effects', () => {
  const up = sameAnswerPair();
  const yaml = () => rolloutYaml(up.legacy, up.rewrite, BLOCK, { checkEvery: '1h', route: ROUTE });

  it('100 scrapes around every check change no decision and no ledger entry', async () => {
    const quiet = await startGateway(yaml());
    let calm: Awaited<ReturnType<typeof script>>;
    try {
      calm = await script(quiet, async () => {});
    } finally {
      await quiet.close();
    }
    const busy = await startGateway(yaml());
    try {
      let scrapes = 0;
      const scraped = await script(busy, async () => {
        for (let i = 0; i < 100; i++) await scrapeMetrics(busy);
        await rollout(busy);
        await adminGet(busy, '/api/rollouts');
        scrapes += 100;
      });
      assert.ok(scrapes >= 1000);
      // The script did move the rollout through both steps and a pause.
      assert.deepEqual(
        calm.decisions.map((d) => `${d.state}@${d.weight}`),
        ['shadow@0', 'canary@50', 'canary@50', 'canary@100', 'canary@100'],
      );
      assert.equal(calm.ledger.at(-1)?.move, 'api:canary→paused@100→100');
      assert.deepEqual(scraped.decisions, calm.decisions);
      assert.deepEqual(scraped.ledger, calm.ledger);
    } finally {
      await busy.close();
    }
  });

  it('a scrape reads each route status once and no window at all', async () => {
    // Three rolling routes; `main` gets the traffic.
    const more = ['second', 'third']
      .map(
        (name) => `  - name: ${name}
    match: { path: /${name}/* }
    legacy: legacy
    candidate: rewrite
    rollout: { steps: [50, 100], shadowFor: 1h, interval: 1h }`,
      )
      .join('\n');
    const gw = await startGateway(`${yaml()}${more}\n`);
    const routes = 3;
    try {
      await send(gw, 30);
      await gw.running.rollouts.tick();
      // Count on the real objects: the controller's status reads and the gateway's figure reads.
      const rollouts = gw.running.rollouts;
      const gateway = gw.running.gateway;
      let statuses = 0;
      let figures = 0;
      const status = rollouts.status.bind(rollouts);
      const routeFigures = gateway.routeFigures.bind(gateway);
      rollouts.status = (name) => {
        statuses++;
        return status(name);
      };
      gateway.routeFigures = (name, windowMs) => {
        figures++;
        return routeFigures(name, windowMs);
      };
      const checksBefore = metricValue(await scrapeMetrics(gw), 'cutover_rollout_checks_total');
      assert.equal(checksBefore, routes, 'one check so far, of each route');
      statuses = 0;
      for (let i = 0; i < 100; i++) await scrapeMetrics(gw);
      const text = await scrapeMetrics(gw);
      assert.equal(statuses, 101 * routes, 'one status per route per scrape');
      assert.equal(figures, 0, 'no window read by a scrape');
      assert.equal(metricValue(text, 'cutover_rollout_checks_total'), checksBefore);
      for (const route of ['main', 'second', 'third']) {
        assert.equal(metricValue(text, 'cutover_rollout_state', { route, state: 'shadow' }), 1);
      }
      // A check does read them: once per route.
      await rollouts.tick();
      assert.equal(figures, routes);
    } finally {
      await gw.close();
    }
  });
});
