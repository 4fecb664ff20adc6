// Issue 9: 400 shadowed pairs of 1 MiB answers reached 707–745 MiB RSS; the
// per-pair limit and the in-flight count did not bound the sum. Here 400
// clients ask at once over raw sockets while the candidate holds its answers:
// every byte the copies keep must stay within server.shadowMemory, the copies
// that do not fit are counted as skipped_memory, and every client still gets
// legacy's 1 MiB answer intact.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { request } from 'undici';
import { startGateway, type TestGateway } from '../helpers/gateway.ts';
import { metricValue, scrapeMetrics } from '../helpers/metrics.ts';
import { parseResponse, rawExchange } from '../helpers/raw-exchange.ts';
import { eventually, waitFor } from '../helpers/wait.ts';

const MiB = 1024 * 1024;
const CLIENTS = 400;
const BUDGET = 16 * MiB;
const WRITE_CHUNK = 64 * 1024;

/** The same 1 MiB from both sides: byte i is i × 7 mod 251 (no period of a chunk's length). */
const ANSWER = Buffer.alloc(MiB);
for (let i = 0; i < MiB; i++) ANSWER[i] = (i * 7) % 251;
const ANSWER_SHA = createHash('sha256').update(ANSWER).digest('hex');

function drainedOrClosed(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}

/** An upstream that answers ANSWER in 64 KiB writes, respecting backpressure, once `gate` resolves. */
async function bigUpstream(gate: Promise<void>): Promise<{ server: Server; port: number }> {
  const server = createServer((req, res) => {
    req.resume();
    void gate.then(async () => {
      res.writeHead(200, {
        'content-type': 'application/octet-stream',
        'content-length': String(ANSWER.length),
      });
      for (let at = 0; at < ANSWER.length && !res.destroyed; at += WRITE_CHUNK) {
        if (!res.write(ANSWER.subarray(at, at + WRITE_CHUNK))) await drainedOrClosed(res);
      }
      res.end();
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { server, port: (server.address() as AddressInfo).port };
}

async function stop(server: Server): Promise<void> {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

function gatewayYaml(legacy: number, candidate: number, budget: number, samples = 20): string {
  return `listen: 127.0.0.1:0
admin: { listen: 127.0.0.1:0 }
state: memory
server: { shadowMemory: ${budget} }
backends:
  legacy: { url: http://127.0.0.1:${legacy}, connections: 512 }
  rewrite: { url: http://127.0.0.1:${candidate}, connections: 512 }
routes:
  - name: main
    match: { path: /* }
    legacy: legacy
    candidate: rewrite
    weight: 0
    timeout: 60s
    shadow: { percent: 100, maxInFlight: 1000, samples: ${samples} }
`;
}

async function memoryFigures(gw: TestGateway) {
  const text = await scrapeMetrics(gw);
  return {
    held: metricValue(text, 'cutover_shadow_buffered_bytes'),
    peak: metricValue(text, 'cutover_shadow_buffered_bytes_max'),
    limit: metricValue(text, 'cutover_shadow_memory_limit_bytes'),
  };
}

async function diffs(gw: TestGateway): Promise<Diffs> {
  const res = await request(`${gw.adminUrl}/api/routes/main/diffs`);
  return (await res.body.json()) as Diffs;
}

function get(path: string): string {
  return `GET ${path} HTTP/1.1\r\nHost: shop.test\r\nConnection: close\r\n\r\n`;
}

interface Diffs {
  summary: { compared: number; skipped: Record<string, number> };
}

test('400 shadowed pairs of 1 MiB stay within server.shadowMemory; the rest is skipped_memory', async (t) => {
  let openCandidate = () => {};
  const candidateGate = new Promise<void>((resolve) => {
    openCandidate = resolve;
  });
  const legacy = await bigUpstream(Promise.resolve());
  const candidate = await bigUpstream(candidateGate);
  t.after(() => stop(legacy.server));
  t.after(() => stop(candidate.server));
  const gw = await startGateway(gatewayYaml(legacy.port, candidate.port, BUDGET));
  t.after(() => gw.close());
  const metrics = () => memoryFigures(gw);
  assert.equal((await metrics()).limit, BUDGET);

  // Sample the gauge for as long as the clients run.
  let running = true;
  const held: number[] = [];
  const sampler = (async () => {
    while (running) held.push((await metrics()).held);
  })();

  const answers = await Promise.all(
    Array.from({ length: CLIENTS }, (_, i) => rawExchange(gw.url, get(`/big/${i}`))),
  );
  running = false;
  await sampler;

  for (const [i, raw] of answers.entries()) {
    const res = parseResponse(raw);
    assert.equal(res.status, 200, `client ${i}`);
    assert.equal(res.headers['x-cutover-backend'], 'legacy', `client ${i}`);
    assert.equal(res.body.length, MiB, `client ${i}`);
    assert.equal(createHash('sha256').update(res.body).digest('hex'), ANSWER_SHA, `client ${i}`);
  }
  assert.ok(held.length > 0);
  assert.ok(
    held.every((h) => h <= BUDGET),
    `shadow bytes held went over the budget: ${Math.max(...held)} > ${BUDGET}`,
  );

  // 400 legacy answers (400 MiB) went by while the candidate held its own:
  // at most BUDGET of them could be kept, the others had to be let go.
  openCandidate();
  let last: Diffs | undefined;
  await eventually(
    'every copy compared or skipped',
    async () => {
      last = await diffs(gw);
      const s = last.summary;
      return s.compared + Object.values(s.skipped).reduce((a, b) => a + b, 0) === CLIENTS;
    },
    60_000,
  );
  const summary = last!.summary;
  t.diagnostic(`compared ${summary.compared}, skipped ${JSON.stringify(summary.skipped)}`);
  assert.ok(summary.skipped.memory > 0, 'copies over the budget are counted as skipped_memory');
  assert.equal(summary.compared + summary.skipped.memory, CLIENTS, JSON.stringify(summary));
  const text = await scrapeMetrics(gw);
  assert.equal(
    metricValue(text, 'cutover_shadow_total', { route: 'main', result: 'skipped_memory' }),
    summary.skipped.memory,
  );
  await eventually('every reserved byte given back', async () => (await metrics()).held === 0);
  const after = await metrics();
  assert.ok(after.peak > 0 && after.peak <= BUDGET, `peak ${after.peak} within ${BUDGET}`);
  t.diagnostic(`peak ${after.peak} bytes held; gauge sampled ${held.length} times`);

  // The budget is whole again: the next pair is compared (and matches).
  const one = parseResponse(
    await rawExchange(
      gw.url,
      'GET /big/last HTTP/1.1\r\nHost: shop.test\r\nConnection: close\r\n\r\n',
    ),
  );
  assert.equal(one.status, 200);
  await eventually(
    'the next pair compared',
    async () => (await diffs(gw)).summary.compared === summary.compared + 1,
  );
});

test("the budget is the process's: bytes reserved before a reload are given back after it", async (t) => {
  let openCandidate = () => {};
  const candidateGate = new Promise<void>((resolve) => {
    openCandidate = resolve;
  });
  const legacy = await bigUpstream(Promise.resolve());
  const candidate = await bigUpstream(candidateGate);
  t.after(() => stop(legacy.server));
  t.after(() => stop(candidate.server));
  const gw = await startGateway(gatewayYaml(legacy.port, candidate.port, 32 * MiB));
  t.after(() => gw.close());

  // Four legacy answers kept, waiting for the candidate's.
  const answers = await Promise.all(
    Array.from({ length: 4 }, (_, i) => rawExchange(gw.url, get(`/before/${i}`))),
  );
  for (const raw of answers) assert.equal(parseResponse(raw).body.length, MiB);
  await eventually(
    'four legacy answers held',
    async () => (await memoryFigures(gw)).held === 4 * MiB,
  );

  // New shadow settings (a new RouteShadow) and a smaller budget, still enough for the
  // four pairs: 4 × 2 MiB of answers, and 4 × 2 MiB of copies for the compare worker.
  writeFileSync(gw.file, gatewayYaml(legacy.port, candidate.port, 16 * MiB, 5));
  assert.equal(await gw.running.reload(), true);
  const reloaded = await memoryFigures(gw);
  assert.equal(reloaded.limit, 16 * MiB);
  assert.equal(reloaded.held, 4 * MiB, 'a reload keeps what is reserved');

  openCandidate();
  const { summary } = await waitFor(
    'the four pairs compared or skipped',
    10_000,
    () => diffs(gw),
    (d) => d.summary.compared + Object.values(d.summary.skipped).reduce((a, b) => a + b, 0) === 4,
  );
  assert.equal(summary.compared, 4, JSON.stringify(summary));
  await eventually('every byte given back', async () => (await memoryFigures(gw)).held === 0);
});
