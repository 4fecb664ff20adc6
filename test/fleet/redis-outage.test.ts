// Redis goes away under load (fail static): three real instances keep
// serving with the state they knew, say `degraded`, refuse admin writes they
// could not store, fall back to local limits, hold their rollouts — and still
// roll a failing candidate back on their own, which the store shows once
// Redis is back. And a leader frozen past its lease does not lead on waking.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { request } from 'undici';
import type { RolloutRecord } from '../../src/rollout/index.ts';
import { RedisFleet, ROLLOUT_NS, WEIGHT_NS } from '../../src/state/index.ts';
import { type Instance, startInstance, writeConfig } from '../helpers/fleet.ts';
import { tempDir } from '../helpers/gateway.ts';
import { PATIENT, startRedis, type TestRedis } from '../helpers/redis-server.ts';
import { startUpstream, type Upstream } from '../helpers/upstream.ts';
import { waitFor } from '../helpers/wait.ts';
import { startLoad } from '../rollout/load.ts';
import { fleetYaml, json, rolloutOf, weightOf } from './suite.ts';

const LIMITED = `  - name: limited
    match: { path: /limited/* }
    legacy: legacy
    limit: { rps: 300, burst: 300, scope: cluster, onStoreDown: local }
`;

async function metric(i: Instance, name: string, labels = ''): Promise<number | undefined> {
  const text = await (await request(`${i.adminUrl}/metrics`)).body.text();
  const line = text.split('\n').find((l) => l.startsWith(`${name}${labels} `));
  return line === undefined ? undefined : Number(line.split(' ')[1]);
}

describe('Redis goes away under load', () => {
  let redis: TestRedis;
  let legacy: Upstream;
  let rewrite: Upstream;
  let fleet: Instance[] = [];
  /** Loads still running when a test fails stop here, before the instances go. */
  const stoppers: { stop(): Promise<void> }[] = [];
  before(async () => {
    redis = await startRedis({ persist: true });
    legacy = await startUpstream({ name: 'svc' });
    rewrite = await startUpstream({ name: 'svc' });
    const config = writeConfig(
      join(tempDir(), 'cutover.yaml'),
      fleetYaml(legacy, rewrite, `${redis.url}/0`, LIMITED),
    );
    fleet = await Promise.all([0, 1, 2].map(() => startInstance(config)));
  });
  after(async () => {
    await Promise.all(stoppers.map((l) => l.stop()));
    await Promise.all(fleet.map((i) => i.kill()));
    await redis.close();
    await legacy.close();
    await rewrite.close();
  });

  it('serves on, degraded, then rolls a failing candidate back alone; the store shows it when Redis returns', async () => {
    const start = await json(`${fleet[0].adminUrl}/api/routes/main/rollout/start`, {
      method: 'POST',
    });
    assert.equal(start.status, 200);
    for (const i of fleet)
      await waitFor(
        '10% everywhere',
        5_000,
        () => weightOf(i),
        (w) => w === 10,
      );
    const loads = fleet.map((i) => startLoad(i.url, 2));
    const limited = fleet.map((i) => startLoad(i.url, 1, '/limited/x'));
    stoppers.push(...loads, ...limited);
    await waitFor(
      'traffic',
      5_000,
      async () => loads.reduce((s, l) => s + l.sent, 0),
      (n) => n > 100,
    );

    await redis.kill();
    for (const i of fleet) {
      const ready = await waitFor(
        '/readyz degraded',
        10_000,
        async () => {
          const res = await request(`${i.adminUrl}/readyz`);
          return {
            status: res.statusCode,
            body: (await res.body.json()) as { status: string; reason: string },
          };
        },
        (r) => r.body.status === 'degraded',
      );
      assert.equal(ready.status, 200, 'a lost store does not take the instance out of rotation');
      assert.match(ready.body.reason, /unreachable/);
      assert.equal(await metric(i, 'cutover_state_store_up'), 0);
      await waitFor(
        'the cluster limit on its local share',
        5_000,
        () => metric(i, 'cutover_rate_limit_mode', '{mode="local",route="limited"}'),
        (v) => v === 1,
      );
    }
    const refused = await json<{ code: string }>(`${fleet[1].adminUrl}/api/routes/limited/weight`, {
      method: 'PUT',
      body: { weight: 0 },
    });
    assert.equal(refused.status, 503);
    assert.equal(refused.body.code, 'CUTOVER_ERR_STATE_UNAVAILABLE');
    await waitFor(
      'the rollout holding, saying why',
      5_000,
      async () =>
        (
          await json<{ rollouts: { waitingFor: string | null }[] }>(
            `${fleet[2].adminUrl}/api/rollouts`,
          )
        ).body.rollouts[0]?.waitingFor ?? '',
      (w) => /state store unreachable/.test(w),
    );
    // Every request so far was answered, by the weights each instance knew.
    for (const l of loads) await l.stop();
    for (const l of loads) {
      assert.equal(l.statuses.get(0) ?? 0, 0, 'no connection failed');
      assert.equal(
        l.statuses.get(200),
        l.sent,
        `every request answered 200: ${JSON.stringify([...l.statuses])}`,
      );
    }

    // The candidate fails: each instance sees it in its own figures and rolls back alone.
    rewrite.setBehavior('status:500');
    const failing = fleet.map((i) => startLoad(i.url, 2));
    stoppers.push(...failing);
    try {
      for (const i of fleet)
        await waitFor(
          'weight 0 on every instance',
          15_000,
          () => weightOf(i),
          (w) => w === 0,
        );
    } finally {
      for (const l of failing) await l.stop();
      rewrite.setBehavior('ok');
    }
    for (const i of fleet) assert.equal((await rolloutOf(i))?.state, 'rolled-back');

    await redis.restart();
    for (const i of fleet) {
      await waitFor(
        '/readyz ok again',
        10_000,
        async () => (await json<{ status: string }>(`${i.adminUrl}/readyz`)).body.status,
        (s) => s === 'ok',
      );
      assert.equal(await metric(i, 'cutover_state_store_up'), 1);
    }
    const store = new RedisFleet({ url: `${redis.url}/0`, ...PATIENT });
    try {
      const rec = await store.get<RolloutRecord>(ROLLOUT_NS, 'main');
      assert.equal(rec?.state, 'rolled-back', 'the rollback made alone is in the store');
      assert.match(rec?.reason ?? '', /decided alone: state store unreachable/);
      assert.equal(await store.get(WEIGHT_NS, 'main'), 0);
    } finally {
      await store.close();
    }
    const back = await json(`${fleet[1].adminUrl}/api/routes/limited/weight`, {
      method: 'PUT',
      body: { weight: 0 },
    });
    assert.equal(back.status, 200, 'admin writes work again without a restart');
  });

  it('a leader frozen (SIGSTOP) past its lease is replaced, and does not lead when it wakes', async () => {
    const leaderId = await waitFor(
      'a leader',
      15_000,
      async () =>
        (
          await json<{ id: string; leader: boolean }[]>(`${fleet[0].adminUrl}/api/instances`)
        ).body.find((i) => i.leader)?.id,
      (id) => id !== undefined,
    );
    const frozen = fleet.find((i) => i.id === leaderId) as Instance;
    const others = fleet.filter((i) => i !== frozen);
    frozen.signal('SIGSTOP');
    try {
      await waitFor(
        'another instance leads',
        20_000,
        async () =>
          (
            await json<{ id: string; leader: boolean }[]>(`${others[0].adminUrl}/api/instances`)
          ).body.find((i) => i.leader)?.id,
        (id) => id !== undefined && id !== leaderId,
      );
    } finally {
      frozen.signal('SIGCONT');
    }
    await frozen.waitLine(
      'the woken leader steps down',
      (l) => l.msg === 'this instance no longer leads the fleet',
    );
    assert.equal(await metric(frozen, 'cutover_fleet_leader'), 0);
    const list = (await json<{ id: string; leader: boolean }[]>(`${frozen.adminUrl}/api/instances`))
      .body;
    assert.equal(list.filter((i) => i.leader).length, 1);
    assert.notEqual(list.find((i) => i.leader)?.id, leaderId);
  });
});
