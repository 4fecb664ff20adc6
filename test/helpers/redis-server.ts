// A real Redis for tests (and benches): Debian's `redis-server`, started on a
// free 127.0.0.1 port with its own temp dir, so a test can kill, pause and
// restart it. A missing binary is an error, not a skip: the tests that need it
// must fail loudly on a machine that lacks it (npm test's pretest installs it).
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { access, mkdtemp, rm, writeFile } from 'node:fs/promises';
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

/**
 * Fleet timeouts for tests that are not about timeouts: the defaults (50 ms
 * for a token take) are for a production LAN, and a test machine busy with
 * other work can pause a process longer than that.
 */
export const PATIENT = { commandTimeout: 5_000, tokenTimeout: 5_000 } as const;

export interface RedisServerOptions {
  /**
   * Keep the data across `restart()` (an append-only file in the temp dir).
   * Default false: a restarted server starts empty, like a replaced one.
   */
  readonly persist?: boolean;
  /** More `--name value` arguments (a cluster node's). */
  readonly extraArgs?: readonly string[];
  /** Start a Sentinel (not a data server) that watches the master on this port under `name`. */
  readonly sentinelFor?: { readonly port: number; readonly name: string };
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
  const sentinel = options.sentinelFor;
  // A Sentinel rewrites its config file, so it needs one of its own, first on the line.
  const conf = join(dir, 'sentinel.conf');
  if (sentinel)
    await writeFile(conf, `sentinel monitor ${sentinel.name} 127.0.0.1 ${sentinel.port} 1\n`);
  const args = [
    ...(sentinel ? [conf, '--sentinel'] : []),
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    ...(sentinel ? [] : ['--save', '', '--appendonly', options.persist ? 'yes' : 'no']),
    '--dir',
    dir,
    // Debian's build would otherwise log to a file under /var/log.
    '--logfile',
    '',
    '--daemonize',
    'no',
    ...(options.extraArgs ?? []),
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

async function pong(port: number): Promise<boolean> {
  // A server still loading its AOF answers -LOADING: not ready yet.
  return (await redisCommand(port, 'PING').catch(() => '')) === 'PONG';
}

/**
 * Sends one inline command on a fresh connection and resolves with its reply
 * (a status, an integer or a bulk string; an error reply rejects). Enough for
 * setting test servers up without a client library.
 */
export function redisCommand(port: number, line: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port });
    let reply = '';
    const done = (error: Error | undefined, value = '') => {
      socket.destroy();
      if (error) reject(error);
      else resolve(value);
    };
    socket.setTimeout(1000, () => done(new Error(`${line}: no reply in 1 s`)));
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
      const length = Number(head);
      if (length < 0) return done(undefined, '');
      const body = reply.slice(eol + 2);
      // Bulk strings are ASCII here (INFO, CLUSTER INFO), so characters are bytes.
      if (body.length >= length) done(undefined, body.slice(0, length));
    });
  });
}

export interface TestRedisCluster {
  /** `redis+cluster://127.0.0.1:P1,127.0.0.1:P2,…` */
  readonly url: string;
  readonly nodes: readonly TestRedis[];
  close(): Promise<void>;
}

/** Slots a Redis Cluster has; each of the test's masters gets an equal range. */
const CLUSTER_SLOTS = 16384;

/**
 * A Redis Cluster of `size` masters (no replicas) on free ports: each node
 * started with cluster mode on, given an equal range of slots, introduced to
 * the others (CLUSTER MEET), and ready once every node says cluster_state:ok.
 */
export async function startRedisCluster(size = 3): Promise<TestRedisCluster> {
  const nodes: TestRedis[] = [];
  const close = async () => {
    await Promise.all(nodes.map((n) => n.close()));
  };
  try {
    for (let i = 0; i < size; i++) {
      nodes.push(
        await startRedis({
          extraArgs: ['--cluster-enabled', 'yes', '--cluster-node-timeout', '2000'],
        }),
      );
    }
    const per = Math.ceil(CLUSTER_SLOTS / size);
    for (const [i, node] of nodes.entries()) {
      const last = Math.min(CLUSTER_SLOTS, (i + 1) * per) - 1;
      await redisCommand(node.port, `CLUSTER ADDSLOTSRANGE ${i * per} ${last}`);
    }
    for (const node of nodes.slice(1)) {
      await redisCommand(nodes[0].port, `CLUSTER MEET 127.0.0.1 ${node.port}`);
    }
    const deadline = Date.now() + READY_DEADLINE_MS;
    for (const node of nodes) {
      while (!(await redisCommand(node.port, 'CLUSTER INFO')).includes('cluster_state:ok')) {
        if (Date.now() > deadline)
          throw new Error('the test cluster did not reach cluster_state:ok');
        await sleep(50);
      }
    }
  } catch (error) {
    await close();
    throw error;
  }
  const hosts = nodes.map((n) => `127.0.0.1:${n.port}`).join(',');
  return { url: `redis+cluster://${hosts}`, nodes, close };
}
