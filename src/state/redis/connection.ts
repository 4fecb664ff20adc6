// One ioredis connection of a fleet, set up so that a Redis that is down or
// hung never holds a caller: no offline queue (a command while disconnected
// rejects at once instead of waiting for the reconnect), a command timeout,
// commands caught by a dropped connection rejected rather than resent (a
// commit sent twice would be two commits), and reconnection forever with a
// capped backoff. Failures become our errors (StateUnavailableError,
// StateTimeoutError); nothing is logged per command and an 'error' listener
// is always attached, so a connection error can never crash the process.
import { Cluster, type ClusterOptions, Redis, type RedisOptions } from 'ioredis';
import type { RedisTarget } from '../../config/index.ts';
import { StateError, StateTimeoutError, StateUnavailableError } from '../../errors.ts';

export type RedisClient = Redis | Cluster;

export interface ConnectionRole {
  /** For CLIENT LIST: `cutover:<prefix>:<role>`. */
  readonly name: string;
  /** ms a command may go unanswered; undefined for the subscriber (it waits by design). */
  readonly timeout: number | undefined;
  /** The hint subscriber: queues its SUBSCRIBE until connected and resubscribes after a reconnect. */
  readonly subscriber?: boolean;
}

/** Backoff before reconnect attempt `n`: 50 ms doubling to 2 s, plus jitter so a fleet does not reconnect in step. */
export function reconnectDelay(n: number): number {
  return Math.min(50 * 2 ** Math.min(n, 6), 2_000) + Math.floor(Math.random() * 100);
}

/** A TCP connect to a dead host gets no RST; give up on it after this and try again. */
const CONNECT_TIMEOUT_MS = 2_000;

/** Redis refusals that mean "not now" (auth, a replica, loading, a cluster or master down), not a bug of ours. */
const UNAVAILABLE_REPLY =
  /^(NOAUTH|WRONGPASS|NOPERM|READONLY|LOADING|MASTERDOWN|CLUSTERDOWN|TRYAGAIN|BUSY|MISCONF)/;

export class RedisConnection {
  readonly client: RedisClient;
  readonly #store: string;
  readonly #timeout: number | undefined;
  readonly #firstReady: Promise<void>;
  #everReady = false;
  #lastError: string | undefined;

  /** `store` names the store in messages (no password). */
  constructor(target: RedisTarget, role: ConnectionRole, store: string) {
    this.#store = store;
    this.#timeout = role.timeout;
    this.client = createClient(target, role);
    this.client.on('error', (error: Error) => {
      this.#lastError = error.message;
    });
    this.#firstReady = new Promise((resolve) => {
      this.client.once('ready', () => {
        this.#everReady = true;
        resolve();
      });
    });
  }

  get ready(): boolean {
    return this.client.status === 'ready';
  }

  /** The last connection error's message, for the down reason. */
  get lastError(): string | undefined {
    return this.#lastError;
  }

  /**
   * Runs `fn` on the connection. Before the first connection is up (just
   * started) it waits for it up to the timeout; after that, a connection
   * that is down fails the call at once.
   */
  async call<T>(what: string, fn: (client: RedisClient) => Promise<T>): Promise<T> {
    if (!this.ready && !(await this.#awaitFirstReady())) {
      throw new StateUnavailableError(this.#store, this.#lastError ?? 'not connected');
    }
    try {
      return await fn(this.client);
    } catch (error) {
      throw this.#translate(what, error);
    }
  }

  async #awaitFirstReady(): Promise<boolean> {
    if (this.#everReady) return false;
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), this.#timeout ?? CONNECT_TIMEOUT_MS);
    });
    const up = await Promise.race([this.#firstReady.then(() => true), late]);
    clearTimeout(timer);
    return up;
  }

  #translate(what: string, error: unknown): Error {
    const message = error instanceof Error ? error.message : String(error);
    if (message === 'Command timed out')
      return new StateTimeoutError(this.#store, what, this.#timeout ?? 0, { cause: error });
    const fromRedis = error instanceof Error && error.name === 'ReplyError';
    if (fromRedis && !UNAVAILABLE_REPLY.test(message))
      return new StateError(`state store ${this.#store}: ${what} failed: ${message}`, {
        cause: error,
      });
    return new StateUnavailableError(this.#store, message, { cause: error });
  }

  /** Closes at once: commands still waiting reject. */
  close(): void {
    this.client.disconnect();
  }
}

function createClient(target: RedisTarget, role: ConnectionRole): RedisClient {
  const tls = target.tls ? {} : undefined;
  const common: RedisOptions = {
    username: target.username,
    password: target.password,
    db: target.db,
    tls,
    connectionName: role.name,
    // RESP2: what every Redis since 2.6 and every Redis-compatible server
    // speaks; the scripts' replies are read in one shape (replies.ts).
    protocol: 2,
    commandTimeout: role.timeout,
    connectTimeout: CONNECT_TIMEOUT_MS,
    // A command sent but unanswered when the connection drops is rejected at
    // once (0 retries) and never resent: the caller sees a failure and
    // re-reads, instead of a commit applied twice.
    maxRetriesPerRequest: role.subscriber ? null : 0,
    autoResendUnfulfilledCommands: false,
    enableOfflineQueue: role.subscriber === true,
    autoResubscribe: true,
    retryStrategy: reconnectDelay,
  };
  if (target.mode === 'cluster') {
    const { retryStrategy: _r, enableOfflineQueue, db: _db, ...redisOptions } = common;
    const options: ClusterOptions = {
      enableOfflineQueue,
      clusterRetryStrategy: reconnectDelay,
      redisOptions,
    };
    return new Cluster(
      target.nodes.map((n) => ({ host: n.host, port: n.port })),
      options,
    );
  }
  if (target.mode === 'sentinel') {
    return new Redis({
      ...common,
      sentinels: target.nodes.map((n) => ({ host: n.host, port: n.port })),
      name: target.masterName,
      sentinelPassword: target.sentinelPassword,
      enableTLSForSentinelMode: target.tls,
      sentinelTLS: tls,
      sentinelRetryStrategy: reconnectDelay,
    });
  }
  const [node] = target.nodes;
  return new Redis({ ...common, host: node.host, port: node.port });
}
