// What the Report and Plan tests share (the API's and the browser's): a plan
// as `cutover plan --format json` writes it, minute history written into a
// SQLite state store by a real MinuteHistory, and a config reading both.
import { join } from 'node:path';
import { LocalFleet } from '../../src/state/index.ts';
import { MINUTE_MS, MinuteHistory } from '../../src/telemetry/index.ts';

/** A `cutover plan --format json` output, cut to what the dashboard and the report read. */
export const PLAN = {
  modules: [
    {
      name: 'orders',
      stage: 'L1',
      score: 0.12,
      traffic: 5400,
      cost: {
        days: 90,
        people: 40.5,
        compatibility: 27,
        observability: 22.5,
        inputs: { baseDays: 50, skillFactor: 1.8, teamSize: 3 },
      },
      pair: { with: 'billing', callRatio: 0.1, sharedColumns: 2, txHops: 1, score: 0.12 },
      services: ['orders'],
      entryPoints: [],
    },
    {
      name: 'billing',
      stage: 'L3',
      score: 0.71,
      traffic: 1200,
      cost: undefined,
      pair: { with: 'orders', callRatio: 0.1, sharedColumns: 2, txHops: 1, score: 0.12 },
      services: ['billing'],
      entryPoints: [],
    },
  ],
  pairs: [],
  dataStores: [],
  warnings: [],
  traces: { spans: 10, traces: 2, days: 1, from: undefined, until: undefined },
};

/** Route `orders`' minutes 20 and 10 minutes ago, as one instance wrote them. */
export async function writeHistory(file: string): Promise<void> {
  const store = new LocalFleet(file);
  const now = Date.now();
  const history = new MinuteHistory({ clock: () => now });
  for (const ago of [20, 10]) {
    const at = now - ago * MINUTE_MS;
    for (let i = 0; i < 50; i++) {
      history.side('orders', 'legacy').record(200, 40 + (i % 5), false, at);
      history.side('orders', 'candidate').record(i < 5 ? 503 : 200, 10 + (i % 3), i < 5, at);
    }
    await history.flush(true);
  }
  history.start({ sink: store, instance: 'i-1', retainMs: 86_400_000 });
  await history.stop();
  await store.close();
}

export const reportYaml = (
  legacy: string,
  rewrite: string,
  dir: string,
  plan = '',
) => `listen: 127.0.0.1:0
admin: { listen: 127.0.0.1:0, token: op-token, viewerToken: view-token }
state: sqlite:${join(dir, 'state.db')}
log: { access: false }
${plan ? `report: { plan: ${plan} }` : ''}
backends:
  legacy: { url: ${legacy} }
  rewrite: { url: ${rewrite} }
routes:
  - name: orders
    match: { path: /orders/* }
    legacy: legacy
    candidate: rewrite
    split: { stickyKey: header:x-user-id }
`;
