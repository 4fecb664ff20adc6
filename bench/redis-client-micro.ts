// ioredis vs the official `redis` (node-redis) client, for the Redis fleet
// (issue 11): N EVALSHA of a small script (a counter with an expiry, the shape
// of a token-bucket take) and N GET against a redis-server started here on a
// free port, issued three ways — sequential (one awaited at a time), 50 in
// flight, and all at once (the client pipelines them on one connection).
// Prints wall µs/op and this process's CPU µs/op, best and median of ROUNDS.
// Then the failure behaviour each shows with offline queue off and a 50 ms
// command timeout: a paused (SIGSTOP) server, a killed one, and the time to
// be back after a restart.
//
//   N=20000 ROUNDS=3 CLIENTS=ioredis,redis node bench/redis-client-micro.ts
//
// `redis` is not a dependency: install it for the run only
// (`npm install --no-save redis`); a missing client is skipped with a note.
import { setTimeout as sleep } from 'node:timers/promises';
import { startRedis, type TestRedis } from '../test/helpers/redis-server.ts';

const N = Number(process.env.N ?? 20_000);
const ROUNDS = Number(process.env.ROUNDS ?? 3);
const CONCURRENCY = 50;
const CLIENTS = (process.env.CLIENTS ?? 'ioredis,redis').split(',');
const TIMEOUT_MS = 50;

const SCRIPT = `local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return n`;

/** What the bench needs of a client, so both are driven by the same loops. */
interface Client {
  load(script: string): Promise<string>;
  evalsha(sha: string, key: string, arg: string): Promise<unknown>;
  get(key: string): Promise<unknown>;
  /** GET with the request-path timeout, for the failure checks. */
  getWithTimeout(key: string): Promise<unknown>;
  ready(): boolean;
  close(): Promise<void>;
}

// Loaded by name at run time so the type check passes without `redis` installed.
async function load(name: string): Promise<Record<string, unknown> | undefined> {
  try {
    return (await import(name)) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

interface IoRedisLike {
  status: string;
  on(event: string, listener: (...args: unknown[]) => void): void;
  script(op: 'LOAD', lua: string): Promise<string>;
  evalsha(sha: string, numKeys: number, ...args: string[]): Promise<unknown>;
  get(key: string): Promise<unknown>;
  quit(): Promise<unknown>;
  disconnect(): void;
}

async function ioredis(url: string): Promise<Client | undefined> {
  const mod = await load('ioredis');
  if (!mod) return undefined;
  type Ctor = new (url: string, options: Record<string, unknown>) => IoRedisLike;
  const Redis = mod.Redis as Ctor;
  const options = {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    retryStrategy: (times: number) => Math.min(50 * 2 ** times, 2000),
  };
  const plain = new Redis(url, options);
  const timed = new Redis(url, { ...options, commandTimeout: TIMEOUT_MS });
  for (const c of [plain, timed]) c.on('error', () => {});
  while (plain.status !== 'ready' || timed.status !== 'ready') await sleep(5);
  return {
    load: (lua) => plain.script('LOAD', lua),
    evalsha: (sha, key, arg) => plain.evalsha(sha, 1, key, arg),
    get: (key) => plain.get(key),
    getWithTimeout: (key) => timed.get(key),
    ready: () => timed.status === 'ready',
    async close() {
      plain.disconnect();
      timed.disconnect();
    },
  };
}

interface NodeRedisLike {
  isReady: boolean;
  on(event: string, listener: (...args: unknown[]) => void): void;
  connect(): Promise<unknown>;
  scriptLoad(lua: string): Promise<string>;
  evalSha(sha: string, options: { keys: string[]; arguments: string[] }): Promise<unknown>;
  get(key: string): Promise<unknown>;
  withCommandOptions(options: { timeout: number }): NodeRedisLike;
  destroy(): void;
}

async function nodeRedis(url: string): Promise<Client | undefined> {
  const mod = await load('redis');
  if (!mod) return undefined;
  const createClient = mod.createClient as (options: Record<string, unknown>) => NodeRedisLike;
  const client = createClient({
    url,
    disableOfflineQueue: true,
    socket: { reconnectStrategy: (retries: number) => Math.min(50 * 2 ** retries, 2000) },
  });
  client.on('error', () => {});
  await client.connect();
  const timed = client.withCommandOptions({ timeout: TIMEOUT_MS });
  return {
    load: (lua) => client.scriptLoad(lua),
    evalsha: (sha, key, arg) => client.evalSha(sha, { keys: [key], arguments: [arg] }),
    get: (key) => client.get(key),
    getWithTimeout: (key) => timed.get(key),
    ready: () => client.isReady,
    async close() {
      client.destroy();
    },
  };
}

type Mode = 'sequential' | 'concurrent-50' | 'all-at-once';

async function drive(mode: Mode, call: (i: number) => Promise<unknown>): Promise<void> {
  if (mode === 'sequential') {
    for (let i = 0; i < N; i++) await call(i);
  } else if (mode === 'all-at-once') {
    await Promise.all(Array.from({ length: N }, (_, i) => call(i)));
  } else {
    let next = 0;
    const worker = async () => {
      while (next < N) await call(next++);
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  }
}

interface Timing {
  wall: number;
  cpu: number;
}

async function measure(call: (i: number) => Promise<unknown>, mode: Mode): Promise<Timing[]> {
  await drive(mode, call); // warm-up round
  const out: Timing[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const cpu0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    await drive(mode, call);
    const wall = Number(process.hrtime.bigint() - t0) / 1000 / N;
    const c = process.cpuUsage(cpu0);
    out.push({ wall, cpu: (c.user + c.system) / N });
  }
  return out;
}

function summary(label: string, t: Timing[]): void {
  const fmt = (xs: number[]) => {
    const s = [...xs].sort((a, b) => a - b);
    return `best ${s[0].toFixed(2).padStart(6)}  median ${s[Math.floor(s.length / 2)].toFixed(2).padStart(6)}`;
  };
  console.log(
    `${label.padEnd(36)} wall µs/op ${fmt(t.map((x) => x.wall))}   cpu µs/op ${fmt(t.map((x) => x.cpu))}`,
  );
}

// A call that neither answers nor rejects is reported as still pending past this.
const PATIENCE_MS = 2_000;

/** How long a call takes to settle, and how (ok, the error's message, or still pending). */
async function settle(call: () => Promise<unknown>): Promise<string> {
  const t0 = performance.now();
  const patience = new AbortController();
  const pending = sleep(PATIENCE_MS, 'pending', { signal: patience.signal }).catch(() => 'done');
  try {
    const first = await Promise.race([call().then(() => 'ok'), pending]);
    const ms = (performance.now() - t0).toFixed(1);
    return first === 'pending' ? `still pending after ${ms} ms` : `ok after ${ms} ms`;
  } catch (error) {
    const ms = (performance.now() - t0).toFixed(1);
    return `rejected after ${ms} ms (${(error as Error).message.slice(0, 60)})`;
  } finally {
    patience.abort();
  }
}

async function failures(name: string, client: Client, server: TestRedis): Promise<void> {
  server.pause();
  const paused = await settle(() => client.getWithTimeout('k'));
  console.log(`${name} paused server, GET (${TIMEOUT_MS} ms timeout): ${paused}`);
  server.resume();
  await sleep(50);
  await server.kill();
  await sleep(50);
  console.log(`${name} killed server, GET: ${await settle(() => client.getWithTimeout('k'))}`);
  const t0 = performance.now();
  await server.restart();
  const restarted = performance.now();
  while (!client.ready() && performance.now() - restarted < PATIENCE_MS) await sleep(5);
  const back = client.ready()
    ? `client ready ${(performance.now() - restarted).toFixed(0)} ms later`
    : `client not ready after ${PATIENCE_MS} ms`;
  console.log(
    `${name} restart: server answers after ${(restarted - t0).toFixed(0)} ms, ${back}; GET: ${await settle(() => client.getWithTimeout('k'))}`,
  );
}

const server = await startRedis();
try {
  console.log(`node ${process.version}, N=${N}, ROUNDS=${ROUNDS}, redis at ${server.url}`);
  for (const [name, open] of [
    ['ioredis', ioredis],
    ['redis', nodeRedis],
  ] as const) {
    if (!CLIENTS.includes(name)) continue;
    const client = await open(server.url);
    if (!client) {
      console.log(`${name}: not installed, skipped`);
      continue;
    }
    const sha = await client.load(SCRIPT);
    for (const mode of ['sequential', 'concurrent-50', 'all-at-once'] as const) {
      summary(
        `${name} EVALSHA ${mode}`,
        await measure((i) => client.evalsha(sha, `bench:${i % 100}`, '60000'), mode),
      );
      summary(`${name} GET ${mode}`, await measure((i) => client.get(`bench:${i % 100}`), mode));
    }
    await failures(name, client, server);
    await client.close();
  }
} finally {
  await server.close();
}
