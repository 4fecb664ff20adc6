// Upstream connection pools: one undici Pool per backend instance, reused
// across config reloads while the instance's settings do not change.
import type { Pool } from 'undici';
import { type BackendConfig, DEFAULTS } from '../config/index.ts';
import { ConcurrencyLimiter, OutlierDetector } from '../guard/index.ts';
import type { Logger, Metrics } from '../telemetry/index.ts';
import { interimFilteringConnector } from './interim-filter.ts';
import { upstreamClientFactory } from './upstream-client.ts';
import { UpstreamPool } from './upstream-pool.ts';
import { UpstreamQueue } from './upstream-queue.ts';

export class BackendInstance {
  readonly url: string;
  /** scheme://host:port — what the pool connects to. */
  readonly origin: string;
  /** The URL's path without a trailing slash ('' for `/`), put before every request path. */
  readonly basePath: string;
  /** Host header value for this instance (host[:port]). */
  readonly host: string;
  readonly pool: Pool;
  /** The pool's connections as the gateway counts them, and the requests waiting for one. */
  readonly queue: UpstreamQueue;
  /** Position in the backend's list, for outlier ejection. */
  readonly index: number;
  /** False while active health checks say the instance is down. */
  healthy = true;

  constructor(url: string, config: BackendConfig, index: number, metrics: Metrics) {
    const u = new URL(url);
    this.index = index;
    this.url = url;
    this.origin = u.origin;
    this.basePath = u.pathname === '/' ? '' : u.pathname.replace(/\/$/, '');
    this.host = u.host;
    this.pool = new UpstreamPool(
      u.origin,
      poolOptions(config),
      config.protocol === 'http1' ? 0 : DEFAULTS.refusedStreamReplayBytes,
    );
    this.queue = new UpstreamQueue(
      // What may be in flight at once: a request per HTTP/1.1 connection, or the streams of each session.
      config.protocol === 'http1'
        ? config.connections
        : config.connections * config.maxConcurrentStreams,
      config.maxQueued,
      config.queueTimeout,
      metrics.forBackendQueue(config.name),
    );
  }
}

/** tls.connect options for an https backend: the CA trusted, the name checked. */
function tlsOptions(config: BackendConfig): {
  ca?: string;
  servername?: string;
  rejectUnauthorized?: boolean;
} {
  const tls = config.tls;
  if (tls === undefined) return {};
  return {
    ...(tls.ca !== undefined && { ca: tls.ca }),
    ...(tls.servername !== undefined && { servername: tls.servername }),
    ...(tls.insecureSkipVerify && { rejectUnauthorized: false }),
  };
}

/**
 * No real Client reaches this age: with it set, undici's Pool retires a
 * Client whose `ttl` stamp says so, which is how an UpstreamClient that has
 * carried maxStreamsPerSession streams is replaced (upstream-client.ts).
 */
const RETIRE_ON_REQUEST_ONLY = Number.MAX_SAFE_INTEGER;

/** HTTP/1.1: one request per connection, never retired by count. */
const NO_SESSION_LIMITS = Object.freeze({ concurrentStreams: 0, streamsPerSession: 0 });

/**
 * HTTP/1.1: one request per connection, 1xx filtered (interim-filter.ts),
 * and no h2 by ALPN even on https (undici offers it by default). HTTP/2:
 * undici's h2 client, over TLS by ALPN or by prior knowledge (h2c), with up
 * to `connections` sessions of up to maxConcurrentStreams streams each (a
 * session is opened when the others are full), each replaced after
 * maxStreamsPerSession streams or when the upstream sends GOAWAY.
 */
function poolOptions(config: BackendConfig): Pool.Options {
  const h2 = config.protocol !== 'http1';
  const common = {
    connections: config.connections,
    keepAliveTimeout: config.keepAliveTimeout,
    // Timeouts per request are set on each dispatch (route settings).
    headersTimeout: 0,
    bodyTimeout: 0,
    factory: upstreamClientFactory(
      h2
        ? {
            concurrentStreams: config.maxConcurrentStreams,
            streamsPerSession: config.maxStreamsPerSession,
          }
        : NO_SESSION_LIMITS,
    ),
  };
  if (!h2) {
    return {
      ...common,
      connect: interimFilteringConnector({
        timeout: config.connectTimeout,
        allowH2: false,
        ...tlsOptions(config),
      }),
      allowH2: false,
      pipelining: 1,
    };
  }
  return {
    ...common,
    ...(config.maxStreamsPerSession > 0 && { clientTtl: RETIRE_ON_REQUEST_ONLY }),
    // The Pool builds the connector from these (its h2Options.useH2c never reaches it).
    connect: {
      timeout: config.connectTimeout,
      ...tlsOptions(config),
      // buildConnector reads it (undici lib/core/connect.js); its types do not list it.
      ...{ useH2c: config.protocol === 'h2c' },
    },
    allowH2: true,
    h2Options: {
      useH2c: config.protocol === 'h2c',
      maxConcurrentStreams: config.maxConcurrentStreams,
    },
    pipelining: 1,
  };
}

/** Settings that, when changed, need new connections. */
function poolKey(config: BackendConfig, url: string): string {
  const tls = config.tls;
  return [
    url,
    config.protocol,
    config.maxConcurrentStreams,
    config.maxStreamsPerSession,
    config.connections,
    config.connectTimeout,
    config.keepAliveTimeout,
    tls === undefined ? '' : `${tls.ca} ${tls.servername} ${tls.insecureSkipVerify}`,
  ].join(' ');
}

export class Backend {
  readonly name: string;
  readonly config: BackendConfig;
  readonly instances: readonly BackendInstance[];
  /** Passive outlier ejection; undefined with `outlier: false` or a single instance. */
  readonly outlier: OutlierDetector | undefined;
  /** Cap on this backend's requests in flight (all routes); undefined unless configured. */
  readonly concurrency: ConcurrencyLimiter | undefined;
  #next = 0;

  constructor(config: BackendConfig, metrics: Metrics, logger: Logger, reuse?: Backend) {
    this.name = config.name;
    this.config = config;
    if (config.tls?.insecureSkipVerify) {
      logger.warn(
        { backend: config.name },
        'backend certificates are not verified (tls.insecureSkipVerify): any server is trusted',
      );
    }
    this.instances = config.urls.map((url, index) => {
      const old = reuse?.instances.find(
        (i) => i.index === index && poolKey(reuse.config, i.url) === poolKey(config, url),
      );
      if (!old) return new BackendInstance(url, config, index, metrics);
      old.queue.configure(config.maxQueued, config.queueTimeout);
      return old;
    });
    const sameSet =
      reuse !== undefined &&
      reuse.config.urls.join(' ') === config.urls.join(' ') &&
      JSON.stringify(reuse.config.outlier) === JSON.stringify(config.outlier);
    const sameCap =
      reuse !== undefined &&
      JSON.stringify(reuse.config.concurrency) === JSON.stringify(config.concurrency);
    this.concurrency = sameCap
      ? reuse.concurrency
      : config.concurrency
        ? new ConcurrencyLimiter(config.concurrency)
        : undefined;
    if (sameSet) this.outlier = reuse.outlier;
    else if (config.outlier && config.urls.length > 1) {
      const instances = this.instances;
      const name = config.name;
      this.outlier = new OutlierDetector(config.outlier, instances.length, {
        onEject: (index, untilMs, consecutive) => {
          metrics.ejected(name, instances[index].url);
          logger.warn(
            {
              backend: name,
              instance: instances[index].url,
              consecutive,
              ejectedForMs: untilMs - Date.now(),
            },
            'backend instance ejected',
          );
        },
        onReturn: (index) =>
          logger.info({ backend: name, instance: instances[index].url }, 'ejected instance back'),
      });
    }
  }

  /** Round robin over healthy, not ejected instances; when none is, over all (better a try than a sure 502). */
  pick(): BackendInstance {
    const list = this.instances;
    const n = list.length;
    if (n === 1) return list[0];
    const outlier = this.outlier;
    for (let tries = 0; tries < n; tries++) {
      const inst = list[this.#next++ % n];
      if (inst.healthy && (outlier === undefined || !outlier.isEjected(inst.index))) return inst;
    }
    return list[this.#next++ % n];
  }

  /** Feed passive outlier detection with an attempt's outcome (telemetry/outcome.ts: backendOk). */
  recordOutcome(instance: BackendInstance, ok: boolean): void {
    this.outlier?.record(instance.index, ok);
  }

  get healthy(): boolean {
    return this.instances.some((i) => i.healthy);
  }
}

/** Close the pools of `old` that `next` does not reuse; waits for their requests in flight. */
export async function closeUnused(old: Iterable<Backend>, next: Iterable<Backend>): Promise<void> {
  const kept = new Set<BackendInstance>();
  for (const b of next) for (const i of b.instances) kept.add(i);
  const closing: Promise<void>[] = [];
  for (const b of old) for (const i of b.instances) if (!kept.has(i)) closing.push(i.pool.close());
  await Promise.allSettled(closing);
}
