// The Redis fleet: the shared contract against a real redis-server (started
// here on a free port), then what only Redis has — prefixes, a Redis that is
// killed, restarted, hung or emptied.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { StateError, StateTimeoutError, StateUnavailableError } from '../../src/errors.ts';
import { openFleet, RedisFleet } from '../../src/state/index.ts';
import { PATIENT, startRedis, type TestRedis } from '../helpers/redis-server.ts';
import { eventually, fleetContract } from './fleet-contract.ts';

const instance = (id: string) => ({
  id,
  host: 'test',
  pid: 1,
  version: '0.0.0',
  startedAt: '2026-11-30T00:00:00.000Z',
});

let redis: TestRedis;
before(async () => {
  redis = await startRedis();
});
after(() => redis?.close());

fleetContract('redis', async () => {
  const a = new RedisFleet({ url: redis.url, prefix: 'contract', ...PATIENT });
  const b = new RedisFleet({ url: `${redis.url}/0`, prefix: 'contract', ...PATIENT });
  return {
    a,
    b,
    async close() {
      await a.close();
      await b.close();
    },
  };
});

/** Resolves when the fleet's connection is `up` (at once if it already is). */
function connection(fleet: RedisFleet, up: boolean): Promise<string | undefined> {
  if (fleet.connected === up) return Promise.resolve(undefined);
  return new Promise((resolve) => {
    const off = fleet.onConnection((now, reason) => {
      if (now !== up) return;
      off();
      resolve(reason);
    });
  });
}

/** Two handles on one Redis, as two instances hold them; closed by `close`. */
function pair(url: string, prefix = 'fleet', timeouts: { tokenTimeout?: number } = {}) {
  const a = new RedisFleet({ url, prefix, ...PATIENT, ...timeouts });
  const b = new RedisFleet({ url, prefix, ...PATIENT, ...timeouts });
  return { a, b, close: () => Promise.all([a.close(), b.close()]) };
}

describe('redis fleet: keys', () => {
  it('keeps fleets with different prefixes on one Redis apart', async () => {
    const one = new RedisFleet({ url: redis.url, prefix: 'one', ...PATIENT });
    const two = new RedisFleet({ url: redis.url, prefix: 'two', ...PATIENT });
    try {
      await one.set('weight', 'orders', 40);
      await one.commit([{ op: 'append', ns: 'ledger:orders', value: 'step', keep: 10 }]);
      const lease = await one.acquire('controller', 'i-1', 10_000);
      await one.heartbeat(instance('i-1'), 10_000);
      const now = Math.floor(Date.now() / 1000);
      await one.publishFigures({ instance: 'i-1', second: now, payload: 'p' }, 60);
      assert.equal((await one.takeTokens('orders', 1, 5, 5)).granted, 5);

      assert.equal(await two.get('weight', 'orders'), undefined);
      assert.equal((await two.list('weight')).size, 0);
      assert.deepEqual(await two.entries('ledger:orders', 10), []);
      assert.equal(await two.holder('controller'), undefined);
      const other = await two.acquire('controller', 'i-2', 10_000);
      assert.equal(other?.holder, 'i-2', 'the other fleet has a lease of its own');
      assert.deepEqual(await two.instances(), []);
      assert.deepEqual(await two.readFigures(now - 1, now + 1), []);
      assert.equal((await two.takeTokens('orders', 1, 5, 5)).granted, 5, 'a bucket of its own');
      assert.equal(await one.get('weight', 'orders'), 40);
      assert.ok(lease);
    } finally {
      await Promise.all([one.close(), two.close()]);
    }
  });

  it('refuses a prefix with braces and a URL it cannot use, naming the problem', () => {
    assert.throws(() => new RedisFleet({ url: redis.url, prefix: 'a{b}' }), StateError);
    assert.throws(
      () => new RedisFleet({ url: 'redis://127.0.0.1:6379/x' }),
      /expected a database number/,
    );
  });

  it('opens from the config forms, and never shows the password', async () => {
    const url = `redis://:s3cret@127.0.0.1:${redis.port}/0`;
    const fromUrl = openFleet(url);
    const fromObject = openFleet({ url, prefix: 'objects' });
    try {
      assert.equal(fromUrl.kind, 'redis');
      assert.equal(fromObject.kind, 'redis');
      assert.equal(fromUrl.description, `redis://127.0.0.1:${redis.port}/0 prefix cutover`);
      assert.ok(!fromObject.description.includes('s3cret'));
      assert.match(fromObject.description, /prefix objects$/);
    } finally {
      await Promise.all([fromUrl.close(), fromObject.close()]);
    }
  });
});

describe('redis fleet: a Redis that fails', () => {
  it('rejects calls at once while Redis is dead, reconnects by itself after a restart, and hints again', async () => {
    const server = await startRedis({ persist: true });
    const { a, b, close } = pair(server.url);
    let hinted = 0;
    const off = b.onChange(() => hinted++);
    try {
      await a.set('weight', 'orders', 10);
      await eventually(async () => hinted > 0);
      const reasons: string[] = [];
      a.onConnection((up, reason) => {
        if (!up) reasons.push(reason ?? '');
      });

      const down = connection(a, false);
      await server.kill();
      await down;
      assert.equal(reasons.length, 1, 'one report per change, not one per call');
      assert.notEqual(reasons[0], '');
      // Unavailable, not a timeout: the call did not wait for an answer.
      for (const call of [
        () => a.get('weight', 'orders'),
        () => a.set('weight', 'orders', 20),
        () => a.changesSince(0),
        () => a.takeTokens('orders', 10, 10, 1),
        () => a.ping(),
      ]) {
        await assert.rejects(call(), (e: unknown) => e instanceof StateUnavailableError);
      }
      assert.equal(reasons.length, 1);

      await server.restart();
      await Promise.all([connection(a, true), connection(b, true)]);
      assert.equal(await b.get('weight', 'orders'), 10, 'the append-only file kept it');
      await a.set('weight', 'orders', 30);
      assert.equal(await b.get('weight', 'orders'), 30);
      hinted = 0;
      await eventually(async () => {
        await a.set('weight', 'hinted', hinted);
        return hinted > 0;
      });
    } finally {
      off();
      await close();
      await server.close();
    }
  });

  it('rejects a token take on a hung Redis by its command timeout, and works again once it answers', async () => {
    const server = await startRedis();
    const { a, close } = pair(server.url, 'hung', { tokenTimeout: 50 });
    try {
      await a.takeTokens('orders', 100, 100, 1);
      server.pause();
      await assert.rejects(a.takeTokens('orders', 100, 100, 1), (e: unknown) => {
        assert.ok(e instanceof StateTimeoutError, String(e));
        assert.equal(e.code, 'CUTOVER_ERR_STATE_TIMEOUT');
        return true;
      });
      server.resume();
      assert.equal((await a.takeTokens('orders', 100, 100, 1)).granted, 1);
      await a.set('weight', 'after', 1);
      assert.equal(await a.get('weight', 'after'), 1);
    } finally {
      server.resume();
      await close();
      await server.close();
    }
  });

  it('says reload after a restart that lost the data, even once the new store has moved on', async () => {
    const server = await startRedis({ persist: false });
    const { a, b, close } = pair(server.url);
    try {
      await a.set('weight', 'orders', 10);
      const before = await a.version();
      const lease = await a.acquire('controller', 'i-a', 60_000);
      assert.ok(lease);

      await server.restart();
      await Promise.all([connection(a, true), connection(b, true)]);
      for (let i = 0; i < 5; i++) await b.set('weight', 'orders', 20 + i);
      assert.equal(await a.changesSince(before), 'reload');
      assert.equal(await a.get('weight', 'orders'), 24);

      // Fencing holds across the loss: the new store never hands out the old epoch.
      const next = await b.acquire('controller', 'i-b', 60_000);
      assert.ok(next && next.epoch > lease.epoch);
      const late = await a.commit([{ op: 'set', ns: 'weight', key: 'orders', value: 0 }], {
        lease: { name: 'controller', epoch: lease.epoch },
      });
      assert.deepEqual(late, { ok: false, reason: 'fenced' });
    } finally {
      await close();
      await server.close();
    }
  });

  it('waits for Redis at start, rejects while it is not there, and connects once it is', async () => {
    const server = await startRedis();
    await server.stop();
    const fleet = new RedisFleet({ url: server.url, prefix: 'late', commandTimeout: 200 });
    try {
      await assert.rejects(fleet.ping(), (e: unknown) => e instanceof StateUnavailableError);
      await server.restart();
      await connection(fleet, true);
      await fleet.ping();
      await fleet.set('weight', 'orders', 5);
      assert.equal(await fleet.get('weight', 'orders'), 5);
    } finally {
      await fleet.close();
      await server.close();
    }
  });
});
