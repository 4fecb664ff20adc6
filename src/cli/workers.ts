// `server.workers` above 1: `cutover start` becomes a primary that forks that
// many workers, each a full Cutover (startCutover), restarts one that dies and
// passes SIGHUP, SIGTERM and SIGINT on to all of them. Each worker binds the
// gateway port itself with SO_REUSEPORT and the kernel spreads new connections
// over them; the primary is not on the request path. Node's cluster module
// (the primary accepts every connection and hands it to a worker) split
// connections less evenly and carried 0.57× the new connections per second
// (docs/decisions.md, "Workers (issue 11)"); it still shares the admin port,
// whose traffic is light, and the gateway port where SO_REUSEPORT is not
// Linux's. Workers share state through the state store (`sqlite:` or
// `redis://`), never through the primary, which serves nothing.
import cluster, { type Worker } from 'node:cluster';
import { createServer } from 'node:net';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Config } from '../config/index.ts';
import { createLogger, flushLogger, type Logger } from '../telemetry/index.ts';
import { RestartBackoff } from './backoff.ts';
import { startCutover } from './run.ts';
import { EXIT_FAILURE, HARD_EXIT_AFTER_GRACE_MS, onSignals } from './signals.ts';

/** Tells a forked worker its index (0…N-1), which stays the same across its restarts. */
const WORKER_INDEX_ENV = 'CUTOVER_WORKER_INDEX';

/** The gateway port the first worker bound, for the others when the file says port 0. */
const PORT_ENV = 'CUTOVER_WORKER_PORT';

/**
 * How workers share the gateway port: `reuseport` (the default on Linux) or
 * `cluster` (the default elsewhere). Set only to measure one against the
 * other (bench/workers.ts).
 */
const LISTENER_ENV = 'CUTOVER_WORKERS_LISTENER';

type Sharing = 'reuseport' | 'cluster';

function sharing(): Sharing {
  const forced = process.env[LISTENER_ENV];
  if (forced === 'reuseport' || forced === 'cluster') return forced;
  // Node refuses reusePort where the kernel lacks it; Linux's spreads connections.
  return process.platform === 'linux' ? 'reuseport' : 'cluster';
}

/** A restarting worker that failed this many starts in a row, in every slot at once: give up. */
const GIVE_UP_AFTER_FAILED_STARTS = 5;

/** What a worker sends the primary once it serves. */
interface ReadyMessage {
  readonly cutover: 'ready';
  readonly gatewayUrl: string;
  readonly adminUrl: string;
  readonly port: number;
  readonly adminPort: number;
}

function isReady(message: unknown): message is ReadyMessage {
  return (message as ReadyMessage | null)?.cutover === 'ready';
}

/** One of the N places a worker runs in; its index outlives the processes that fill it. */
interface Slot {
  readonly index: number;
  worker: Worker | undefined;
  /** When the current worker was forked. */
  startedAt: number;
  ready: boolean;
  /** Exits before ready, in a row. */
  failedStarts: number;
  /** The pid of the worker before this one, for the restart's log line. */
  previousPid: number | undefined;
  readonly backoff: RestartBackoff;
  restartTimer: NodeJS.Timeout | undefined;
}

function describeExit(code: number | null, signal: string | null): string {
  return signal ? `signal ${signal}` : `code ${code}`;
}

/** Runs in a forked worker: one full Cutover, reporting to the primary once it serves. */
export async function runWorker(configFile: string): Promise<void> {
  const index = Number(process.env[WORKER_INDEX_ENV] ?? 0);
  const port = process.env[PORT_ENV];
  const running = await startCutover(configFile, {
    worker: index,
    reusePort: sharing() === 'reuseport',
    ...(port ? { listenPort: Number(port) } : {}),
  });
  onSignals(running, () => running.close(), { worker: true });
  const ready: ReadyMessage = {
    cutover: 'ready',
    gatewayUrl: running.gatewayUrl,
    adminUrl: running.adminUrl,
    port: Number(new URL(running.gatewayUrl).port),
    adminPort: Number(new URL(running.adminUrl).port),
  };
  process.send?.(ready);
}

/**
 * Rejects (EADDRINUSE) when another process listens on the port, even one
 * that bound it with SO_REUSEPORT: our workers would silently join its
 * group and split the traffic with it (a stale instance left running, say).
 * One process that finds its port taken stops; so do N workers.
 */
function ensurePortFree(host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen({ host, port }, () => probe.close(() => resolve()));
  });
}

/** Runs in the `cutover start` process when server.workers > 1; `config` was checked already. */
export async function runPrimary(configFile: string, config: Config): Promise<void> {
  if (sharing() === 'reuseport' && config.listen.port !== 0) {
    await ensurePortFree(config.listen.host, config.listen.port);
  }
  const logger = createLogger({ level: config.log.level, sharedDestination: true }).child({
    role: 'primary',
  });
  new Primary(resolve(configFile), config, logger).start();
}

class Primary {
  readonly #config: Config;
  readonly #logger: Logger;
  readonly #slots: Slot[] = [];
  /** Until every worker was ready once, a worker that dies ends the primary (start-up failed). */
  #started = false;
  #stopping = false;
  /** Exit code once every worker is gone: 0 unless one of them did not stop cleanly. */
  #exitCode = 0;
  /**
   * The gateway port every worker binds. With SO_REUSEPORT a file's port 0
   * would give each worker a port of its own: the first worker binds one and
   * the others are forked, told it, once it serves.
   */
  #port: number | undefined;

  constructor(configFile: string, config: Config, logger: Logger) {
    this.#config = config;
    this.#logger = logger;
    cluster.setupPrimary({
      exec: fileURLToPath(new URL('./main.ts', import.meta.url)),
      args: ['start', '--config', configFile],
    });
    for (let index = 0; index < config.server.workers; index++) {
      this.#slots.push({
        index,
        worker: undefined,
        startedAt: 0,
        ready: false,
        failedStarts: 0,
        previousPid: undefined,
        backoff: new RestartBackoff(),
        restartTimer: undefined,
      });
    }
  }

  start(): void {
    this.#onSignals();
    if (sharing() === 'reuseport' && this.#config.listen.port === 0) this.#fork(this.#slots[0]);
    else for (const slot of this.#slots) this.#fork(slot);
  }

  #fork(slot: Slot): void {
    slot.restartTimer = undefined;
    const previousPid = slot.previousPid;
    const worker = cluster.fork({
      [WORKER_INDEX_ENV]: String(slot.index),
      ...(this.#port === undefined ? {} : { [PORT_ENV]: String(this.#port) }),
    });
    slot.worker = worker;
    slot.startedAt = Date.now();
    slot.ready = false;
    worker.on('message', (message: unknown) => {
      if (isReady(message)) this.#onReady(slot, worker, message, previousPid);
    });
    // A signal that cannot be delivered, an IPC message that cannot be sent: logged, never fatal.
    worker.on('error', (error: Error) =>
      this.#logger.warn({ worker: slot.index, err: error.message }, 'worker error'),
    );
    worker.once('exit', (code: number | null, signal: string | null) =>
      this.#onExit(slot, worker, code, signal),
    );
  }

  #onReady(slot: Slot, worker: Worker, message: ReadyMessage, previousPid?: number): void {
    if (slot.worker !== worker) return;
    slot.ready = true;
    slot.failedStarts = 0;
    if (this.#started) {
      this.#logger.info(
        { worker: slot.index, workerPid: worker.process.pid, previousPid },
        `worker ${slot.index} restarted (pid ${worker.process.pid})`,
      );
      return;
    }
    if (sharing() === 'reuseport' && this.#port === undefined) {
      this.#port = message.port;
      for (const other of this.#slots) if (!other.worker) this.#fork(other);
    }
    if (!this.#slots.every((s) => s.ready)) return;
    this.#started = true;
    this.#logger.info(
      {
        listen: message.gatewayUrl,
        admin: message.adminUrl,
        port: message.port,
        adminPort: message.adminPort,
        workers: this.#slots.map((s) => ({ worker: s.index, pid: s.worker?.process.pid })),
        routes: this.#config.routes.length,
      },
      `cutover listening on ${message.gatewayUrl} (admin ${message.adminUrl}) with ${this.#slots.length} workers`,
    );
  }

  #onExit(slot: Slot, worker: Worker, code: number | null, signal: string | null): void {
    const pid = worker.process.pid;
    const how = describeExit(code, signal);
    const wasReady = slot.ready;
    slot.worker = undefined;
    slot.previousPid = pid;
    slot.ready = false;
    if (this.#stopping) {
      // A worker still starting has no handler yet: SIGTERM ends it, which is what was asked.
      if (code !== 0 && !(signal === 'SIGTERM' && !wasReady)) this.#exitCode = EXIT_FAILURE;
      this.#logger.info(
        { worker: slot.index, workerPid: pid, code, signal },
        `worker ${slot.index} (pid ${pid}) stopped (${how})`,
      );
      this.#exitWhenAllGone();
      return;
    }
    if (!this.#started) {
      // The worker printed why (a port in use, a state file it cannot open).
      this.#logger.error(
        { worker: slot.index, workerPid: pid, code, signal },
        `worker ${slot.index} (pid ${pid}) exited (${how}) before it was ready; stopping`,
      );
      this.#exitCode = EXIT_FAILURE;
      this.#stop();
      return;
    }
    if (!wasReady) slot.failedStarts += 1;
    if (this.#slots.every((s) => s.failedStarts >= GIVE_UP_AFTER_FAILED_STARTS)) {
      this.#logger.error(
        { failedStarts: GIVE_UP_AFTER_FAILED_STARTS },
        `no worker could start ${GIVE_UP_AFTER_FAILED_STARTS} times in a row; stopping`,
      );
      this.#exitCode = EXIT_FAILURE;
      this.#stop();
      return;
    }
    const delay = slot.backoff.delayAfter(Date.now() - slot.startedAt);
    this.#logger.warn(
      { worker: slot.index, workerPid: pid, code, signal, restartInMs: delay },
      `worker ${slot.index} (pid ${pid}) exited (${how}); restarting in ${delay} ms`,
    );
    slot.restartTimer = setTimeout(() => this.#fork(slot), delay);
  }

  #onSignals(): void {
    // Each worker watches the file and SIGHUP itself: a reload is every worker's own.
    // Only to workers that serve: one still starting has no handler yet (SIGHUP
    // would end it) and reads the file as it starts anyway.
    process.on('SIGHUP', () => {
      const serving = this.#slots.flatMap((s) => (s.ready && s.worker ? [s.worker] : []));
      this.#logger.info(`SIGHUP: reloading ${serving.length} workers`);
      for (const worker of serving) worker.process.kill('SIGHUP');
    });
    const onStop = (signal: NodeJS.Signals) => {
      if (this.#stopping) {
        this.#logger.warn(`received ${signal} again; killing the workers`);
        for (const worker of this.#alive()) worker.process.kill('SIGKILL');
        flushLogger(this.#logger);
        process.exit(EXIT_FAILURE);
      }
      this.#logger.info(
        { graceMs: this.#config.server.shutdownGrace },
        `received ${signal}; stopping ${this.#alive().length} workers`,
      );
      this.#stop();
    };
    process.on('SIGTERM', onStop);
    process.on('SIGINT', onStop);
  }

  /** Every worker drains (up to shutdownGrace) and exits; the primary exits after the last. */
  #stop(): void {
    this.#stopping = true;
    for (const slot of this.#slots) {
      clearTimeout(slot.restartTimer);
      slot.restartTimer = undefined;
    }
    // Workers end themselves within grace + 1 s; this is for one that hangs past that.
    setTimeout(
      () => {
        const left = this.#alive();
        this.#logger.error(
          { workerPids: left.map((w) => w.process.pid) },
          `${left.length} workers did not stop in time; killing them`,
        );
        for (const worker of left) worker.process.kill('SIGKILL');
        flushLogger(this.#logger);
        process.exit(EXIT_FAILURE);
      },
      this.#config.server.shutdownGrace + 2 * HARD_EXIT_AFTER_GRACE_MS,
    ).unref();
    // SIGTERM, not SIGINT: a worker takes either as "stop" and ignores a repeat.
    for (const worker of this.#alive()) worker.process.kill('SIGTERM');
    this.#exitWhenAllGone();
  }

  #alive(): Worker[] {
    return this.#slots.flatMap((s) => (s.worker ? [s.worker] : []));
  }

  #exitWhenAllGone(): void {
    if (this.#alive().length > 0) return;
    this.#logger.info('stopped');
    flushLogger(this.#logger);
    process.exit(this.#exitCode);
  }
}
