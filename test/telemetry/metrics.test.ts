// Per-route series that cost nothing until used (issue 10, memory per route):
// guard and tunnel series bound on first use, the breaker state gauge read from
// the live breakers at scrape time, side counts made by the first request.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { classifyOutcome, Metrics } from '../../src/telemetry/index.ts';
import { metricValue, parseMetrics } from '../helpers/metrics.ts';

const seriesOf = async (m: Metrics, name: string) =>
  parseMetrics(await m.render()).filter((s) => s.name === name);

test('guard and tunnel series of a route appear only once it counts, then count from 1', async () => {
  const m = new Metrics();
  const guards = Array.from({ length: 1000 }, (_, i) => m.forRouteGuards(`r${i}`));
  const tunnels = Array.from({ length: 1000 }, (_, i) => m.forRouteTunnels(`r${i}`));
  for (const name of [
    'cutover_rate_limited_total',
    'cutover_shed_total',
    'cutover_retries_total',
    'cutover_tunnels_open',
    'cutover_tunnels_closed_total',
  ]) {
    assert.deepEqual(await seriesOf(m, name), [], `${name} before any use`);
  }
  guards[7].rateLimited();
  guards[7].rateLimited();
  guards[8].shed();
  guards[9].retry();
  guards[9].fallback('5xx');
  tunnels[3].opened();
  tunnels[3].opened();
  tunnels[3].closed('idle');
  const text = await m.render();
  assert.equal(metricValue(text, 'cutover_rate_limited_total', { route: 'r7' }), 2);
  assert.equal(metricValue(text, 'cutover_shed_total', { route: 'r8' }), 1);
  assert.equal(metricValue(text, 'cutover_retries_total', { route: 'r9' }), 1);
  assert.equal(metricValue(text, 'cutover_fallbacks_total', { route: 'r9', reason: '5xx' }), 1);
  assert.equal(metricValue(text, 'cutover_tunnels_open', { route: 'r3' }), 1);
  assert.equal(
    metricValue(text, 'cutover_tunnels_closed_total', { route: 'r3', reason: 'idle' }),
    1,
  );
  assert.equal((await seriesOf(m, 'cutover_rate_limited_total')).length, 1);
});

test('cutover_breaker_state shows the breakers its sources list at scrape time, and only those', async () => {
  const m = new Metrics();
  const breakers = new Map([
    ['a', { route: 'main', backend: 'legacy', breaker: { state: 'closed' } }],
    ['b', { route: 'main', backend: 'rewrite', breaker: { state: 'open' } }],
  ]);
  m.breakerSource(() => breakers.values());
  let text = await m.render();
  assert.equal(metricValue(text, 'cutover_breaker_state', { backend: 'legacy', route: 'main' }), 0);
  assert.equal(
    metricValue(text, 'cutover_breaker_state', { backend: 'rewrite', route: 'main' }),
    2,
  );
  breakers.get('a')!.breaker.state = 'half-open';
  breakers.delete('b');
  text = await m.render();
  assert.equal(metricValue(text, 'cutover_breaker_state', { backend: 'legacy', route: 'main' }), 1);
  assert.deepEqual(
    (await seriesOf(m, 'cutover_breaker_state')).map((s) => s.labels.backend),
    ['legacy'],
  );
});

test('cutover_rate_limit_mode: one series per mode for each cluster limit listed at scrape time, 1 for the mode in force', async () => {
  const m = new Metrics();
  const limits = [{ route: 'api', mode: 'shared' }];
  m.limitModeSource(() => limits);
  let text = await m.render();
  assert.equal(metricValue(text, 'cutover_rate_limit_mode', { route: 'api', mode: 'shared' }), 1);
  assert.equal(metricValue(text, 'cutover_rate_limit_mode', { route: 'api', mode: 'local' }), 0);
  limits[0] = { route: 'api', mode: 'closed' };
  text = await m.render();
  assert.equal(metricValue(text, 'cutover_rate_limit_mode', { route: 'api', mode: 'shared' }), 0);
  assert.equal(metricValue(text, 'cutover_rate_limit_mode', { route: 'api', mode: 'closed' }), 1);
  assert.deepEqual(
    (await seriesOf(m, 'cutover_rate_limit_mode')).map((s) => s.labels.mode).sort(),
    ['closed', 'local', 'open', 'shared'],
  );
  limits.length = 0;
  assert.equal((await seriesOf(m, 'cutover_rate_limit_mode')).length, 0);
});

test('request counts of a side: nothing until its first request, then by class and latency bucket', async () => {
  const m = new Metrics();
  const side = m.sideStats('main', 'legacy', 'legacy');
  assert.equal(side.classCount(1), 0);
  assert.equal(side.bucketCount(0), 0);
  assert.deepEqual(await seriesOf(m, 'cutover_requests_total'), []);
  side.observe(200, 0.0005, classifyOutcome(200, undefined, undefined, undefined));
  side.observe(503, 0.2, classifyOutcome(503, undefined, undefined, undefined));
  assert.equal(side.classCount(1), 1);
  assert.equal(side.classCount(4), 1);
  assert.equal(side.bucketCount(0), 1);
  const text = await m.render();
  assert.equal(metricValue(text, 'cutover_requests_total', { route: 'main', class: '2xx' }), 1);
  assert.equal(metricValue(text, 'cutover_requests_total', { route: 'main', class: '5xx' }), 1);
  assert.equal(
    metricValue(text, 'cutover_request_duration_seconds_bucket', { route: 'main', le: '0.25' }),
    2,
  );
  assert.equal(metricValue(text, 'cutover_request_duration_seconds_count', { route: 'main' }), 2);
});

test('the mismatch ratio is shown for the routes that shadow now; a reload that removed one drops its series', async () => {
  const m = new Metrics();
  m.forRouteShadow('kept', () => 0.25);
  m.forRouteShadow('removed', () => 0.5);
  const before = await seriesOf(m, 'cutover_shadow_mismatch_ratio');
  assert.deepEqual(
    before.map((s) => [s.labels.route, s.value]),
    [
      ['kept', 0.25],
      ['removed', 0.5],
    ],
  );
  m.keepShadowRatios(new Set(['kept']));
  const after = await seriesOf(m, 'cutover_shadow_mismatch_ratio');
  assert.deepEqual(
    after.map((s) => [s.labels.route, s.value]),
    [['kept', 0.25]],
  );
});
