// The rollout target adapter over a real running gateway (two real upstreams):
// what the controller reads of a route and the writes it makes.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { request } from 'undici';
import { rolloutTarget } from '../../src/cli/rollout-target.ts';
import type { RolloutTarget } from '../../src/rollout/index.ts';
import { startGateway, type TestGateway, twoBackendYaml } from '../helpers/gateway.ts';
import { startUpstream, type Upstream } from '../helpers/upstream.ts';

/** `main` (legacy and candidate, weight 20) and `plain`, a route without a candidate. */
const PLAIN = `  - name: plain
    match: { path: /plain/* }
    legacy: legacy`;

describe('rollout target adapter', () => {
  let legacy: Upstream;
  let rewrite: Upstream;
  let gw: TestGateway;
  let target: RolloutTarget;
  before(async () => {
    legacy = await startUpstream({ name: 'legacy' });
    rewrite = await startUpstream({ name: 'rewrite' });
    gw = await startGateway(twoBackendYaml(legacy.url, rewrite.url, { weight: 20, route: PLAIN }));
    target = rolloutTarget(gw.running.gateway);
  });
  after(async () => {
    await gw?.close();
    await legacy?.close();
    await rewrite?.close();
  });

  const send = async (n: number) => {
    for (let i = 0; i < n; i++) {
      const res = await request(`${gw.url}/x`, { headers: { 'x-user-id': `u${i}` } });
      await res.body.dump();
    }
  };

  test('config is the running config, reloads included', () => {
    assert.equal(target.config(), gw.running.gateway.config);
    assert.deepEqual(
      target.config().routes.map((r) => r.name),
      ['main', 'plain'],
    );
  });

  test('figures: both sides windows, the candidate count; none without a candidate', async () => {
    assert.equal(target.figures('plain', 5_000), undefined);
    assert.equal(target.figures('nope', 5_000), undefined);
    const before = target.figures('main', 5_000);
    assert.ok(before);
    await send(40);
    const now = target.figures('main', 5_000);
    assert.ok(now);
    const legacySide = now.legacy.snapshot(0);
    const candidateSide = now.candidate.snapshot(0);
    assert.equal(legacySide.requests + candidateSide.requests, 40);
    assert.ok(candidateSide.requests > 0 && legacySide.requests > 0, 'weight 20 splits the users');
    assert.equal(now.candidateCount - before.candidateCount, candidateSide.requests);
    assert.equal(now.candidateBreakerOpen, false);
  });

  test('dropWindows: the windows stop recording', async () => {
    const kept = target.figures('main', 5_000);
    assert.ok(kept);
    target.dropWindows('main');
    const seen = kept.legacy.snapshot(0).requests + kept.candidate.snapshot(0).requests;
    await send(10);
    assert.equal(kept.legacy.snapshot(0).requests + kept.candidate.snapshot(0).requests, seen);
  });

  test("applyWeight sets the route weight that weight() reads; fileWeight is the file's", async () => {
    assert.equal(target.weight('main'), 20);
    assert.equal(target.weight('nope'), undefined);
    target.applyWeight('main', 55);
    assert.equal(target.weight('main'), 55);
    assert.equal(gw.running.gateway.routeWeight('main'), 55);
    assert.equal(target.fileWeight('main'), 20);
    target.applyWeight('main', undefined);
    assert.equal(target.weight('main'), 20, 'the file weight');
  });

  test('onCandidateTrip: only a candidate breaker that opens, until unsubscribed', async () => {
    const trips: string[] = [];
    const unsubscribe = target.onCandidateTrip?.((route) => trips.push(route));
    assert.ok(unsubscribe);
    // Breaker listeners are called as the breaker opens, within forceBreaker.
    await gw.running.gateway.forceBreaker('legacy', 'open');
    assert.deepEqual(trips, [], 'a legacy breaker is no trip');
    await gw.running.gateway.forceBreaker('rewrite', 'open');
    assert.deepEqual(trips, ['main']);
    await gw.running.gateway.forceBreaker('rewrite', undefined);
    unsubscribe();
    await gw.running.gateway.forceBreaker('rewrite', 'open');
    assert.deepEqual(trips, ['main'], 'not called after unsubscribing');
    await gw.running.gateway.forceBreaker('rewrite', undefined);
    await gw.running.gateway.forceBreaker('legacy', undefined);
  });
});
