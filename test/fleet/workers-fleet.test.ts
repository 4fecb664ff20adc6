// The Local fleet with `server.workers: 2`: one `cutover start`, two worker
// instances sharing one SQLite file. Each worker answers on its own admin
// port (admin.workerListen), so the test can ask a given worker.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type Instance, startInstance, writeConfig } from '../helpers/fleet.ts';
import { tempDir } from '../helpers/gateway.ts';
import { freePortPair } from '../helpers/ports.ts';
import { startUpstream, type Upstream } from '../helpers/upstream.ts';
import { waitFor } from '../helpers/wait.ts';
import { startLoad } from '../rollout/load.ts';
import { json } from './suite.ts';

interface Listed {
  id: string;
  pid: number;
  leader: boolean;
  admin: string;
}

describe('a fleet of two workers on one SQLite file (server.workers: 2)', () => {
  let legacy: Upstream;
  let rewrite: Upstream;
  let primary: Instance;
  let base: number;
  const workerAdmin = (n: number) => `http://127.0.0.1:${base + n}`;
  const weightOn = async (url: string) =>
    (await json<{ routes: { name: string; weight: number }[] }>(`${url}/api/routes`)).body.routes[0]
      ?.weight;
  const listed = async () => (await json<Listed[]>(`${workerAdmin(0)}/api/instances`)).body;

  before(async () => {
    legacy = await startUpstream({ name: 'svc' });
    rewrite = await startUpstream({ name: 'svc' });
    base = await freePortPair();
    const dir = tempDir();
    const config = writeConfig(
      join(dir, 'cutover.yaml'),
      `listen: 127.0.0.1:0
admin: { listen: 127.0.0.1:0, workerListen: 127.0.0.1:${base} }
state: sqlite:${join(dir, 'state.db')}
server: { workers: 2 }
log: { access: false }
backends:
  legacy: { url: ${legacy.url} }
  rewrite: { url: ${rewrite.url} }
routes:
  - name: main
    match: { path: /* }
    legacy: legacy
    candidate: rewrite
`,
    );
    primary = await startInstance(config);
  });
  after(async () => {
    await primary.stop();
    await legacy.close();
    await rewrite.close();
  });

  it('registers both workers, one of them the leader, each with its own admin address', async () => {
    const list = await waitFor(
      'two workers listed',
      10_000,
      listed,
      (l) => l.length === 2 && l.filter((i) => i.leader).length === 1,
    );
    assert.notEqual(list[0].pid, list[1].pid);
    assert.deepEqual(list.map((i) => i.admin).sort(), [workerAdmin(0), workerAdmin(1)]);
  });

  it('a weight set through one worker is in force on the other', async () => {
    const set = await json(`${workerAdmin(0)}/api/routes/main/weight`, {
      method: 'PUT',
      body: { weight: 40 },
    });
    assert.equal(set.status, 200);
    await waitFor(
      'the weight on worker 1',
      5_000,
      () => weightOn(workerAdmin(1)),
      (w) => w === 40,
    );
  });

  it('the leading worker killed: the primary restarts it, a live worker leads, requests go on being served', async () => {
    const before = await listed();
    const leader = before.find((i) => i.leader) as Listed;
    const other = before.find((i) => !i.leader) as Listed;
    const load = startLoad(primary.url, 2);
    try {
      process.kill(leader.pid, 'SIGKILL');
      await primary.waitLine(
        'the restart',
        (l) => l.previousPid === leader.pid && typeof l.workerPid === 'number',
      );
      const after = await waitFor(
        'a live worker leads, and the restarted one is listed',
        20_000,
        async () => (await json<Listed[]>(`${other.admin}/api/instances`)).body,
        // Once the dead leader's lease runs out, whichever worker asks first
        // takes it: the other one or the restarted one.
        (l) =>
          l.length === 2 &&
          l.some((i) => i.id === other.id) &&
          l.some((i) => i.leader) &&
          !l.some((i) => i.pid === leader.pid),
      );
      assert.equal(after.filter((i) => i.leader).length, 1);
      // The restarted worker starts with the fleet's weight, not the file's.
      const restarted = after.find((i) => i.id !== other.id) as Listed;
      assert.equal(await weightOn(restarted.admin), 40);
    } finally {
      await load.stop();
    }
    // Connections the killed worker held may fail; a new worker serves the rest.
    assert.ok((load.statuses.get(200) ?? 0) > 0);
  });
});
