// Issue 9: a fuzz pass of the request parser path. At least 100,000 mutated
// requests (fuzz-cases.ts), each on its own raw connection, go through a real
// gateway to a recording upstream (a plain Node http server: its strict
// parser is what a backend would make of the bytes the gateway sends). The
// clients and the backend run in a worker (fuzz-worker.ts), the gateway here. The
// cases are deterministic for a seed, printed at the start; set
// CUTOVER_FUZZ_SEED to replay a run, CUTOVER_FUZZ_CASES to change its size,
// CUTOVER_FUZZ_FIRST to start at a case, CUTOVER_FUZZ_PROGRESS=1 to watch it.
//
// Invariants: no upstream request has a smuggled path, and the upstream's
// parser never fails on what the gateway sent; every request the upstream
// got carries the x-request-id of a request the gateway logged as sent to
// it, never more often than logged; a body whose length the case knows
// arrives whole; no breaker opens (the backend never fails); no case stalls
// the gateway; no uncaught exception; the gateway answers a normal request
// afterwards with its heap not grown.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { test } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Worker } from 'node:worker_threads';
import { startGateway, twoBackendYaml } from '../helpers/gateway.ts';
import { parseResponse, rawExchange } from '../helpers/raw-exchange.ts';
import { caseOf, fuzzCase, SMUGGLED } from './fuzz-cases.ts';
import type { FuzzWorkerData, FuzzWorkerMessage } from './fuzz-worker.ts';

/** The heap in use after a full collection (gc() is reached through V8's flag, as no CLI flag is set). */
function heapAfterGc(): number {
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
  return process.memoryUsage().heapUsed;
}

const CASES = Number(process.env.CUTOVER_FUZZ_CASES ?? 100_000);
const SEED = Number(process.env.CUTOVER_FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));

// The timeout only turns a wedged gateway into a failure instead of a hang.
test(`fuzz: ${CASES} mutated requests never reach the backend in a form the gateway did not send`, {
  timeout: 300_000,
}, async (t) => {
  t.diagnostic(`seed ${SEED} (replay with CUTOVER_FUZZ_SEED=${SEED})`);
  const uncaught: unknown[] = [];
  const onUncaught = (e: unknown) => uncaught.push(e);
  process.on('uncaughtException', onUncaught);
  process.on('unhandledRejection', onUncaught);
  t.after(() => {
    process.off('uncaughtException', onUncaught);
    process.off('unhandledRejection', onUncaught);
  });

  const workerData: FuzzWorkerData = {
    seed: SEED,
    cases: CASES,
    first: Number(process.env.CUTOVER_FUZZ_FIRST ?? 0),
    parallel: 64,
    stallMs: 30_000,
    idleMs: 100,
  };
  const worker = new Worker(new URL('./fuzz-worker.ts', import.meta.url), { workerData });
  t.after(() => worker.terminate());
  const failed = once(worker, 'error').then(([e]) => {
    throw e;
  });
  const message = () =>
    Promise.race([once(worker, 'message').then(([m]) => m as FuzzWorkerMessage), failed]);
  const ready = await message();
  assert.equal(ready.kind, 'backend');
  const backendUrl = `http://127.0.0.1:${ready.port}`;
  const gw = await startGateway(
    twoBackendYaml(backendUrl, backendUrl, { route: '    timeout: 30s' }),
  );
  t.after(() => gw.close());
  const port = Number(new URL(gw.url).port);
  if (process.env.CUTOVER_FUZZ_PROGRESS) console.log(`gateway ${gw.url}, admin ${gw.adminUrl}`);
  const heapBefore = heapAfterGc();
  worker.postMessage(port);
  const done = await message();
  assert.equal(done.kind, 'done');
  const grown = heapAfterGc() - heapBefore;
  t.diagnostic(
    `${CASES} cases in ${done.seconds.toFixed(1)} s: ${Math.round(CASES / done.seconds)} cases/s`,
  );
  t.diagnostic(`clients saw statuses ${JSON.stringify(done.statuses)}`);

  // What the gateway says it sent to the backend: request id → attempts.
  const sent = new Map<string, number>();
  for (const line of gw.accessLogs()) {
    if (line.backend === undefined) continue;
    const id = String(line.reqId);
    sent.set(id, (sent.get(id) ?? 0) + ((line.attempts as number | undefined) ?? 1));
  }
  const received = new Map<string, number>();
  let bodiesChecked = 0;
  for (const s of done.seen) {
    assert.ok(
      !s.url.includes(SMUGGLED) && !s.url.startsWith('/smuggled'),
      `the backend got a smuggled request: ${s.method} ${s.url}`,
    );
    if (s.upgrade) continue;
    assert.ok(
      s.id !== undefined,
      `a request without x-request-id reached the backend: ${s.method} ${s.url}`,
    );
    received.set(s.id, (received.get(s.id) ?? 0) + 1);
    const n = caseOf(SEED, s.id);
    const expected: number | undefined = n === undefined ? undefined : done.bodyBytes[n];
    if (s.complete && expected !== undefined) {
      bodiesChecked++;
      assert.equal(s.bodyBytes, expected, `request ${s.id}: body bytes at the backend`);
    }
  }
  for (const [id, count] of received) {
    assert.ok(
      count <= (sent.get(id) ?? 0),
      `request ${id} reached the backend ${count} times, the gateway logged ${sent.get(id) ?? 0}`,
    );
  }
  const open = done.seen.filter((s) => !s.closed);
  for (const s of open.slice(0, 5)) {
    const n = s.id === undefined ? undefined : caseOf(SEED, s.id);
    const c = n === undefined ? undefined : fuzzCase(SEED, n);
    const line = `still open at the backend: ${s.method} ${s.url} ${s.bodyBytes} bytes [${c?.mutations.join(', ')}] ${JSON.stringify(c?.bytes.toString('latin1').slice(0, 300))}`;
    t.diagnostic(line);
    if (process.env.CUTOVER_FUZZ_PROGRESS) console.log(line);
  }
  if (process.env.CUTOVER_FUZZ_PROGRESS) console.log(`${open.length} still open at the backend`);
  const upgrades = done.seen.filter((s) => s.upgrade).length;
  t.diagnostic(
    `backend got ${done.seen.length} requests (${upgrades} upgrades, ${bodiesChecked} bodies of a known length checked); the gateway logged ${sent.size} as sent`,
  );
  assert.deepEqual(done.backendErrors, [], 'the backend’s parser refused what the gateway sent');
  assert.deepEqual(done.failures, []);
  // The backend never failed: a breaker that opened was opened by clients' bytes.
  const opened = gw.logs().filter((l) => typeof l.msg === 'string' && l.msg.endsWith('→ open'));
  assert.deepEqual(opened, [], 'clients opened a healthy backend’s breaker');
  assert.deepEqual(uncaught, []);

  const ok = parseResponse(
    await rawExchange(
      gw.url,
      'GET /fuzz/after HTTP/1.1\r\nHost: shop.test\r\nConnection: close\r\n\r\n',
    ),
  );
  assert.equal(ok.status, 200);
  worker.postMessage('stop');
  t.diagnostic(
    `heap grew ${Math.round(grown / 2 ** 20)} MiB over the run; rss ${Math.round(process.memoryUsage().rss / 2 ** 20)} MiB`,
  );
  assert.ok(grown < 256 * 2 ** 20, `the heap grew by ${grown} bytes over the run`);
});
