// The fleet suite on Redis: three processes on one real redis-server that
// the test owns (so other tests can kill it; see redis-outage.test.ts).
import { after, before } from 'node:test';
import { startRedis, type TestRedis } from '../helpers/redis-server.ts';
import { fleetSuite } from './suite.ts';

let redis: TestRedis;
before(async () => {
  redis = await startRedis({ persist: true });
});
after(() => redis.close());

fleetSuite('Redis', { state: () => `${redis.url}/0` });
