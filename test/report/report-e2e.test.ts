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

type Figure = { value: number } | { value: null; na: string };
interface Side {
  requests: number;
  errors: number;
  errorRate: Figure;
  p99: Figure;
}

/** The report's JSON (a MigrationReport, docs/report.md), as far as this test reads it. */
interface ReportJson {
  routes: {
    route: string;
    requests: { legacy: number; candidate: number };
    sameWindows: { legacy: Side; candidate: Side; p99DropRate: Figure };
  }[];
  timeline: { route: string; event: string; from: string; to: string; weight: number }[];
}

const numberOf = (f: Figure): number => {
  assert.notEqual(f.value, null, JSON.stringify(f));
  return f.value as number;
};

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

  it('says what the upstreams did: p99 drop ≈ 0.75, the candidate’s error share, the steps in order', async (t) => {
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

    // (40 − 10) / 40 = 0.75. The tolerance is one-sided but for the bins:
    // - a p99 is the top of its HDR bin, at most 0.78% above the exact value,
    //   on both sides: at most ≈ +0.01 on the figure;
    // - the gateway's, the upstreams' timers' and the load loop's own time
    //   adds d ms to both sides ((40 + d − 10 − d′) / (40 + d)): it can only
    //   pull the figure down. Measured here: d ≈ 9 ms, d′ ≈ 5 ms, 0.69–0.70;
    //   0.60 leaves room for a busy 2-core machine (d′ up to ≈ 15 ms).
    const drop = numberOf(main.sameWindows.p99DropRate);
    const legacyP99 = numberOf(main.sameWindows.legacy.p99);
    const candidateP99 = numberOf(main.sameWindows.candidate.p99);
    t.diagnostic(`p99 legacy ${legacyP99} ms, candidate ${candidateP99} ms, drop ${drop}`);
    assert.ok(
      drop >= 0.6 && drop <= 0.76,
      `p99DropRate ${drop} (legacy p99 ${legacyP99} ms, candidate ${candidateP99} ms)`,
    );
    assert.ok(legacyP99 >= LEGACY_MS, `legacy p99 ${legacyP99} ms`);
    assert.ok(candidateP99 >= REWRITE_MS, `candidate p99 ${candidateP99} ms`);
    assert.equal(numberOf(main.sameWindows.legacy.errorRate), 0);
    assert.equal(numberOf(main.sameWindows.candidate.errorRate), 0);
    // orders: 50 requests to each side; 10 of the candidate's answered 503.
    assert.deepEqual(orders.requests, { legacy: 50, candidate: 50 });
    assert.equal(orders.sameWindows.candidate.errors, 10);
    assert.equal(numberOf(orders.sameWindows.candidate.errorRate), 1 / FAIL_EVERY);
    assert.equal(numberOf(orders.sameWindows.legacy.errorRate), 0);
    assert.deepEqual(
      report.timeline
        .filter((e) => e.route === 'main')
        .map((e) => `${e.event} ${e.from}→${e.to}@${e.weight}`),
      [
        'shadow off→shadow@0',
        'step shadow→canary@25',
        'step canary→canary@50',
        'step canary→canary@100',
        'promote canary→done@100',
      ],
    );
  });
});
