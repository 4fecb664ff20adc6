// The fleet contract: one suite, run against every implementation (Memory,
// Local/SQLite, Redis). `open` gives two handles on one fresh store, as two
// instances of a fleet would hold them.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { FleetStore } from '../../src/state/fleet.ts';

export interface FleetPair {
  readonly a: FleetStore;
  readonly b: FleetStore;
  close(): Promise<void>;
}

/** Polls `check` until it returns true or `ms` pass (for hints and expiry, which are asynchronous by nature). */
export async function eventually(check: () => Promise<boolean>, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

const info = (id: string, startedAt = '2026-11-30T00:00:00.000Z') => ({
  id,
  host: 'test',
  pid: 1,
  version: '0.0.0',
  startedAt,
});

export function fleetContract(name: string, open: () => Promise<FleetPair>): void {
  describe(`fleet contract: ${name}`, () => {
    let pair: FleetPair;
    let a: FleetStore;
    let b: FleetStore;
    before(async () => {
      pair = await open();
      a = pair.a;
      b = pair.b;
    });
    after(() => pair.close());

    it('versions every commit and shows each key with the version of its last write', async () => {
      const v0 = await a.version();
      await a.set('weight', 'orders', 10);
      const v1 = await b.version();
      assert.equal(v1, v0 + 1);
      const got = await b.getVersioned<number>('weight', 'orders');
      assert.deepEqual(got, { value: 10, version: v1 });
      assert.equal(await b.get('weight', 'orders'), 10);
      assert.deepEqual([...(await b.list('weight')).entries()], [['orders', 10]]);
      assert.equal(await b.delete('weight', 'orders'), true);
      assert.equal(await a.get('weight', 'orders'), undefined);
      assert.equal(await a.delete('weight', 'orders'), false);
    });

    it('commits several writes as one, or none when a key moved meanwhile', async () => {
      const ok = await a.commit([
        { op: 'set', ns: 'rollout', key: 'r1', value: { state: 'canary' } },
        { op: 'set', ns: 'weight', key: 'r1', value: 5 },
      ]);
      assert.ok(ok.ok);
      const rec = await b.getVersioned('rollout', 'r1');
      assert.equal(rec?.version, ok.version);
      assert.equal((await b.getVersioned('weight', 'r1'))?.version, ok.version);
      const stale = { ns: 'rollout', key: 'r1', version: ok.version - 1 };
      const refused = await b.commit([{ op: 'set', ns: 'weight', key: 'r1', value: 50 }], {
        expect: [stale],
      });
      assert.deepEqual(refused, { ok: false, reason: 'conflict' });
      assert.equal(await a.get('weight', 'r1'), 5);
      const absent = await b.commit([{ op: 'set', ns: 'weight', key: 'new', value: 1 }], {
        expect: [{ ns: 'weight', key: 'new', version: 0 }],
      });
      assert.ok(absent.ok, 'version 0 expects an absent key');
    });

    it('two concurrent writes of one key end with the same value everywhere', async () => {
      await Promise.all([a.set('weight', 'race', 25), b.set('weight', 'race', 50)]);
      const fromA = await a.getVersioned('weight', 'race');
      const fromB = await b.getVersioned('weight', 'race');
      assert.deepEqual(fromA, fromB);
      assert.ok(fromA?.value === 25 || fromA?.value === 50);
    });

    it('lists what changed since a version, the last write of each key, deletes included', async () => {
      const v = await a.version();
      await a.set('weight', 'x', 1);
      await b.set('weight', 'x', 2);
      await a.set('breaker', 'legacy', 'open');
      await b.delete('breaker', 'legacy');
      const got = await b.changesSince(v);
      assert.notEqual(got, 'reload');
      if (got === 'reload') return;
      assert.equal(got.version, v + 4);
      assert.deepEqual(
        got.changes.map((c) => [c.ns, c.key, c.value]),
        [
          ['weight', 'x', 2],
          ['breaker', 'legacy', undefined],
        ],
      );
      const none = await a.changesSince(got.version);
      assert.deepEqual(none, { version: got.version, changes: [] });
    });

    it('says reload when asked from beyond its version (a store that was replaced)', async () => {
      const v = await a.version();
      assert.equal(await a.changesSince(v + 10), 'reload');
    });

    it('says reload to an instance more than the kept changes behind', async () => {
      const v = await a.version();
      for (let i = 0; i < 1100; i += 100) {
        await Promise.all(
          Array.from({ length: 100 }, (_, j) => a.set('flood', String(i + j), i + j)),
        );
      }
      assert.equal(await b.changesSince(v), 'reload');
      const recent = await b.changesSince((await b.version()) - 5);
      assert.notEqual(recent, 'reload');
    });

    it('hints other handles that something changed', async () => {
      let hinted = 0;
      const off = b.onChange(() => hinted++);
      try {
        await a.set('weight', 'hint', 1);
        await eventually(async () => hinted > 0);
      } finally {
        off();
      }
    });

    it('appends to a log with sequence numbers from the store, and keeps the last ones', async () => {
      const results = await Promise.all(
        Array.from({ length: 10 }, (_, i) =>
          (i % 2 === 0 ? a : b).commit([{ op: 'append', ns: 'ledger:r', value: i, keep: 6 }]),
        ),
      );
      const seqs = results.map((r) => (r.ok ? r.seqs[0] : -1)).sort((x, y) => x - y);
      assert.deepEqual(seqs, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
      const kept = await b.entries<number>('ledger:r', 100);
      assert.deepEqual(
        kept.map((e) => e.seq),
        [4, 5, 6, 7, 8, 9],
      );
      assert.deepEqual(
        (await a.entries<number>('ledger:r', 2)).map((e) => e.seq),
        [8, 9],
      );
      assert.deepEqual(await a.entries('ledger:none', 5), []);
    });

    it('gives the lease to one holder, with an epoch that only grows', async () => {
      const first = await a.acquire('lease1', 'A', 10_000);
      assert.equal(first?.holder, 'A');
      assert.equal(await b.acquire('lease1', 'B', 10_000), undefined);
      assert.equal((await b.holder('lease1'))?.holder, 'A');
      assert.equal(await a.renew('lease1', 'A', first?.epoch as number, 10_000), true);
      const again = await a.acquire('lease1', 'A', 10_000);
      assert.equal(again?.epoch, first?.epoch, 'the holder keeps its epoch');
      await a.release('lease1', 'A', first?.epoch as number);
      assert.equal(await a.holder('lease1'), undefined);
      const second = await b.acquire('lease1', 'B', 10_000);
      assert.ok(second && first && second.epoch > first.epoch);
      assert.equal(await a.renew('lease1', 'A', first?.epoch as number, 10_000), false);
      await b.release('lease1', 'B', second?.epoch as number);
      const third = await b.acquire('lease1', 'B', 10_000);
      assert.ok(third && second && third.epoch > second.epoch, 'released epochs are not reused');
      await b.release('lease1', 'B', third?.epoch as number);
    });

    it('fences writes made with a lost epoch', async () => {
      const old = (await a.acquire('lease2', 'A', 300)) as NonNullable<
        Awaited<ReturnType<FleetStore['acquire']>>
      >;
      const ok = await a.commit([{ op: 'set', ns: 'weight', key: 'f', value: 1 }], {
        lease: { name: 'lease2', epoch: old.epoch },
      });
      assert.ok(ok.ok);
      await eventually(async () => (await b.holder('lease2')) === undefined);
      const next = await b.acquire('lease2', 'B', 10_000);
      assert.ok(next && next.epoch > old.epoch);
      const late = await a.commit([{ op: 'set', ns: 'weight', key: 'f', value: 99 }], {
        lease: { name: 'lease2', epoch: old.epoch },
      });
      assert.deepEqual(late, { ok: false, reason: 'fenced' });
      assert.equal(await b.get('weight', 'f'), 1);
      assert.equal(await a.renew('lease2', 'A', old.epoch, 10_000), false);
      const fresh = await b.commit([{ op: 'set', ns: 'weight', key: 'f', value: 2 }], {
        lease: { name: 'lease2', epoch: next?.epoch as number },
      });
      assert.ok(fresh.ok);
      await b.release('lease2', 'B', next?.epoch as number);
    });

    it('lists instances until they stop beating, and drops one that leaves', async () => {
      await a.heartbeat(info('i-a', '2026-11-30T00:00:00.000Z'), 10_000);
      await b.heartbeat(info('i-b', '2026-11-30T00:00:01.000Z'), 300);
      let seen = await a.instances();
      assert.deepEqual(
        seen.filter((i) => i.id.startsWith('i-')).map((i) => i.id),
        ['i-a', 'i-b'],
      );
      const one = seen.find((i) => i.id === 'i-a');
      assert.equal(one?.pid, 1);
      assert.ok(!Number.isNaN(Date.parse(one?.lastSeen ?? '')));
      await eventually(async () => !(await a.instances()).some((i) => i.id === 'i-b'));
      await a.leave('i-a');
      seen = await b.instances();
      assert.equal(
        seen.some((i) => i.id === 'i-a'),
        false,
      );
    });

    it('keeps every instance’s figures per second and reads a range of them', async () => {
      const now = Math.floor(Date.now() / 1000);
      await a.publishFigures({ instance: 'i-a', second: now - 2, payload: 'a2' }, 60);
      await a.publishFigures({ instance: 'i-a', second: now - 1, payload: 'a1' }, 60);
      await b.publishFigures({ instance: 'i-b', second: now - 1, payload: 'b1' }, 60);
      await b.publishFigures({ instance: 'i-b', second: now - 120, payload: 'old' }, 60);
      const got = await b.readFigures(now - 1, now);
      assert.deepEqual(got.map((s) => [s.instance, s.second, s.payload]).sort(), [
        ['i-a', now - 1, 'a1'],
        ['i-b', now - 1, 'b1'],
      ]);
      assert.deepEqual(await a.readFigures(now - 130, now - 100), [], 'older than kept');
    });

    it('keeps minute history rows: an upsert per key, read by range and by route', async () => {
      const minute = Math.floor(Date.now() / 60_000) * 60_000 - 120_000;
      const row = (
        m: number,
        route: string,
        side: string,
        instance: string,
        payload: string,
        kind = 'route',
      ) => ({ kind, route, side, minute: m, instance, payload });
      const day = 86_400_000;
      await a.writeHistory(
        [
          row(minute, 'orders', 'legacy', 'i-a', 'first'),
          row(minute, 'orders', 'candidate', 'i-a', 'c1'),
          row(minute, 'orders', '', 'i-a', 's1', 'shadow'),
          row(minute + 60_000, 'users', 'legacy', 'i-a', 'u1'),
        ],
        day,
      );
      // The minute so far, rewritten; another instance's row of the same minute beside it.
      await a.writeHistory([row(minute, 'orders', 'legacy', 'i-a', 'second')], day);
      await b.writeHistory([row(minute, 'orders', 'legacy', 'i-b', 'b1')], day);
      const all = await b.readHistory(minute, minute + 60_000);
      assert.deepEqual(
        all.map((r) => [r.minute - minute, r.route, r.kind, r.side, r.instance, r.payload]),
        [
          [0, 'orders', 'route', 'candidate', 'i-a', 'c1'],
          [0, 'orders', 'route', 'legacy', 'i-a', 'second'],
          [0, 'orders', 'route', 'legacy', 'i-b', 'b1'],
          [0, 'orders', 'shadow', '', 'i-a', 's1'],
          [60_000, 'users', 'route', 'legacy', 'i-a', 'u1'],
        ],
      );
      const users = await a.readHistory(minute - 60_000, minute + 120_000, 'users');
      assert.deepEqual(
        users.map((r) => r.payload),
        ['u1'],
      );
      assert.deepEqual(await a.readHistory(minute + 120_000, minute + 600_000), []);
      // A route whose name starts like another's is not mixed in.
      await a.writeHistory([row(minute, 'orders-v2', 'legacy', 'i-a', 'v2')], day);
      assert.deepEqual(
        (await b.readHistory(minute, minute, 'orders')).map((r) => r.payload),
        ['c1', 'second', 'b1', 's1'],
      );
    });

    it('drops history older than the retention, and never writes a row already that old', async () => {
      const now = Math.floor(Date.now() / 60_000) * 60_000;
      const hour = 3_600_000;
      const row = (minute: number, payload: string) => ({
        kind: 'route',
        route: 'retained',
        side: 'legacy',
        minute,
        instance: 'i-a',
        payload,
      });
      await a.writeHistory([row(now - 3 * hour, 'old'), row(now - 60_000, 'recent')], 4 * hour);
      assert.deepEqual(
        (await b.readHistory(now - 4 * hour, now, 'retained')).map((r) => r.payload),
        ['old', 'recent'],
      );
      // A shorter retention: the old minute goes at the next write; a row past it is refused.
      await b.writeHistory([row(now - 2 * hour, 'too old'), row(now, 'new')], hour);
      assert.deepEqual(
        (await a.readHistory(now - 4 * hour, now, 'retained')).map((r) => r.payload),
        ['recent', 'new'],
      );
    });

    it('shares a token bucket: together the handles take at most the burst, then the refill', async () => {
      const grants = await Promise.all(
        Array.from({ length: 20 }, (_, i) => (i % 2 ? a : b).takeTokens('bucket1', 1, 50, 5)),
      );
      const total = grants.reduce((s, g) => s + g.granted, 0);
      assert.equal(total, 50);
      const empty = await a.takeTokens('bucket1', 1, 50, 1);
      assert.equal(empty.granted, 0);
      assert.equal(empty.remaining, 0);
      assert.ok(empty.nextInMs > 0 && empty.nextInMs <= 1000);
      assert.ok(empty.fullInMs > 40_000 && empty.fullInMs <= 50_000);
      const fast = await a.takeTokens('bucket2', 1000, 10, 10);
      assert.equal(fast.granted, 10);
      await eventually(async () => (await b.takeTokens('bucket2', 1000, 10, 1)).granted === 1);
    });

    it('answers a ping', async () => {
      await a.ping();
      await b.ping();
    });
  });
}
