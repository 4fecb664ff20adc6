// `cutover report` end to end: a real gateway between a legacy upstream that
// answers in ~40 ms and a rewrite that answers in ~10 ms, a rollout driven
// from shadow through its steps to done under a steady load, a second route
// whose candidate fails a known share of requests; then the gateway stops
// (its last minute is written), and the report read from the state file must
// say what the upstreams did.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Agent, request } from 'undici';
import { cli } from '../helpers/cli.ts';
import { startGateway, tempDir } from '../helpers/gateway.ts';
import { BEHAVIOR_HEADER, startUpstream, type Upstream } from '../helpers/upstream.ts';
import { rolloutUntil, SAME_BODIES } from '../rollout/fixture.ts';
import { startLoad } from '../rollout/load.ts';

const LEGACY_MS = 40;
const REWRITE_MS = 10;
/** Of the orders requests sent to the candidate, every FAIL_EVERY-th answers 503. */
const FAIL_EVERY = 5;

function yaml(dir: string, legacy: Upstream, rewrite: Upstream): string {
  return `listen: 127.0.0.1:0
admin: { listen: 127.0.0.1:0 }
state: sqlite:${join(dir, 'state.db')}
log: { access: false }
rollouts: { checkEvery: 100ms }
backends:
  legacy: { url: ${legacy.url} }
  rewrite: { url: ${rewrite.url} }
routes:
  - name: orders
    match: { path: /orders/* }
    legacy: legacy
    candidate: rewrite
    split: { stickyKey: header:x-user-id, override: header:x-release-stage }
    fallback: false
    weight: 0
  - name: main
    match: { path: /* }
    legacy: legacy
    candidate: rewrite
${SAME_BODIES}
    rollout:
      steps: [25, 50, 100]
      shadowFor: 1s
      interval: 1s
      minRequests: 20
      window: 5s
`;
}

/** The report's JSON, as far as this test reads it (docs/report.md, "JSON"). */
interface ReportJson {
  routes: {
    route: string;
    latency: { legacy: { p99: number }; candidate: { p99: number } };
    p99DropRate: number;
    errorRate: { legacy: number; candidate: number };
    timeline: { from: string; to: string; weight: number }[];
  }[];
}

describe('cutover report on a real rollout', () => {
  let legacy: Upstream;
  let rewrite: Upstream;
  const dir = tempDir();
  before(async () => {
    legacy = await startUpstream({ name: 'svc', behavior: `slow:${LEGACY_MS}` });
    rewrite = await startUpstream({ name: 'svc', behavior: `slow:${REWRITE_MS}` });
  });
  after(async () => {
    await legacy?.close();
    await rewrite?.close();
  });

  it('says what the upstreams did: p99 drop ≈ 0.75, the candidate’s error share, the steps in order', async () => {
    const gw = await startGateway(yaml(dir, legacy, rewrite), { dir });
    const load = startLoad(gw.url, 4);
    const agent = new Agent({ connections: 2 });
    let ordersSent = 0;
    try {
      // The orders route: half to each side by the override header; of the
      // candidate's, every FAIL_EVERY-th is told to answer 503.
      for (let i = 0; i < 100; i++) {
        const canary = i % 2 === 0;
        const headers: Record<string, string> = { 'x-release-stage': canary ? 'canary' : 'stable' };
        if (canary && (i / 2) % FAIL_EVERY === 0) headers[BEHAVIOR_HEADER] = 'status:503';
        const res = await request(`${gw.url}/orders/${i}`, { headers, dispatcher: agent });
        await res.body.dump();
        ordersSent++;
      }
      await rolloutUntil(gw, 'rollout done', (s) => s.state === 'done', 60_000);
    } finally {
      await load.stop();
      await agent.close();
      await gw.close();
    }
    assert.equal(ordersSent, 100);

    const out = await cli(
      [
        'report',
        '--state',
        `sqlite:${join(dir, 'state.db')}`,
        '--since',
        '1h',
        '--instances',
        'legacy=1,candidate=1',
        '--format',
        'json',
      ],
      { timeout: 30_000 },
    );
    assert.equal(out.code, 0, out.stderr);
    const report = JSON.parse(out.stdout) as ReportJson;
    const main = report.routes.find((r) => r.route === 'main');
    const orders = report.routes.find((r) => r.route === 'orders');
    assert.ok(main && orders, out.stdout.slice(0, 2000));

    // (40 − 10) / 40 = 0.75. Tolerance ±0.1: each p99 is the top of its HDR
    // bin (≤ 0.78% high) plus the gateway's and the loop's own time (a few
    // ms on a busy 2-core machine, more on the 10 ms side, which pulls the
    // figure down), so 0.65–0.85.
    assert.ok(
      Math.abs(main.p99DropRate - 0.75) <= 0.1,
      `p99DropRate ${main.p99DropRate} (legacy p99 ${main.latency.legacy.p99} ms, candidate ${main.latency.candidate.p99} ms)`,
    );
    assert.equal(main.errorRate.legacy, 0);
    assert.equal(main.errorRate.candidate, 0);
    // 50 candidate requests, 10 of them 503; 50 legacy, none.
    assert.equal(orders.errorRate.legacy, 0);
    assert.equal(orders.errorRate.candidate, 1 / FAIL_EVERY);
    assert.deepEqual(
      main.timeline.map((e) => `${e.from}→${e.to}@${e.weight}`),
      [
        'off→shadow@0',
        'shadow→canary@25',
        'canary→canary@50',
        'canary→canary@100',
        'canary→done@100',
      ],
    );
  });
});
