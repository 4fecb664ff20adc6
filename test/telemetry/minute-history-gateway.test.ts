// The minute history of a real gateway: requests through real upstreams,
// then stop, and the rows in the SQLite state file say what the upstreams did.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { LocalFleet } from '../../src/state/index.ts';
import { readRouteHistory } from '../../src/telemetry/index.ts';
import { startGateway, type TestGateway, tempDir } from '../helpers/gateway.ts';
import { BEHAVIOR_HEADER, startUpstream, type Upstream } from '../helpers/upstream.ts';

describe('minute history of a running gateway', () => {
  let legacy: Upstream;
  let candidate: Upstream;
  let gw: TestGateway;
  const dir = tempDir();
  before(async () => {
    legacy = await startUpstream({ name: 'legacy' });
    candidate = await startUpstream({ name: 'candidate' });
    gw = await startGateway(
      `listen: 127.0.0.1:0
admin: { listen: 127.0.0.1:0 }
state: sqlite:${join(dir, 'state.db')}
report: { retention: 2d }
backends:
  legacy: { url: ${legacy.url} }
  rewrite: { url: ${candidate.url} }
routes:
  - name: main
    match: { path: /main/* }
    legacy: legacy
    candidate: rewrite
    split: { stickyKey: header:x-user-id, override: header:x-release-stage }
    fallback: false
    weight: 0
  - name: other
    match: { path: /other/* }
    legacy: legacy
`,
      { dir },
    );
  });
  after(async () => {
    await gw?.close();
    await legacy?.close();
    await candidate?.close();
  });

  it('has every route’s requests by side and status class in the store once stopped', async () => {
    const from = Date.now();
    const get = async (path: string, headers: Record<string, string> = {}) => {
      const res = await fetch(`${gw.url}${path}`, { headers });
      await res.arrayBuffer();
      return res.status;
    };
    for (let i = 0; i < 10; i++) assert.equal(await get('/main/a'), 200);
    for (let i = 0; i < 6; i++)
      assert.equal(await get('/main/b', { 'x-release-stage': 'canary' }), 200);
    for (let i = 0; i < 4; i++) {
      const status = await get('/main/c', {
        'x-release-stage': 'canary',
        [BEHAVIOR_HEADER]: 'status:503',
      });
      assert.equal(status, 503);
    }
    for (let i = 0; i < 3; i++) assert.equal(await get('/other/x'), 200);
    await gw.close();

    const store = new LocalFleet(join(dir, 'state.db'));
    try {
      const routes = await readRouteHistory(store, { from: from - 60_000, until: Date.now() });
      const sum = (route: string, side: 'legacy' | 'candidate') => {
        const total = [0, 0, 0, 0, 0];
        const r = routes.find((x) => x.route === route);
        for (const m of r?.minutes ?? []) {
          const slot = m[side];
          for (let c = 0; c < 5; c++) total[c] += slot?.byClass[c] ?? 0;
        }
        return total;
      };
      assert.deepEqual(
        routes.map((r) => r.route),
        ['main', 'other'],
      );
      assert.deepEqual(sum('main', 'legacy'), [0, 10, 0, 0, 0]);
      assert.deepEqual(sum('main', 'candidate'), [0, 6, 0, 0, 4]);
      assert.deepEqual(sum('other', 'legacy'), [0, 3, 0, 0, 0]);
      for (const r of routes) for (const m of r.minutes) assert.equal(m.instances, 1);
    } finally {
      await store.close();
    }
  });
});
