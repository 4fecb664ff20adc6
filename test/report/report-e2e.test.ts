// `cutover report` end to end: a real gateway between a legacy upstream that
// answers in ~40 ms and a rewrite that answers in ~10 ms, a rollout driven
// from shadow through its steps to done under a steady load, a second route
// whose candidate fails a known share of requests; then the gateway stops
// (its last minute is written), and the report read from the state file must
// say what the upstreams did.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Agent, request } from 'undici';
import { cli } from '../helpers/cli.ts';
import { startGateway, tempDir } from '../helpers/gateway.ts';
import { BEHAVIOR_HEADER } from '../helpers/upstream.ts';
import { rolloutUntil, SAME_BODIES } from '../rollout/fixture.ts';
import { startLoad } from '../rollout/load.ts';

const LEGACY_MS = 40;
const REWRITE_MS = 10;
/** Of the orders requests sent to the candidate, every FAIL_EVERY-th answers 503. */
const FAIL_EVERY = 5;
/** Requests in flight through the rollout (≈ 100 a second on legacy, ≈ 400 on the candidate). */
const LOAD_CONCURRENCY = 4;

interface Upstreams {
  readonly legacy: string;
  readonly rewrite: string;
}

/** The two timed upstreams in a child process (fixtures/timed-upstreams.ts): its timers are not the gateway's. */
async function startUpstreams(): Promise<{ urls: Upstreams; child: ChildProcess }> {
  const child = spawn(
    process.execPath,
    [new URL('./fixtures/timed-upstreams.ts', import.meta.url).pathname],
    {
      env: { ...process.env, LEGACY_MS: String(LEGACY_MS), REWRITE_MS: String(REWRITE_MS) },
      stdio: ['pipe', 'pipe', 'inherit'],
    },
  );
  const [line] = (await once(child.stdout as NodeJS.ReadableStream, 'data')) as [Buffer];
  const ports = JSON.parse(line.toString()) as { legacy: number; rewrite: number };
  return {
    child,
    urls: {
      legacy: `http://127.0.0.1:${ports.legacy}`,
      rewrite: `http://127.0.0.1:${ports.rewrite}`,
    },
  };
}

function yaml(dir: string, up: Upstreams): string {
  return `listen: 127.0.0.1:0
admin: { listen: 127.0.0.1:0 }
state: sqlite:${join(dir, 'state.db')}
log: { access: false }
rollouts: { checkEvery: 100ms }
backends:
  legacy: { url: ${up.legacy} }
  rewrite: { url: ${up.rewrite} }
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
      shadowFor: 2s
      interval: 3s
      minRequests: 40
      window: 5s
`;
}

type Figure = { value: number } | { value: null; na: string };
interface Side {
  p50: Figure;
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
    shadow: { compared: number; mismatched: number; paired: { p99DropRate: Figure } } | null;
  }[];
  timeline: { route: string; event: string; from: string; to: string; weight: number }[];
}

/** The 99th percentile (nearest rank) of what the client saw. */
function p99Of(ms: readonly number[]): number {
  assert.ok(ms.length >= 100, `only ${ms.length} answers`);
  const sorted = [...ms].sort((a, b) => a - b);
  return sorted[Math.ceil(sorted.length * 0.99) - 1];
}

const numberOf = (f: Figure): number => {
  assert.notEqual(f.value, null, JSON.stringify(f));
  return f.value as number;
};

describe('cutover report on a real rollout', () => {
  let upstreams: { urls: Upstreams; child: ChildProcess };
  const dir = tempDir();
  before(async () => {
    upstreams = await startUpstreams();
  });
  after(async () => {
    upstreams?.child.stdin?.end();
    if (upstreams && upstreams.child.exitCode === null) await once(upstreams.child, 'exit');
  });

  it('says what the upstreams did: p99 drop ≈ 0.75 less the gateway’s own time, the candidate’s error share, the steps in order', async (t) => {
    const gw = await startGateway(yaml(dir, upstreams.urls), { dir });
    const load = startLoad(gw.url, LOAD_CONCURRENCY);
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
      // More of the candidate at 100%: its p99 rests on thousands of requests,
      // so a stall of the machine (a few requests) is not the p99 by itself.
      await new Promise((r) => setTimeout(r, 3_000));
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

    // What the upstreams did: (40 − 10) / 40 = 0.75. What the gateway sees
    // adds its own time per attempt to both sides (≈ 5 ms: 0.65–0.72 over 4
    // quiet runs), and stalls of this shared 2-core machine land on either
    // side's tail (0.50 seen with the whole suite and two other jobs
    // running). So the p99s are checked against bounds that hold however
    // busy the machine: no lower than the upstream's delay, no higher than
    // what the client saw end to end on the same requests (the load runs in
    // the gateway's process and sees every stall the gateway measures), one
    // HDR bin (≤ 0.78%) allowed; the drop is (old − new) / old of those two
    // and above 0 (a stall on the legacy side can push it past 0.75: 0.81
    // seen). The medians, which stalls barely move, carry the tight check:
    // their drop within 0.55–0.76.
    const drop = numberOf(main.sameWindows.p99DropRate);
    const legacyP99 = numberOf(main.sameWindows.legacy.p99);
    const candidateP99 = numberOf(main.sameWindows.candidate.p99);
    const seen = {
      legacy: p99Of(load.latencies.legacy),
      candidate: p99Of(load.latencies.candidate),
    };
    const legacyP50 = numberOf(main.sameWindows.legacy.p50);
    const candidateP50 = numberOf(main.sameWindows.candidate.p50);
    const medianDrop = (legacyP50 - candidateP50) / legacyP50;
    t.diagnostic(
      `report p99 legacy ${legacyP99} ms, candidate ${candidateP99} ms, drop ${drop}; ` +
        `client p99 legacy ${seen.legacy.toFixed(2)} ms, candidate ${seen.candidate.toFixed(2)} ms; ` +
        `p50 legacy ${legacyP50} ms, candidate ${candidateP50} ms, drop ${medianDrop}`,
    );
    assert.ok(legacyP99 >= LEGACY_MS, `legacy p99 ${legacyP99} ms`);
    assert.ok(candidateP99 >= REWRITE_MS, `candidate p99 ${candidateP99} ms`);
    assert.ok(
      legacyP99 <= seen.legacy * 1.008,
      `legacy p99 ${legacyP99} ms, client saw ${seen.legacy}`,
    );
    assert.ok(
      candidateP99 <= seen.candidate * 1.008,
      `candidate p99 ${candidateP99} ms, client saw ${seen.candidate}`,
    );
    assert.ok(drop > 0, `p99DropRate ${drop}`);
    assert.ok(
      Math.abs(drop - (legacyP99 - candidateP99) / legacyP99) < 1e-9,
      `p99DropRate ${drop}`,
    );
    assert.ok(
      medianDrop >= 0.55 && medianDrop <= 0.76,
      `median drop ${medianDrop} (p50 legacy ${legacyP50} ms, candidate ${candidateP50} ms)`,
    );
    assert.ok(numberOf(main.sameWindows.candidate.p99) < legacyP99);
    assert.equal(numberOf(main.sameWindows.legacy.errorRate), 0);
    assert.equal(numberOf(main.sameWindows.candidate.errorRate), 0);
    // orders: 50 requests to each side; 10 of the candidate's answered 503.
    assert.deepEqual(orders.requests, { legacy: 50, candidate: 50 });
    assert.equal(orders.sameWindows.candidate.errors, 10);
    assert.equal(numberOf(orders.sameWindows.candidate.errorRate), 1 / FAIL_EVERY);
    assert.equal(numberOf(orders.sameWindows.legacy.errorRate), 0);
    // The shadow phase's pairs: the same answers, the candidate faster on the
    // same requests.
    assert.ok(main.shadow && main.shadow.compared > 0, JSON.stringify(main.shadow));
    assert.equal(main.shadow.mismatched, 0);
    const paired = numberOf(main.shadow.paired.p99DropRate);
    assert.ok(paired > 0, `paired p99 drop ${paired}`);
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
