// A fleet member follows the change feed (hint and poll), reloads after a
// gap, holds the lease alone, and says once when the store goes and comes back.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  type Change,
  CONTROLLER_LEASE,
  FleetMember,
  MemoryStore,
  WEIGHT_NS,
} from '../../src/state/index.ts';
import { createLogger } from '../../src/telemetry/index.ts';
import { memberInfo } from '../helpers/fleet.ts';
import { eventually } from './fleet-contract.ts';

const info = memberInfo;
const still = { beatMs: 1e9, renewMs: 1e9 };

function recorder() {
  const seen: Change[] = [];
  let reloads = 0;
  return {
    seen,
    get reloads() {
      return reloads;
    },
    follower: {
      namespaces: [WEIGHT_NS],
      apply: (c: Change) => {
        seen.push(c);
      },
      reload: async () => {
        reloads++;
      },
    },
  };
}

describe('fleet member', () => {
  it('applies what another instance committed, woken by the hint', async () => {
    const store = new MemoryStore();
    const logger = createLogger({ level: 'silent' });
    const b = new FleetMember({ store, info: info('B'), logger, timings: still });
    const r = recorder();
    b.follow(r.follower);
    await b.start();
    await store.set(WEIGHT_NS, 'main', 25);
    await store.set('other', 'x', 1);
    await eventually(async () => r.seen.length === 1);
    assert.equal(r.seen[0].key, 'main');
    assert.equal(r.seen[0].value, 25);
    assert.equal(b.version, await store.version());
    await b.close();
  });

  it('reloads everything when it fell further behind than the feed keeps', async () => {
    const store = new MemoryStore();
    const logger = createLogger({ level: 'silent' });
    const b = new FleetMember({ store, info: info('B'), logger, timings: still });
    const r = recorder();
    b.follow(r.follower);
    await b.start();
    // 1,100 commits before the member can run at all (MemoryStore writes synchronously inside commit).
    const burst = Array.from({ length: 1100 }, (_, i) =>
      store.commit([{ op: 'set', ns: 'x', key: String(i), value: i }]),
    );
    await Promise.all(burst);
    await b.poll();
    assert.ok(r.reloads >= 1);
    assert.equal(b.version, await store.version());
    await b.close();
  });

  it('one of two members leads; the lease is released on close and the other takes it', async () => {
    const store = new MemoryStore();
    const logger = createLogger({ level: 'silent' });
    const a = new FleetMember({ store, info: info('A'), logger, timings: { renewMs: 20 } });
    const b = new FleetMember({ store, info: info('B'), logger, timings: { renewMs: 20 } });
    await a.start();
    await b.start();
    assert.equal(a.leader, true);
    assert.equal(b.leader, false);
    const list = await b.instances();
    assert.deepEqual(
      list.map((i) => [i.id, i.leader]),
      [
        ['A', true],
        ['B', false],
      ],
    );
    const changes: boolean[] = [];
    b.onLeadership((l) => changes.push(l));
    await a.close();
    assert.equal((await store.holder(CONTROLLER_LEASE))?.holder, undefined);
    await eventually(async () => b.leader);
    assert.deepEqual(changes, [true]);
    assert.deepEqual(
      (await b.instances()).map((i) => i.id),
      ['B'],
    );
    await b.close();
  });

  it('says once that the store is down and once that it is back, and runs the return tasks first', async () => {
    const store = new MemoryStore();
    const lines: string[] = [];
    const logger = {
      info: (_: object, m: string) => lines.push(`info ${m}`),
      warn: (_: object, m: string) => lines.push(`warn ${m}`),
      error: (_: object, m: string) => lines.push(`error ${m}`),
    };
    const m = new FleetMember({
      store,
      info: info('A'),
      logger,
      timings: { beatMs: 10, renewMs: 1e9 },
    });
    const order: string[] = [];
    m.onReturn(async () => {
      order.push('return task');
    });
    m.onHealth((h) => order.push(h.up ? 'up' : 'down'));
    await m.start();
    assert.equal(m.leader, true);
    const realBeat = store.heartbeat.bind(store);
    let down = true;
    let failed = 0;
    store.heartbeat = async (i, ttl) => {
      if (down) {
        failed++;
        throw new Error('connect ECONNREFUSED 127.0.0.1:6399');
      }
      return realBeat(i, ttl);
    };
    await eventually(async () => !m.health.up);
    assert.match(m.health.reason ?? '', /state store unreachable: connect ECONNREFUSED/);
    assert.equal(m.leader, false, 'no lead without the store');
    assert.throws(() => m.assertUp(), { code: 'CUTOVER_ERR_STATE_UNAVAILABLE' });
    // Several beats fail (every 10 ms) before the store returns: still one line each way.
    await eventually(async () => failed >= 3);
    down = false;
    await eventually(async () => m.health.up);
    assert.deepEqual(order, ['down', 'return task', 'up']);
    assert.equal(lines.filter((l) => l === 'error state store down').length, 1);
    assert.equal(lines.filter((l) => l === 'info state store back').length, 1);
    await m.close();
  });
});
