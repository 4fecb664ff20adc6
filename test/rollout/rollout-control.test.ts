// Manual control, webhooks, restarts and reloads of a rollout, through the
// admin API of a real gateway between two real upstreams.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { request } from 'undici';
import { startGateway, type TestGateway, tempDir } from '../helpers/gateway.ts';
import { metricOf } from '../helpers/metrics.ts';
import { eventually } from '../helpers/wait.ts';
import {
  history,
  rollout,
  rolloutUntil,
  rolloutYaml,
  type Status,
  sameAnswerPair,
  transitions,
} from './fixture.ts';
import { startLoad } from './load.ts';

async function act(
  gw: TestGateway,
  action: string,
  query = '',
): Promise<{ status: number; body: Status & { code?: string; detail?: string } }> {
  const res = await request(`${gw.adminUrl}/api/routes/main/rollout/${action}${query}`, {
    method: 'POST',
  });
  return { status: res.statusCode, body: (await res.body.json()) as Status };
}

/** A step that never ends by itself (interval 1h): only manual actions move it. */
const HELD = `
  steps: [10, 50, 100]
  shadowFor: 0s
  interval: 1h
  minRequests: 10`;

interface Hook {
  readonly url: string;
  readonly bodies: Record<string, unknown>[];
  answer: number;
  close(): Promise<void>;
}

async function startHook(answer = 204): Promise<Hook> {
  const bodies: Record<string, unknown>[] = [];
  const hook = {
    url: '',
    bodies,
    answer,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
  const server: Server = createServer((req, res) => {
    let text = '';
    req.on('data', (c: Buffer) => {
      text += c;
    });
    req.on('end', () => {
      bodies.push(JSON.parse(text) as Record<string, unknown>);
      res.writeHead(hook.answer).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  hook.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return hook;
}

describe('rollout control', () => {
  const up = sameAnswerPair();

  it('pause, resume, promote, promote --full, rollback and reset through the admin API', async () => {
    const gw = await startGateway(rolloutYaml(up.legacy, up.rewrite, HELD));
    try {
      const first = await rolloutUntil(gw, 'canary 10%', (s) => s.weight === 10, 5_000);
      assert.equal(first.state, 'canary');
      assert.equal(first.step, 0);

      let r = await act(gw, 'pause');
      assert.equal(r.status, 200);
      assert.equal(r.body.state, 'paused');
      assert.equal(r.body.weight, 10);
      // A manual weight is allowed while paused...
      const put = await request(`${gw.adminUrl}/api/routes/main/weight`, {
        method: 'PUT',
        body: JSON.stringify({ weight: 12 }),
      });
      assert.equal(put.statusCode, 200);
      await put.body.dump();
      r = await act(gw, 'resume');
      assert.equal(r.body.state, 'canary');
      // ...but not while the controller drives the route.
      const refused = await request(`${gw.adminUrl}/api/routes/main/weight`, {
        method: 'PUT',
        body: JSON.stringify({ weight: 30 }),
      });
      assert.equal(refused.statusCode, 409);
      const problem = (await refused.body.json()) as { code: string; detail: string };
      assert.equal(problem.code, 'CUTOVER_ERR_ROLLOUT_CONFLICT');
      assert.match(problem.detail, /pause it before setting a weight by hand/);

      r = await act(gw, 'resume');
      assert.equal(r.status, 409);
      assert.equal(r.body.code, 'CUTOVER_ERR_ROLLOUT_CONFLICT');

      r = await act(gw, 'promote');
      assert.equal(r.body.state, 'canary');
      assert.equal(r.body.weight, 50);
      assert.equal(r.body.step, 1);
      r = await act(gw, 'promote', '?full=true');
      assert.equal(r.body.state, 'done');
      assert.equal(r.body.weight, 100);
      r = await act(gw, 'promote');
      assert.equal(r.status, 409);
      r = await act(gw, 'rollback');
      assert.equal(r.body.state, 'rolled-back');
      assert.equal(r.body.weight, 0);
      r = await act(gw, 'rollback');
      assert.equal(r.status, 409);
      r = await act(gw, 'reset');
      assert.equal(r.body.state, 'off');
      assert.equal(r.body.weight, 0, 'the config file weight (none: 0)');
      r = await act(gw, 'start');
      assert.equal(r.body.state, 'canary');
      assert.equal(r.body.weight, 10);
      r = await act(gw, 'start');
      assert.equal(r.status, 409);
      r = await act(gw, 'fly');
      assert.equal(r.status, 404);

      const moves = transitions(await history(gw)).map(
        (e) => `${e.by}:${e.from}→${e.to}@${e.weight}`,
      );
      assert.deepEqual(moves, [
        'config:off→canary@10',
        'api:canary→paused@10',
        // Resume continues from the weight found on the route (12, set by hand while paused).
        'api:paused→canary@12',
        'api:canary→canary@50',
        'api:canary→done@100',
        'api:done→rolled-back@0',
        'api:rolled-back→off@0',
        'api:off→canary@10',
      ]);
    } finally {
      await gw.close();
    }
  });

  it('posts an event on every change, and a confirm hook that says no holds the step', async () => {
    const events = await startHook(204);
    const confirm = await startHook(403);
    const gw = await startGateway(
      rolloutYaml(
        up.legacy,
        up.rewrite,
        `
        steps: [10, 100]
        shadowFor: 0s
        interval: 200ms
        minRequests: 20
        webhooks:
          - { url: "${confirm.url}/confirm", kind: confirm, timeout: 1s }`,
        { rollouts: `  webhooks: [{ url: "${events.url}/events" }]` },
      ),
    );
    const load = startLoad(gw.url, 4);
    try {
      await eventually('a refused confirm in the ledger', async () =>
        (await history(gw)).some((e) => e.kind === 'confirm'),
      );
      const held = await rollout(gw);
      assert.equal(held.weight, 10, 'no step up without the confirm hook');
      assert.match(held.waitingFor ?? '', /confirm webhook said no.*answered 403/);
      const asked = confirm.bodies[0];
      assert.equal(asked.type, 'confirm');
      assert.equal(asked.route, 'main');
      assert.equal(asked.fromWeight, 10);
      assert.equal(asked.toWeight, 100);
      assert.ok(Array.isArray(asked.gates) && asked.gates.length > 0);

      confirm.answer = 204;
      await rolloutUntil(gw, 'step 100 after the hook agrees', (s) => s.weight === 100, 10_000);
      const moved = transitions(await history(gw)).at(-1);
      assert.equal(moved?.by, 'webhook');
      await eventually('events for start and the step up', () => events.bodies.length >= 2);
      assert.deepEqual(
        events.bodies.slice(0, 2).map((e) => `${e.from}→${e.to}@${e.weight}`),
        ['off→canary@10', 'canary→canary@100'],
      );
      const e = events.bodies[1];
      assert.equal(e.type, 'rollout');
      assert.equal(e.previousWeight, 10);
      assert.equal(e.by, 'webhook');
      assert.ok((e.gates as { name: string }[]).some((g) => g.name === 'errorRate'));
    } finally {
      await load.stop();
      await gw.close();
      await events.close();
      await confirm.close();
    }
  });

  it('a failing event webhook never holds back a rollback', async () => {
    const gw = await startGateway(
      rolloutYaml(up.legacy, up.rewrite, `${HELD}\n  failureLimit: 1`, {
        rewrite: ', breaker: false',
        // A closed port: every delivery fails (and is retried in the background).
        rollouts: '  webhooks: [{ url: "http://127.0.0.1:9/hook", retries: 1 }]',
      }),
    );
    const load = startLoad(gw.url, 4);
    try {
      await rolloutUntil(gw, 'canary', (s) => s.state === 'canary', 5_000);
      up.rewrite.setBehavior('status:500');
      const s = await rolloutUntil(gw, 'rolled back', (x) => x.state === 'rolled-back', 10_000);
      assert.equal(s.weight, 0);
      await eventually('the failed delivery is logged', () =>
        gw.logs().some((l) => /not delivered/.test(String(l.msg))),
      );
    } finally {
      up.rewrite.setBehavior('ok');
      await load.stop();
      await gw.close();
    }
  });

  it('a restart in the middle of a rollout resumes at the same step and weight, with its history', async () => {
    const dir = tempDir();
    const yaml = rolloutYaml(up.legacy, up.rewrite, HELD, {
      state: `sqlite:${join(dir, 'state.db')}`,
    });
    let gw = await startGateway(yaml, { dir });
    try {
      await rolloutUntil(gw, 'canary 10%', (s) => s.weight === 10, 5_000);
      await act(gw, 'promote');
      assert.equal((await rollout(gw)).weight, 50);
    } finally {
      await gw.close();
    }
    gw = await startGateway(yaml, { dir });
    try {
      const s = await rollout(gw);
      assert.equal(s.state, 'canary');
      assert.equal(s.step, 1);
      assert.equal(s.weight, 50);
      // The live split follows it: about half the requests reach the rewrite.
      const load = startLoad(gw.url, 4);
      await eventually('requests flow', () => load.sent >= 400);
      await load.stop();
      assert.ok(
        load.fromCandidate > load.sent * 0.3 && load.fromCandidate < load.sent * 0.7,
        `${load.fromCandidate} of ${load.sent} from the candidate`,
      );
      const moves = transitions(await history(gw)).map((e) => `${e.from}→${e.to}@${e.weight}`);
      assert.deepEqual(moves, ['off→canary@10', 'canary→canary@50']);
    } finally {
      await gw.close();
    }
  });

  it('an edited rollout block continues from the current weight after a reload', async () => {
    const gw = await startGateway(rolloutYaml(up.legacy, up.rewrite, HELD));
    try {
      await rolloutUntil(gw, 'canary 10%', (s) => s.weight === 10, 5_000);
      await act(gw, 'promote');
      writeFileSync(
        gw.file,
        rolloutYaml(up.legacy, up.rewrite, HELD.replace('[10, 50, 100]', '[5, 20, 40, 60, 100]')),
      );
      assert.ok(await gw.running.reload());
      const s = await rolloutUntil(gw, 're-indexed', (x) => x.steps.length === 5, 5_000);
      assert.equal(s.weight, 50, 'the weight stays');
      assert.equal(s.step, 2, 'on the last step at or below it (40)');
      const r = await act(gw, 'promote');
      assert.equal(r.body.weight, 60);
    } finally {
      await gw.close();
    }
  });

  it('a rollout begins in shadow at weight 0 even when the file gave the route a weight', async () => {
    const gw = await startGateway(
      rolloutYaml(up.legacy, up.rewrite, HELD.replace('shadowFor: 0s', 'shadowFor: 1h'), {
        route: '    weight: 25',
      }),
    );
    const load = startLoad(gw.url, 2);
    try {
      const s = await rolloutUntil(gw, 'shadow', (x) => x.state === 'shadow', 5_000);
      assert.equal(s.weight, 0);
      await eventually('requests flow', () => load.sent >= 100);
      assert.equal(load.fromCandidate, 0, 'no client is served by the candidate in shadow');
      const start = transitions(await history(gw))[0];
      assert.equal(start.previousWeight, 25);
      assert.equal(start.weight, 0);
    } finally {
      await load.stop();
      await gw.close();
    }
  });

  it('a candidate breaker that opens rolls a canary back at once, not at the next check', async () => {
    // Checks once an hour: only the hard trip can move this rollout.
    const gw = await startGateway(rolloutYaml(up.legacy, up.rewrite, HELD, { checkEvery: '1h' }));
    try {
      assert.equal((await rollout(gw)).state, 'canary');
      const forced = await request(`${gw.adminUrl}/api/backends/rewrite/breaker`, {
        method: 'POST',
        body: JSON.stringify({ state: 'open' }),
      });
      assert.equal(forced.statusCode, 200);
      await forced.body.dump();
      const s = await rolloutUntil(gw, 'rolled back', (x) => x.state === 'rolled-back', 2_000);
      assert.equal(s.weight, 0);
      assert.equal(s.reason, 'hard trip: the candidate breaker opened');
      // The legacy breaker opening is no reason to roll back.
      await act(gw, 'reset');
      await act(gw, 'start');
      const legacyForced = await request(`${gw.adminUrl}/api/backends/legacy/breaker`, {
        method: 'POST',
        body: JSON.stringify({ state: 'open' }),
      });
      await legacyForced.body.dump();
      // A breaker's listeners run as it opens, before the POST answers: a hard trip would
      // be queued on the route by now, and settled() waits for it.
      await gw.running.rollouts.settled('main');
      assert.equal((await rollout(gw)).state, 'canary');
    } finally {
      await gw.close();
    }
  });

  it('exports the rollout on /metrics', async () => {
    const gw = await startGateway(rolloutYaml(up.legacy, up.rewrite, HELD));
    try {
      await rolloutUntil(gw, 'canary 10%', (s) => s.weight === 10, 5_000);
      assert.equal(
        await metricOf(gw, 'cutover_rollout_state', { route: 'main', state: 'canary' }),
        1,
      );
      assert.equal(
        await metricOf(gw, 'cutover_rollout_state', { route: 'main', state: 'shadow' }),
        0,
      );
      assert.equal(await metricOf(gw, 'cutover_rollout_weight', { route: 'main' }), 10);
      assert.equal(await metricOf(gw, 'cutover_rollout_step', { route: 'main' }), 1);
      assert.equal(
        await metricOf(gw, 'cutover_rollout_transitions_total', {
          route: 'main',
          from: 'off',
          to: 'canary',
        }),
        1,
      );
    } finally {
      await gw.close();
    }
  });
});
