// A real Redis for tests (and benches): Debian's `redis-server`, started on a
// free 127.0.0.1 port with its own temp dir, so a test can kill, pause and
// restart it. A missing binary is an error, not a skip: the tests that need it
// must fail loudly on a machine that lacks it (npm test's pretest installs it).
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { access, mkdtemp, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from './prometheus.ts';

export const REDIS_SERVER_BIN = '/usr/bin/redis-server';

// Redis answers PING within milliseconds of its start; replaying an AOF of a
// test's size is as quick. A loaded CI machine gets some slack.
const READY_DEADLINE_MS = 10_000;
// SIGTERM makes Redis fsync its AOF and exit; a stuck one is killed after this.
const STOP_GRACE_MS = 5_000;

export interface RedisServerOptions {
  /**
   * Keep the data across `restart()` (an append-only file in the temp dir).
   * Default false: a restarted server starts empty, like a replaced one.
   */
  readonly persist?: boolean;
}

export interface TestRedis {
  /** `redis://127.0.0.1:PORT` */
  readonly url: string;
  readonly port: number;
  /** The running process's PID (changes at each restart). */
  readonly pid: number;
  /** SIGTERM (SIGKILL past a grace), waits for the exit. The port stays the server's for restart(). */
  stop(): Promise<void>;
  /** SIGKILL, waits for the exit: a crash. */
  kill(): Promise<void>;
  /** SIGSTOP: the socket stays open but nothing answers (a hung Redis). */
  pause(): void;
  /** SIGCONT after pause(). */
  resume(): void;
  /** Starts it again on the same port (stopping it first if it runs); resolves once it answers PING. */
  restart(): Promise<void>;
  /** Stops it and removes its temp dir. Safe to call twice. */
  close(): Promise<void>;
}

export async function startRedis(options: RedisServerOptions = {}): Promise<TestRedis> {
  try {
    await access(REDIS_SERVER_BIN);
  } catch {
    throw new Error(
      `${REDIS_SERVER_BIN} not found: these tests need a real Redis; install the Debian package \`redis-server\` (apt-get install redis-server)`,
    );
  }
  const dir = await mkdtemp(join(tmpdir(), 'cutover-redis-'));
  const port = await freePort();
  const args = [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--save',
    '',
    '--appendonly',
    options.persist ? 'yes' : 'no',
    '--dir',
    dir,
    // Debian's build would otherwise log to a file under /var/log.
    '--logfile',
    '',
    '--daemonize',
    'no',
  ];
  let child: ChildProcess | undefined;
  let stderr = '';
  let closed = false;

  const launch = async (): Promise<void> => {
    stderr = '';
    const c = spawn(REDIS_SERVER_BIN, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    child = c;
    // Redis logs to stdout; keep the tail to explain a failed start.
    for (const stream of [c.stdout, c.stderr]) {
      stream?.setEncoding('utf8');
      stream?.on('data', (chunk: string) => {
        stderr = (stderr + chunk).slice(-4000);
      });
    }
    try {
      await waitForPong(port, c);
    } catch (error) {
      await terminate(c, 'SIGKILL');
      throw new Error(`redis-server did not start: ${(error as Error).message}\n${stderr}`);
    }
  };

  const stop = async (): Promise<void> => {
    if (child) await terminate(child, 'SIGTERM');
  };
  const server: TestRedis = {
    url: `redis://127.0.0.1:${port}`,
    port,
    get pid() {
      return child?.pid ?? -1;
    },
    stop,
    async kill() {
      if (child) await terminate(child, 'SIGKILL');
    },
    pause() {
      if (child?.pid !== undefined && running(child)) process.kill(child.pid, 'SIGSTOP');
    },
    resume() {
      if (child?.pid !== undefined && running(child)) process.kill(child.pid, 'SIGCONT');
    },
    async restart() {
      if (closed) throw new Error('redis-server: restart() after close()');
      await stop();
      await launch();
    },
    async close() {
      closed = true;
      await stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
  try {
    await launch();
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
  return server;
}

function running(child: ChildProcess): boolean {
  return child.exitCode === null && child.signalCode === null;
}

/** Sends `signal` by PID and waits for the exit; SIGKILL when SIGTERM is not enough in time. */
async function terminate(child: ChildProcess, signal: 'SIGTERM' | 'SIGKILL'): Promise<void> {
  if (!running(child) || child.pid === undefined) return;
  const pid = child.pid;
  const exited = once(child, 'exit');
  process.kill(pid, signal);
  // A paused (SIGSTOP) process holds SIGTERM until it is continued.
  if (signal === 'SIGTERM') process.kill(pid, 'SIGCONT');
  const timer = setTimeout(() => {
    if (running(child)) process.kill(pid, 'SIGKILL');
  }, STOP_GRACE_MS);
  await exited;
  clearTimeout(timer);
}

/** Resolves once a raw `PING` on the port is answered `+PONG` (no client library involved). */
async function waitForPong(port: number, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + READY_DEADLINE_MS;
  for (;;) {
    if (!running(child)) throw new Error(`exited with ${child.exitCode ?? child.signalCode}`);
    if (await pong(port)) return;
    if (Date.now() > deadline)
      throw new Error(`no PONG on port ${port} in ${READY_DEADLINE_MS} ms`);
    await sleep(20);
  }
}

function pong(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    let reply = '';
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => done(false));
    socket.on('error', () => done(false));
    socket.on('connect', () => socket.write('PING\r\n'));
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      reply += chunk;
      // A server still loading its AOF answers -LOADING: not ready yet.
      if (reply.includes('\r\n')) done(reply.startsWith('+PONG'));
    });
  });
}
