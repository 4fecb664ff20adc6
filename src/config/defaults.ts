// Every default in one place, each with where the number comes from; a guard
// block's defaults sit beside its schema (guard-blocks.ts).
import { GRPC_STATUS_NAMES } from './grpc-codes.ts';
import { GUARD_BLOCKS, LEARN_NOISE_FIRST, LEARN_NOISE_SAMPLE } from './guard-blocks.ts';

export const DEFAULTS = {
  /** DESIGN.md's example listener. */
  listen: { host: '0.0.0.0', port: 8080 },
  /** A listener in the list form speaks both unless told otherwise (nginx `listen … http2`, Envoy's auto codec). */
  listenerProtocols: ['http1', 'h2'] as const,
  /** What every backend spoke before issue 12, and what most legacy services speak. */
  upstreamProtocol: 'http1' as const,
  /**
   * Streams per upstream HTTP/2 session: RFC 9113 §6.5.2 recommends servers
   * allow at least 100, nginx allows 100 (Go 250; Node announces no limit),
   * and undici caps at 100 by default.
   */
  maxConcurrentStreams: 100,
  /**
   * Streams an upstream HTTP/2 session carries in all before a new session
   * takes the new ones (the old one finishes its own). A client session has
   * 2^30 stream IDs (the odd numbers below 2^31, RFC 9113 §5.1.1); past them
   * Node fails every new stream with ERR_HTTP2_OUT_OF_STREAMS and keeps the
   * session, so undici never replaces it — at 10,000 requests/s that is ~30 h
   * into a session's life. 1,000,000 stays three orders of magnitude below,
   * spreads load onto backend instances that scaled out behind one address
   * (an L4 balancer keeps a session on the instance it first picked), and
   * costs one connection setup per million requests (docs/decisions.md).
   * Envoy's max_requests_per_connection has no limit by default; 0 does that.
   */
  maxStreamsPerSession: 1_000_000,
  /**
   * A streamed request body (a gRPC call's) kept until the answer starts, so a
   * stream an HTTP/2 upstream refused unprocessed (GOAWAY, REFUSED_STREAM) can
   * be sent again on a new session: the 64 KiB the gateway keeps for a
   * fallback or retry. A unary call's message fits many times over; grpc-js
   * keeps up to 1 MiB per call for its own retries.
   */
  refusedStreamReplayBytes: 64 * 1024,
  /** Loopback, so the admin API is private unless a token is set. */
  adminListen: { host: '127.0.0.1', port: 9090 },
  state: 'sqlite:.cutover/state.db',
  /** Redis fleet: keys start with `{cutover}:`; another prefix is another fleet on the same Redis. */
  statePrefix: 'cutover',
  /**
   * Redis fleet: a state command (commit, reads, lease, heartbeat) that has no
   * answer in 1 s fails, so a hung Redis is noticed within one poll (1 s)
   * and the instance goes static instead of waiting.
   */
  stateCommandTimeout: 1_000,
  /**
   * Redis fleet: a cluster rate limit's token take is on the request path;
   * issue 11 asks ≤ 50 ms there (a LAN round trip is well under 1 ms).
   */
  stateTokenTimeout: 50,
  /** Time to the upstream's response headers; DESIGN.md `defaults.timeout: 3s`. */
  timeout: 3_000,
  /** A TCP connect on a LAN takes well under a millisecond; 1 s only fails a dead host. */
  connectTimeout: 1_000,
  /** Longest pause between two body chunks from the upstream (NGINX proxy_read_timeout is 60 s; we halve it). */
  idleTimeout: 30_000,
  /** Request bodies above this are refused with 413 (NGINX client_max_body_size is 1 MiB; APIs often need more). */
  maxBodyBytes: 10 * 1024 * 1024,
  /** Node's own default --max-http-header-size is 16 KiB; 413/431 past it. */
  maxHeaderBytes: 16 * 1024,
  /** Kubernetes' default terminationGracePeriodSeconds is 30 s; leave room for the rest of shutdown. */
  shutdownGrace: 10_000,
  /** Longer than common load balancers' 60 s idle timeout would cause resets; NGINX keepalive_timeout 75 s. */
  serverKeepAliveTimeout: 75_000,
  /** Whole-request time limit for a client sending its request (Node's default is 300 s). */
  requestTimeout: 300_000,
  /**
   * `%2F`, `%5C` and `\` in a path mean a slash to some backends and not to
   * others: refuse them (Envoy's path_with_escaped_slashes_action
   * REJECT_REQUEST; its default KEEP_UNCHANGED trusts every backend alike).
   */
  escapedSlashes: 'reject',
  /**
   * No peer is trusted to report the client's address until one is listed:
   * nginx's set_real_ip_from is empty by default, Envoy's xff_num_trusted_hops 0.
   */
  trustedProxies: [] as readonly string[],
  /**
   * Time to send a complete request head, from the connection's start or the
   * request's first byte. nginx's client_header_timeout is 60 s and a
   * slowloris held sockets that long; Apache's shipped mod_reqtimeout config
   * gives 10 s (header=10-20) and HAProxy's anti-DoS example 5 s
   * (timeout http-request). 10 s still fits a slow mobile client.
   */
  headersTimeout: 10_000,
  /**
   * Client connections at once, per process. Measured (docs/decisions.md): an
   * idle client connection costs the gateway 12–16 KiB of RSS, so 10,000 cost
   * about 160 MiB, which fits a 512 MiB container beside the heap and the
   * upstream pools. Same order as HAProxy's anti-DoS example (maxconn 20000,
   * "about 1 GB per 20000 connections") and nginx's worker_connections × workers.
   */
  maxConnections: 10_000,
  /**
   * Largest config file read (CUTOVER_CONFIG_MAX_BYTES). Real configs of a few
   * hundred routes are well under 1 MiB; 10 MiB leaves room (issue 9 suggests
   * it) and refuses the 50 MB file that hung the gateway before reading it.
   */
  configMaxBytes: 10 * 1024 * 1024,
  /**
   * Longest a config load (worker start, parse, checks) may take
   * (CUTOVER_CONFIG_TIMEOUT). The same as shutdownGrace: a reload never
   * outlasts what a shutdown would wait for. Measured here: a config of a few
   * hundred routes takes under a second, 40,000 keys about 2–3 s, a 10 MiB
   * file of tiny keys 10–20 s on a busy two-core machine (then this limit is
   * the one that applies).
   */
  configTimeout: 10_000,
  /**
   * Heap of the worker that parses a config: parsing a 10 MiB file of tiny
   * keys peaked at about 870 MiB of RSS here. Past it the load is refused and
   * the process is unharmed.
   */
  configWorkerHeapMb: 1024,
  /**
   * Request bodies up to this size are read whole before the upstream is
   * contacted, so a slow upload holds no upstream connection (nginx
   * proxy_request_buffering on; 1 MiB is nginx's client_max_body_size and
   * Envoy's per_connection_buffer_limit_bytes). Larger bodies stream.
   */
  requestBuffer: 1024 * 1024,
  /**
   * Response bytes kept in memory per request for a client slower than the
   * upstream before the upstream is paused (nginx proxy_buffering on; nginx
   * buffers up to proxy_max_temp_file_size 1 GiB on disk, Envoy 1 MiB per
   * connection in memory: we take Envoy's, there is no disk spill).
   */
  responseBuffer: 1024 * 1024,
  /**
   * Process-wide cap on buffered request and response bytes: 256 fully
   * buffered answers at the 1 MiB default, a quarter of a 1 GiB container.
   * Past it, bodies stream as with buffers of 0 (nginx spills to disk instead).
   */
  bufferMemory: 256 * 1024 * 1024,
  /** Longest gap between two reads of a request body; 408 past it (nginx client_body_timeout 60 s). */
  clientBodyTimeout: 60_000,
  /** Longest a client may leave buffered response bytes unread; then the connection is closed (nginx send_timeout 60 s). */
  sendTimeout: 60_000,
  /**
   * HTTP/2 server limits (issue 12). 100 concurrent streams a session: the
   * minimum RFC 9113 §6.5.2 recommends, and nginx's http2_max_concurrent_streams
   * and Envoy's listener default; Node's own default is unlimited. Session
   * memory 10 MB is Node's default (header tables, queued output, streams).
   * A session idle for 75 s is closed, as HTTP/1.1 keep-alive
   * (serverKeepAliveTimeout): nginx's keepalive_timeout governs idle HTTP/2
   * connections too. Stream resets: a burst of 1000 then 33 a second, the
   * limits nghttp2 chose after the rapid-reset attack (CVE-2023-44487).
   * The header list limit follows server.maxHeaderBytes unless set.
   */
  http2: {
    maxConcurrentStreams: 100,
    maxSessionMemoryMB: 10,
    idleTimeout: 75_000,
    streamResetBurst: 1000,
    streamResetRate: 33,
  },
  preserveHost: false,
  backendHeader: true,
  /**
   * WebSocket only (RFC 6455), as nginx tunnels nothing unless told and Envoy
   * only the upgrade types configured (upgrade_configs); any other Upgrade is
   * ignored, as RFC 9110 §7.8 lets a server do.
   */
  upgrades: ['websocket'] as readonly string[],
  /**
   * An open tunnel with no byte either way for this long is closed: nginx's
   * proxy_read_timeout (60 s), which is what closes an idle WebSocket behind
   * it (nginx.org/en/docs/http/websocket.html). Heartbeats pass well inside
   * it: Socket.IO pings every 25 s, the ws README's example every 30 s.
   */
  tunnelIdleTimeout: 60_000,
  /** DESIGN.md: `x-release-stage: canary` → candidate, `stable` → legacy. */
  overrideHeader: 'x-release-stage',
  overrideCandidate: 'canary',
  overrideLegacy: 'stable',
  weight: 0,
  /** Connections per backend instance; undici's Pool is unbounded by default, which hides overload. */
  connections: 256,
  /**
   * Requests waiting for a free connection of a backend instance: at most
   * 1024 (Envoy's circuit-breaker max_pending_requests default), each for at
   * most 3 s, the default route timeout (DESIGN.md `defaults.timeout: 3s`):
   * Envoy bounds a pending request only by its route timeout, nginx's
   * upstream `queue` waits 60 s. Shorter turns a brief backend stall into
   * 503s that a slightly slower answer would have avoided (seen in the bench
   * with 1 s on a loaded machine).
   */
  maxQueued: 1024,
  queueTimeout: 3_000,
  /** Idle upstream keep-alive; below the common 5 s server default (Node's keepAliveTimeout) to avoid races. */
  upstreamKeepAlive: 4_000,
  // The guard blocks' defaults live with their schemas, one table
  // (guard-blocks.ts); these names stay for code that reads a block's defaults.
  health: GUARD_BLOCKS.health.defaults,
  breaker: GUARD_BLOCKS.breaker.defaults,
  outlier: GUARD_BLOCKS.outlier.defaults,
  fallback: GUARD_BLOCKS.fallback.defaults,
  retry: GUARD_BLOCKS.retry.defaults,
  limit: GUARD_BLOCKS.limit.defaults,
  concurrency: GUARD_BLOCKS.concurrency.defaults,
  shadow: GUARD_BLOCKS.shadow.defaults,
  learnNoiseSample: LEARN_NOISE_SAMPLE,
  /**
   * grpc-status codes that make a gRPC answer a failure (issue 12's
   * documented default): UNKNOWN (2), DEADLINE_EXCEEDED (4), INTERNAL (13),
   * UNAVAILABLE (14), DATA_LOSS (15) — the server-side faults. It is Envoy's
   * set of codes that map to a 5xx (grpcToHttpStatus) without UNIMPLEMENTED,
   * which clients meet in normal use (optional services such as reflection);
   * Linkerd counts every code but OK. Codes that answer the client's request
   * (NOT_FOUND, INVALID_ARGUMENT, PERMISSION_DENIED, ...) are successes, as a
   * 4xx is. docs/decisions.md (issue 12) has the comparison.
   */
  grpcFailureCodes: [
    GRPC_STATUS_NAMES.indexOf('UNKNOWN'),
    GRPC_STATUS_NAMES.indexOf('DEADLINE_EXCEEDED'),
    GRPC_STATUS_NAMES.indexOf('INTERNAL'),
    GRPC_STATUS_NAMES.indexOf('UNAVAILABLE'),
    GRPC_STATUS_NAMES.indexOf('DATA_LOSS'),
  ] as readonly number[],
  /**
   * Bytes all shadow copies of the process may hold at once (issue 9: 400
   * copies of 1 MiB answers reached 700+ MiB RSS). 64 MiB holds 32 pairs of
   * two full 1 MiB answers, or thousands of typical few-KiB pairs, and stays
   * an eighth of a 512 MiB container; the compare pool's queue is 64 pairs.
   */
  shadowMemory: 64 * 1024 * 1024,
  /**
   * One process: what `cutover start` always was, and the demo's shape.
   * Several workers are opted into (DESIGN.md, "One machine, then many").
   */
  workers: 1,
  learnNoiseFirst: LEARN_NOISE_FIRST,
  /**
   * Rollouts. Steps 1, 5, 25, 50, 100 (DESIGN.md); 30 s per step and 10 min
   * of shadow are Flagger-like short holds; 200 requests before a decision
   * keep a 0.3% error bound meaningful (one error in 200 is 0.5%).
   * Two failed checks in a row roll back: one bad second is noise, two are a
   * trend. Gates check every second over the last 30 s.
   */
  rollout: {
    autoStart: true,
    steps: [1, 5, 25, 50, 100],
    interval: 30_000,
    shadowFor: 600_000,
    minRequests: 200,
    window: 30_000,
    failureLimit: 2,
    onSuccess: 'done',
  },
  /**
   * DESIGN.md: candidate 5xx above 0.3% or p95 above 800 ms roll back; error
   * rate and p99 within 5% of legacy's. The floors (0.1 percentage point,
   * 5 ms) keep a zero or tiny baseline from failing on one error or on
   * scheduler jitter. Shadow mismatches: at most 1% of compared pairs.
   */
  gates: {
    errorRate: 0.003,
    p95: 800,
    baseline: { errorRate: 0.05, p99: 0.05, errorRateFloor: 0.001, p99Floor: 5 },
    mismatchRate: 0.01,
  },
  rolloutCheckEvery: 1_000,
  /** Webhooks: 5 s to answer, 3 retries with backoff for events. */
  webhook: { timeout: 5_000, retries: 3 },
  /** Prometheus instant queries: 2 s, well inside a 1 s check cadence's patience of a few checks. */
  prometheusTimeout: 2_000,
  logLevel: 'info',
  accessLog: true,
  tracing: false,
  /**
   * Issue 13: 30 days of minute history, enough for a month-long migration
   * and the weeks after it that the incident trend needs. Its size is
   * measured in docs/report.md, "History" (≈ 0.8 KiB a row in SQLite for a
   * busy route, so 30 days of one route's two sides on one instance ≈ 68 MiB).
   */
  reportRetention: 30 * 86_400_000,
  /**
   * Issue 14: how long GET /api/report waits for Prometheus's instance
   * counts (`report.instances.prometheus`): the gates' own 2 s, so a
   * Prometheus that does not answer costs the report a ratio, not the page.
   */
  reportPrometheusTimeout: 2_000,
} as const;
