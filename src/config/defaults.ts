// Every default in one place, each with where the number comes from.

export const DEFAULTS = {
  /** DESIGN.md's example listener. */
  listen: { host: '0.0.0.0', port: 8080 },
  /** Loopback, so the admin API is private unless a token is set. */
  adminListen: { host: '127.0.0.1', port: 9090 },
  state: 'sqlite:.cutover/state.db',
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
  preserveHost: false,
  backendHeader: true,
  /** DESIGN.md: `x-release-stage: canary` → candidate, `stable` → legacy. */
  overrideHeader: 'x-release-stage',
  overrideCandidate: 'canary',
  overrideLegacy: 'stable',
  weight: 0,
  /** Connections per backend instance; undici's Pool is unbounded by default, which hides overload. */
  connections: 256,
  /** Idle upstream keep-alive; below the common 5 s server default (Node's keepAliveTimeout) to avoid races. */
  upstreamKeepAlive: 4_000,
  health: { path: '/healthz', interval: 5_000, timeout: 1_000, healthy: 2, unhealthy: 3 },
  logLevel: 'info',
  accessLog: true,
  tracing: false,
} as const;
