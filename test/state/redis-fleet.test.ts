// The Redis fleet: the shared contract against a real redis-server (started
// here on a free port), then what only Redis has — prefixes, a Redis that is
// killed, restarted, hung or emptied.
import { after, before } from 'node:test';
import { RedisFleet } from '../../src/state/index.ts';
import { startRedis, type TestRedis } from '../helpers/redis-server.ts';
import { fleetContract } from './fleet-contract.ts';

let redis: TestRedis;
before(async () => {
  redis = await startRedis();
});
after(() => redis?.close());

fleetContract('redis', async () => {
  const a = new RedisFleet({ url: redis.url, prefix: 'contract' });
  const b = new RedisFleet({ url: `${redis.url}/0`, prefix: 'contract' });
  return {
    a,
    b,
    async close() {
      await a.close();
      await b.close();
    },
  };
});
