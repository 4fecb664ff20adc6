// Fencing: a leader that was paused past its lease (SIGSTOP, a long GC) and
// wakes up cannot overwrite its successor's decisions; a rollback, always
// safe, still goes through. Real store, real members, real journal; the
// store's clock is moved by hand instead of waiting out a lease.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RolloutJournal } from '../../src/rollout/journal.ts';
import { OFF, type RolloutRecord, rolledBack } from '../../src/rollout/state.ts';
import { Webhooks } from '../../src/rollout/webhooks.ts';
import { CONTROLLER_LEASE, FleetMember, MemoryStore, ROLLOUT_NS } from '../../src/state/index.ts';
import { createLogger } from '../../src/telemetry/index.ts';
import { memberInfo } from '../helpers/fleet.ts';

const logger = createLogger({ level: 'silent' });
const info = memberInfo;
/** Loops that never fire during the test: the test drives every step. */
const still = { beatMs: 1e9, renewMs: 1e9, leaseMs: 10_000 };
const canary = (weight: number, since: number): RolloutRecord => ({
  ...OFF,
  state: 'canary',
  step: weight === 10 ? 0 : 1,
  weight,
  since,
  dataSince: since,
  reason: 'gates passed',
  by: 'controller',
});

function journalOf(store: MemoryStore, member: FleetMember, weights: Map<string, number>) {
  return new RolloutJournal(
    {
      store,
      member,
      logger,
      webhooks: new Webhooks(logger),
      clock: () => 0,
      liveWeight: (r) => weights.get(r) ?? 0,
      applyWeight: (r, w) => weights.set(r, w ?? 0),
      eventHooks: () => [],
      metrics: () => undefined,
    },
    new Map(),
  );
}

describe('fencing the controller', () => {
  it('a leader that lost its lease while paused writes nothing; a rollback still lands', async () => {
    let now = 1_000;
    const store = new MemoryStore(() => now);
    const a = new FleetMember({ store, info: info('A'), logger, timings: still });
    await a.start();
    assert.equal(a.leader, true);
    const weightsA = new Map<string, number>();
    const journalA = journalOf(store, a, weightsA);
    assert.equal(await journalA.move('main', OFF, canary(10, now), [], 'leader'), true);
    assert.equal(weightsA.get('main'), 10);

    // A is paused past its lease; B takes the lease and moves the rollout on.
    now += 11_000;
    const b = await store.acquire(CONTROLLER_LEASE, 'B', 10_000);
    assert.ok(b && b.epoch > (a.epoch ?? 0));
    const mine = await store.getVersioned<RolloutRecord>(ROLLOUT_NS, 'main');
    const bStep = await store.commit(
      [{ op: 'set', ns: ROLLOUT_NS, key: 'main', value: canary(50, now) }],
      {
        lease: { name: CONTROLLER_LEASE, epoch: b.epoch },
        expect: [{ ns: ROLLOUT_NS, key: 'main', version: mine?.version ?? 0 }],
      },
    );
    assert.ok(bStep.ok);

    // A wakes up and, still believing it leads, steps up: refused, and A knows it leads no more.
    const late = await journalA.move('main', canary(10, 1_000), canary(50, now), [], 'leader');
    assert.equal(late, false);
    assert.equal(a.leader, false);
    assert.equal(
      (await store.get<RolloutRecord>(ROLLOUT_NS, 'main'))?.weight,
      50,
      "B's decision stands",
    );
    assert.deepEqual(
      (await journalA.ledger.history('main')).map((e) => e.weight),
      [10],
      'the refused move left no ledger entry',
    );

    // Weight 0 is always safe: A may still roll back on its own.
    const back = rolledBack('controller', 'hard trip', now);
    assert.equal(await journalA.move('main', canary(50, now), back, [], 'rollback'), true);
    assert.equal((await store.get<RolloutRecord>(ROLLOUT_NS, 'main'))?.state, 'rolled-back');
    assert.equal(await store.get('weight', 'main'), 0);
    await a.close();
  });

  it('a rollback made while the store is away applies at once and is written, over a later promotion, when it returns', async () => {
    const store = new MemoryStore();
    const member = new FleetMember({ store, info: info('A'), logger, timings: still });
    await member.start();
    const weights = new Map<string, number>();
    const journal = journalOf(store, member, weights);
    assert.equal(await journal.move('main', OFF, canary(10, 1), [], 'operator'), true);
    const realCommit = store.commit.bind(store);
    let down = true;
    store.commit = async (ops, guard) => {
      if (down) throw new Error('connect ECONNREFUSED');
      return realCommit(ops, guard);
    };
    member.report(new Error('connect ECONNREFUSED'));
    assert.equal(member.health.up, false);
    const back = rolledBack('controller', 'error rate above 0.3%', 2);
    assert.equal(await journal.move('main', canary(10, 1), back, [], 'rollback'), true);
    assert.equal(weights.get('main'), 0, 'in force here at once');
    assert.equal(journal.pending, 1);
    // Meanwhile (another instance, before the store went away for it) the rollout was promoted.
    down = false;
    await realCommit([{ op: 'set', ns: ROLLOUT_NS, key: 'main', value: canary(50, 3) }]);
    await journal.flushPending();
    assert.equal(journal.pending, 0);
    assert.equal((await store.get<RolloutRecord>(ROLLOUT_NS, 'main'))?.state, 'rolled-back');
    assert.equal(await store.get('weight', 'main'), 0);
    await member.close();
  });
});
