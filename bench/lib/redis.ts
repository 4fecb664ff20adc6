// A redis-server of the benchmark's own: Debian's binary on a free 127.0.0.1 port,
// no persistence, pinned beside the load generator (CPU 0) — in production Redis is
// another machine, so its CPU is not the gateway's — and tracked like every other
// bench child, so it is ended by PID on every way out (bench/lib/procs.ts).
// The test helper (test/helpers/redis-server.ts) can kill, pause and restart its
// server; a benchmark needs none of that, only a server that is there.
import type { ChildProcess } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { connect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
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
      const text = await command(port, 'INFO commandstats');
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
  return (await command(port, 'PING').catch(() => '')) === 'PONG';
}

/**
 * One inline command on a fresh connection: a status reply's text or a bulk string
 * (ASCII here: PING, INFO). Enough for a bench without a client library; an error
 * reply (a server still loading answers -LOADING) rejects.
 */
function command(port: number, line: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port });
    let reply = '';
    const done = (error: Error | undefined, value = '') => {
      socket.destroy();
      if (error) reject(error);
      else resolve(value);
    };
    socket.setTimeout(1000, () => done(new Error(`${line}: no reply within 1 s`)));
    socket.on('error', (error) => done(error));
    socket.on('connect', () => socket.write(`${line}\r\n`));
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      reply += chunk;
      const eol = reply.indexOf('\r\n');
      if (eol === -1) return;
      const head = reply.slice(1, eol);
      if (reply[0] === '-') return done(new Error(`${line}: ${head}`));
      if (reply[0] !== '$') return done(undefined, head);
      const body = reply.slice(eol + 2);
      if (body.length >= Number(head)) done(undefined, body.slice(0, Number(head)));
    });
  });
}
