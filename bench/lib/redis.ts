// A redis-server of the benchmark's own: Debian's binary on a free 127.0.0.1 port,
// no persistence, pinned beside the load generator (CPU 0) — in production Redis is
// another machine, so its CPU is not the gateway's — and tracked like every other
// bench child, so it is ended by PID on every way out (bench/lib/procs.ts).
// The test helper (test/helpers/redis-server.ts) can kill, pause and restart its
// server; a benchmark needs none of that, only a server that is there.
import type { ChildProcess } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { redisCommand } from '../../test/helpers/redis-server.ts';
import { freePort, startProcess, stopProcess } from './procs.ts';

export const REDIS_SERVER_BIN = '/usr/bin/redis-server';

/** Redis answers PING within milliseconds of its start; a busy machine gets slack. */
const READY_MS = 10_000;

export interface BenchRedis {
  /** `redis://127.0.0.1:PORT/0` */
  readonly url: string;
  readonly port: number;
  readonly pid: number;
  /** Calls per command since the server started (`INFO commandstats`), e.g. { evalsha: 120 }. */
  commandCalls(): Promise<Record<string, number>>;
  stop(): Promise<void>;
}

/** Why a case needing Redis cannot run here, or undefined. */
export function redisUnavailable(): string | undefined {
  try {
    accessSync(REDIS_SERVER_BIN, constants.X_OK);
    return undefined;
  } catch {
    return `${REDIS_SERVER_BIN} not found (apt-get install redis-server; npm run bench's prebench does)`;
  }
}

export async function startRedis(): Promise<BenchRedis> {
  const missing = redisUnavailable();
  if (missing) throw new Error(missing);
  const port = await freePort();
  const child = startProcess(
    REDIS_SERVER_BIN,
    [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      // Nothing to keep: every case and variant starts from an empty store.
      '--save',
      '',
      '--appendonly',
      'no',
      // Debian's build would otherwise log to a file under /var/log.
      '--logfile',
      '',
      '--daemonize',
      'no',
    ],
    { cpu: 0 },
  );
  let log = '';
  for (const stream of [child.stdout, child.stderr]) {
    stream?.setEncoding('utf8');
    stream?.on('data', (chunk: string) => {
      log = (log + chunk).slice(-3000);
    });
  }
  try {
    await waitForPong(port, child);
  } catch (error) {
    await stopProcess(child);
    throw new Error(`redis-server did not start: ${(error as Error).message}\n${log}`);
  }
  return {
    url: `redis://127.0.0.1:${port}/0`,
    port,
    pid: child.pid!,
    async commandCalls() {
      const calls: Record<string, number> = {};
      const text = await redisCommand(port, 'INFO commandstats');
      // cmdstat_evalsha:calls=12,usec=340,…
      for (const m of text.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) calls[m[1]] = Number(m[2]);
      return calls;
    },
    stop: () => stopProcess(child),
  };
}

async function waitForPong(port: number, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + READY_MS;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`exited with ${child.signalCode ?? `code ${child.exitCode}`}`);
    }
    if (await ping(port)) return;
    await sleep(20);
  }
  throw new Error(`no PONG on port ${port} within ${READY_MS / 1000} s`);
}

async function ping(port: number): Promise<boolean> {
  return (await redisCommand(port, 'PING').catch(() => '')) === 'PONG';
}
