// Signed-out sessions across a fleet, in-process: the store holds each id
// with its cookie's expiry, the other member learns it from the feed, and
// an expired id leaves the store at the next sign-out and every member's
// memory (a fake clock moves time).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SessionRevocations } from '../../src/admin/revocations.ts';
import type { Session } from '../../src/admin/session.ts';
import { FleetMember, MemoryStore, REVOKED_SESSION_NS } from '../../src/state/index.ts';
import { createLogger } from '../../src/telemetry/index.ts';
import { memberInfo } from '../helpers/fleet.ts';

const still = { beatMs: 1e9, renewMs: 1e9 };
const logger = createLogger({ level: 'silent' });

function session(id: string, expiresAt: number): Session {
  return { role: 'operator', name: 'alice', expiresAt, id };
}

describe('session revocations', () => {
  it('reach the other member through the feed; an expired id is dropped from the store and from memory', async () => {
    const store = new MemoryStore();
    let now = 1_000_000;
    const clock = () => now;
    const memberA = new FleetMember({ store, info: memberInfo('A'), logger, timings: still });
    const memberB = new FleetMember({ store, info: memberInfo('B'), logger, timings: still });
    const a = new SessionRevocations(memberA, clock);
    const b = new SessionRevocations(memberB, clock);

    await a.revoke(session('s1', now + 1000));
    assert.equal(a.has('s1'), true, 'refused at once where it was signed out');
    assert.equal(b.has('s1'), false);
    await memberB.poll();
    assert.equal(b.has('s1'), true, 'the other member learnt it from the feed');
    assert.deepEqual(await store.list(REVOKED_SESSION_NS), new Map([['s1', now + 1000]]));

    // s1's cookie has expired: the next sign-out removes its key, and the members forget it.
    now += 1000;
    await a.revoke(session('s2', now + 5000));
    assert.deepEqual(await store.list(REVOKED_SESSION_NS), new Map([['s2', now + 5000]]));
    assert.equal(a.has('s1'), false);
    assert.equal(a.size, 1);
    await memberB.poll();
    assert.equal(b.has('s2'), true);
  });

  it('a new member reads what was revoked before it started', async () => {
    const store = new MemoryStore();
    const memberA = new FleetMember({ store, info: memberInfo('A'), logger, timings: still });
    await new SessionRevocations(memberA).revoke(session('s1', Date.now() + 60_000));
    const later = new SessionRevocations(
      new FleetMember({ store, info: memberInfo('C'), logger, timings: still }),
    );
    assert.equal(later.has('s1'), false);
    await later.start();
    try {
      assert.equal(later.has('s1'), true);
    } finally {
      later.close();
    }
  });

  it('a store that does not answer: StateUnavailableError, and this instance refuses the id all the same', async () => {
    const store = new MemoryStore();
    const member = new FleetMember({ store, info: memberInfo('A'), logger, timings: still });
    const revocations = new SessionRevocations(member);
    store.commit = () => Promise.reject(new Error('connection refused'));
    await assert.rejects(revocations.revoke(session('s1', Date.now() + 60_000)), {
      code: 'CUTOVER_ERR_STATE_UNAVAILABLE',
    });
    assert.equal(revocations.has('s1'), true);
    assert.equal(member.health.up, false, 'the member was told the store is down');
  });

  it('a store away at start does not keep the listener down: the next read catches up', async () => {
    const store = new MemoryStore();
    await store.commit([
      { op: 'set', ns: REVOKED_SESSION_NS, key: 's1', value: Date.now() + 60_000 },
    ]);
    const member = new FleetMember({ store, info: memberInfo('A'), logger, timings: still });
    const list = store.list.bind(store);
    store.list = () => Promise.reject(new Error('connection refused'));
    const revocations = new SessionRevocations(member);
    await revocations.start();
    try {
      assert.equal(revocations.has('s1'), false);
      assert.equal(member.health.up, false, 'the member was told the store is down');
      store.list = list;
      await member.poll();
      assert.equal(revocations.has('s1'), true, 'the feed reload read it once the store answered');
    } finally {
      revocations.close();
    }
  });

  it('without a fleet: revoked on this instance only', async () => {
    const local = new SessionRevocations(undefined);
    await local.revoke(session('s1', Date.now() + 60_000));
    assert.equal(local.has('s1'), true);
  });
});
