// The fleet contract against a real Redis Cluster of three masters: every
// script must keep to the keys of one slot (a Cluster refuses a script that
// reaches another node's keys), which the `{prefix}` hash tag guarantees.
import { after, before } from 'node:test';
import { RedisFleet } from '../../src/state/index.ts';
import { PATIENT, startRedisCluster, type TestRedisCluster } from '../helpers/redis-server.ts';
import { fleetContract } from './fleet-contract.ts';

let cluster: TestRedisCluster;
before(async () => {
  cluster = await startRedisCluster(3);
});
after(() => cluster?.close());

fleetContract('redis cluster', async () => {
  const a = new RedisFleet({ url: cluster.url, prefix: 'contract', ...PATIENT });
  const b = new RedisFleet({ url: cluster.url, prefix: 'contract', ...PATIENT });
  return {
    a,
    b,
    async close() {
      await a.close();
      await b.close();
    },
  };
});
