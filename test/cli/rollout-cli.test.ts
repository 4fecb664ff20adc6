// `cutover rollout`, `cutover status` and `cutover history`: the real CLI,
// spawned, against a real gateway between two real upstreams.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type CliResult, cli } from '../helpers/cli.ts';
import { startGateway, type TestGateway, twoBackendYaml } from '../helpers/gateway.ts';
import { startUpstream, type Upstream } from '../helpers/upstream.ts';
import { eventually } from '../helpers/wait.ts';

type Result = CliResult;

/** Exit 0, or a failure that shows what the CLI said. */
function ok(r: Result): Result {
  assert.equal(r.code, 0, `exit ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  return r;
}

/** The value of a `label   value` line of `cutover rollout`'s block. */
function field(text: string, label: string): string | undefined {
  return new RegExp(`^${label}\\s{2,}(.*)$`, 'm').exec(text)?.[1];
}

const ROLLOUT = `    rollout: { steps: [10, 50, 100], shadowFor: 0s, interval: 1h, minRequests: 10 }`;

describe('cli: rollout, status and history against a running gateway', () => {
  let legacy: Upstream;
  let rewrite: Upstream;
  let gw: TestGateway;
  let admin: string[];

  before(async () => {
    legacy = await startUpstream({ name: 'legacy' });
    rewrite = await startUpstream({ name: 'rewrite' });
    gw = await startGateway(
      twoBackendYaml(legacy.url, rewrite.url, {
        top: 'rollouts: { checkEvery: 100ms }',
        route: ROLLOUT,
      }),
    );
    admin = ['--admin', gw.adminUrl];
  });
  after(async () => {
    await gw?.close();
    await legacy?.close();
    await rewrite?.close();
  });

  test('status: the route in canary at step 1/3 (10%), with its gates and what it waits for', async () => {
    // The first check fills in what the rollout waits for (no traffic: the gates wait for data).
    let r: Result | undefined;
    await eventually('a check has run', async () => {
      r = ok(await cli(['status', ...admin]));
      return r.stdout.includes('gates waiting');
    });
    const lines = r!.stdout.trimEnd().split('\n');
    assert.match(lines[0], /^ROUTE\s+STATE\s+STEP\s+WEIGHT\s+IN STATE\s+GATES\s+WAITING FOR/);
    assert.equal(lines.length, 2, r!.stdout);
    assert.match(lines[1], /^main\s+canary\s+1\/3 \(10%\)\s+10%\s+\d+s\s+/);
    assert.match(lines[1], /errorRate waiting/);
  });

  test('status --json: the API document', async () => {
    const r = ok(await cli(['status', '--json', ...admin]));
    const { rollouts } = JSON.parse(r.stdout) as {
      rollouts: { route: string; state: string; step: number; steps: number[]; weight: number }[];
    };
    assert.equal(rollouts.length, 1);
    const { route, state, step, steps, weight } = rollouts[0];
    assert.deepEqual(
      { route, state, step, steps, weight },
      { route: 'main', state: 'canary', step: 0, steps: [10, 50, 100], weight: 10 },
    );
  });

  test('rollout pause: paused, still at 10%', async () => {
    const r = ok(await cli(['rollout', 'pause', 'main', ...admin]));
    assert.equal(field(r.stdout, 'route'), 'main');
    assert.equal(field(r.stdout, 'state'), 'paused');
    assert.equal(field(r.stdout, 'step'), '1/3 (10%)');
    assert.equal(field(r.stdout, 'weight'), '10%');
    assert.equal(field(r.stdout, 'reason'), 'paused by api');
  });

  test('rollout resume: canary again', async () => {
    const r = ok(await cli(['rollout', 'resume', 'main', ...admin]));
    assert.equal(field(r.stdout, 'state'), 'canary');
    assert.equal(field(r.stdout, 'reason'), 'resumed by api');
  });

  test('rollout resume on a running rollout: exit 1, the conflict on stderr', async () => {
    const r = await cli(['rollout', 'resume', 'main', ...admin]);
    assert.equal(r.code, 1, r.stderr);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /409/);
    assert.match(
      r.stderr,
      /cannot resume the rollout of "main": only a paused rollout can be resumed/,
    );
  });

  test('rollout promote: the next step, 50%', async () => {
    const r = ok(await cli(['rollout', 'promote', 'main', '--json', ...admin]));
    const s = JSON.parse(r.stdout) as { state: string; step: number; weight: number };
    assert.deepEqual([s.state, s.step, s.weight], ['canary', 1, 50]);
  });

  test('rollout promote --full: done at 100%', async () => {
    const r = ok(await cli(['rollout', 'promote', 'main', '--full', ...admin]));
    assert.equal(field(r.stdout, 'state'), 'done');
    assert.equal(field(r.stdout, 'step'), '-');
    assert.equal(field(r.stdout, 'weight'), '100%');
  });

  test('rollout rollback: rolled-back at 0%', async () => {
    const r = ok(await cli(['rollout', 'rollback', 'main', ...admin]));
    assert.equal(field(r.stdout, 'state'), 'rolled-back');
    assert.equal(field(r.stdout, 'weight'), '0%');
    assert.equal(field(r.stdout, 'reason'), 'rolled back by api');
  });

  test('rollout reset: off, the config weight back', async () => {
    const r = ok(await cli(['rollout', 'reset', 'main', '--json', ...admin]));
    const s = JSON.parse(r.stdout) as { state: string; weight: number; reason: string };
    assert.deepEqual([s.state, s.weight, s.reason], ['off', 0, 'reset by api']);
  });

  test('history: every move in order, who made it and the weights', async () => {
    const r = ok(await cli(['history', 'main', ...admin]));
    const lines = r.stdout.trimEnd().split('\n');
    assert.match(lines[0], /^TIME\s+BY\s+FROM→TO\s+WEIGHT\s+REASON$/);
    const moves = lines
      .slice(1)
      .map((l) => /^(\S+)\s+(\S+)\s+(\S+)\s+(\S+)\s+/.exec(l))
      .map((m) => {
        assert.ok(m, `a history row: ${lines.join('\n')}`);
        assert.match(m[1], /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
        return { by: m[2], move: m[3], weight: m[4] };
      });
    assert.deepEqual(
      moves.filter((m) => m.move !== 'gates'),
      [
        { by: 'config', move: 'off→canary', weight: '0%→10%' },
        { by: 'api', move: 'canary→paused', weight: '10%' },
        { by: 'api', move: 'paused→canary', weight: '10%' },
        { by: 'api', move: 'canary→canary', weight: '10%→50%' },
        { by: 'api', move: 'canary→done', weight: '50%→100%' },
        { by: 'api', move: 'done→rolled-back', weight: '100%→0%' },
        { by: 'api', move: 'rolled-back→off', weight: '0%' },
      ],
    );
    // The controller's checks show as `gates`, by the controller.
    const gates = moves.filter((m) => m.move === 'gates');
    assert.ok(gates.length > 0, r.stdout);
    assert.ok(gates.every((m) => m.by === 'controller'));
  });

  test('history --json and --limit: the newest entries, oldest first', async () => {
    const r = ok(await cli(['history', 'main', '--json', '--limit', '2', ...admin]));
    const { route, history } = JSON.parse(r.stdout) as {
      route: string;
      history: { kind: string; from: string; to: string }[];
    };
    assert.equal(route, 'main');
    assert.deepEqual(
      history.map((e) => `${e.from}→${e.to}`),
      ['done→rolled-back', 'rolled-back→off'],
    );
  });

  test('an unknown route: exit 1 naming it', async () => {
    const r = await cli(['rollout', 'pause', 'nope', ...admin]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /404.*route "nope"/);
  });
});

describe('cli: rollout usage', () => {
  test('an unknown action: exit 2 listing the actions', async () => {
    const r = await cli(['rollout', 'jump', 'main', '--admin', 'http://127.0.0.1:9']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /'jump'.*start, pause, resume, promote, rollback, reset/);
  });

  test('--full with an action other than promote: exit 2', async () => {
    const r = await cli(['rollout', 'pause', 'main', '--full', '--admin', 'http://127.0.0.1:9']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--full goes with promote only/);
  });

  test('history --limit that is not a whole number above 0: exit 2', async () => {
    const r = await cli(['history', 'main', '--limit', '0', '--admin', 'http://127.0.0.1:9']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--limit must be a whole number above 0/);
  });
});

describe('cli: status without rollouts', () => {
  test('lists the routes as manual and says how to add a rollout', async () => {
    const legacy = await startUpstream({ name: 'legacy' });
    const rewrite = await startUpstream({ name: 'rewrite' });
    const gw = await startGateway(twoBackendYaml(legacy.url, rewrite.url));
    try {
      const r = ok(await cli(['status', '--admin', gw.adminUrl]));
      assert.match(r.stdout, /^main\s+manual\s+-\s+0%\s+-\s+-\s+no rollout: weight set by hand$/m);
      assert.match(r.stdout, /^no rollouts: add a `rollout:` block to a route/m);
    } finally {
      await gw.close();
      await legacy.close();
      await rewrite.close();
    }
  });
});
