// The fleet contract through a real Sentinel: the fleet asks the Sentinel
// where the master named in the URL is, then talks to it.
import { after, before } from 'node:test';
import { RedisFleet } from '../../src/state/index.ts';
import { PATIENT, startRedis, type TestRedis } from '../helpers/redis-server.ts';
import { fleetContract } from './fleet-contract.ts';

let master: TestRedis;
let sentinel: TestRedis;
before(async () => {
  master = await startRedis();
  sentinel = await startRedis({ sentinelFor: { port: master.port, name: 'cutover-test' } });
});
after(async () => {
  await sentinel?.close();
  await master?.close();
});

fleetContract('redis sentinel', async () => {
  const url = `redis+sentinel://127.0.0.1:${sentinel.port}/cutover-test/0`;
  const a = new RedisFleet({ url, prefix: 'contract', ...PATIENT });
  const b = new RedisFleet({ url, prefix: 'contract', ...PATIENT });
  return {
    a,
    b,
    async close() {
      await a.close();
      await b.close();
    },
  };
});
