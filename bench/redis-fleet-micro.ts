// What the Redis fleet's steps cost (issue 11), against a redis-server
// started here on a free port: takeTokens (the request path, when a cluster
// limit's local share runs out), a one-key commit, the once-a-second poll
// (changesSince with nothing new) and a heartbeat, each N times sequential
// and 50 in flight. Prints wall µs per call and this process's CPU µs per
// call, best and median of ROUNDS; the server's CPU is left out.
//
//   N=5000 ROUNDS=3 node bench/redis-fleet-micro.ts
import { RedisFleet } from '../src/state/index.ts';
import { PATIENT, startRedis } from '../test/helpers/redis-server.ts';

const N = Number(process.env.N ?? 5_000);
const ROUNDS = Number(process.env.ROUNDS ?? 3);
const CONCURRENCY = 50;

type Mode = 'sequential' | 'concurrent-50';

async function drive(mode: Mode, call: (i: number) => Promise<unknown>): Promise<void> {
  if (mode === 'sequential') {
    for (let i = 0; i < N; i++) await call(i);
    return;
  }
  let next = 0;
  const worker = async () => {
    while (next < N) await call(next++);
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
}

async function measure(label: string, mode: Mode, call: (i: number) => Promise<unknown>) {
  await drive(mode, call); // warm-up
  const wall: number[] = [];
  const cpu: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const cpu0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    await drive(mode, call);
    wall.push(Number(process.hrtime.bigint() - t0) / 1000 / N);
    const c = process.cpuUsage(cpu0);
    cpu.push((c.user + c.system) / N);
  }
  const fmt = (xs: number[]) => {
    const s = [...xs].sort((a, b) => a - b);
    return `best ${s[0].toFixed(1).padStart(6)}  median ${s[Math.floor(s.length / 2)].toFixed(1).padStart(6)}`;
  };
  console.log(
    `${`${label} ${mode}`.padEnd(42)} wall µs/call ${fmt(wall)}   cpu µs/call ${fmt(cpu)}`,
  );
}

const server = await startRedis();
const fleet = new RedisFleet({ url: server.url, prefix: 'bench', ...PATIENT });
try {
  console.log(`node ${process.version}, N=${N}, ROUNDS=${ROUNDS}, redis at ${server.url}`);
  const info = { id: 'i-1', host: 'bench', pid: process.pid, version: '0', startedAt: '' };
  for (const mode of ['sequential', 'concurrent-50'] as const) {
    await measure('takeTokens', mode, (i) => fleet.takeTokens(`k${i % 10}`, 1e6, 1e6, 100));
    await measure('commit (one set)', mode, (i) => fleet.set('weight', `r${i % 100}`, i));
    const at = await fleet.version();
    await measure('changesSince (nothing new)', mode, () => fleet.changesSince(at));
    await measure('heartbeat', mode, () => fleet.heartbeat(info, 10_000));
  }
} finally {
  await fleet.close();
  await server.close();
}
