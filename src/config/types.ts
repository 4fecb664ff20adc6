// The checked, defaulted, frozen config that the rest of Cutover reads.
import type { HttpMethod, KeyPart } from './fields.ts';
import type { FallbackReason, LimitFallback, LimitScope } from './guard-blocks.ts';

export type { FallbackReason, HttpMethod, KeyPart };

export interface ListenAddress {
  readonly host: string;
  readonly port: number;
}

export type ListenerProtocol = 'http1' | 'h2';
export type UpstreamProtocol = 'http1' | 'h2' | 'h2c';

/**
 * Certificate files of a TLS listener or of the admin listener; paths absolute
 * (resolved against the config file's folder).
 */
export interface TlsConfig {
  readonly cert: string;
  readonly key: string;
  /** CA bundle for client certificates; undefined: clients are not asked for one. */
  readonly ca: string | undefined;
  /** Other certificates chosen by the TLS server name (SNI); hosts lower-cased, `*.` wildcards allowed. */
  readonly sni: readonly {
    readonly hosts: readonly string[];
    readonly cert: string;
    readonly key: string;
  }[];
}

export interface ListenerConfig {
  readonly address: ListenAddress;
  /** What the listener accepts; h2 on a plaintext listener is h2c with prior knowledge. */
  readonly protocols: readonly ListenerProtocol[];
  readonly tls: TlsConfig | undefined;
}

export interface HealthConfig {
  /** The HTTP check's path (unused by a gRPC check). */
  readonly path: string;
  /** Set: the check is grpc.health.v1.Health/Check for this service ('' = the whole server). */
  readonly grpc: { readonly service: string } | undefined;
  readonly interval: number;
  readonly timeout: number;
  readonly healthy: number;
  readonly unhealthy: number;
}

/** A route's `shadow.compare` rules as written (all optional); compare compiles them. */
export interface CompareRulesConfig {
  /** Response headers to compare; default `['content-type']`. Volatile ones are never compared. */
  readonly headers?: readonly string[];
  /** Content types whose bodies are not compared, e.g. `text/html` or `image/*`. */
  readonly ignoreContentTypes?: readonly string[];
  /** JSON paths left out of the comparison, e.g. `$.meta.requestId`, `$.items[*].updatedAt`. */
  readonly ignore?: readonly string[];
  /** A key holding null equals a missing key. */
  readonly nullEqualsMissing?: boolean;
  /**
   * Arrays compared as sets: path → key field (`{ '$.items': 'id' }`), or
   * `null` / `true` / `''` to compare as a multiset of whole values.
   */
  readonly unordered?: Readonly<Record<string, string | boolean | null>>;
  /** JSON paths whose strings are compared as instants. */
  readonly timestamps?: readonly string[];
  /** Round numbers to this many decimal places before comparing. */
  readonly floatPlaces?: number;
  /** A FileDescriptorSet (`protoc --descriptor_set_out`) to decode gRPC messages with. */
  readonly protoset?: string;
  /** .proto files to decode gRPC messages with (instead of `protoset`). */
  readonly protos?: readonly string[];
  /** Directories where imports of `protos` are looked for (protoc's --proto_path). */
  readonly protoPaths?: readonly string[];
}

/** The protobuf types of a route's gRPC service, read at load (config/proto-files.ts). */
export interface ProtoDescriptors {
  /** The files read, absolute. */
  readonly files: readonly string[];
  /** Hash of `json`: names the same types across reloads and threads. */
  readonly key: string;
  /** protobufjs' JSON form of the types (`Root.toJSON()`), as text: it crosses threads as a string. */
  readonly json: string;
}

export interface BreakerConfig {
  /** Open when failed / all calls in the window reaches this (0–1). */
  readonly errorRatio: number;
  /** A call slower than this (ms) counts as slow. */
  readonly slowCall: number;
  /** Open when slow / all calls in the window reaches this (0–1). */
  readonly slowRatio: number;
  /** Calls needed in the window before the breaker may open. */
  readonly minRequests: number;
  /** Sliding window length, ms. */
  readonly window: number;
  /** How long the breaker stays open before it lets probes through, ms. */
  readonly openFor: number;
  /** Probes admitted while half-open; all must succeed to close. */
  readonly probes: number;
}

export interface OutlierConfig {
  readonly consecutiveErrors: number;
  readonly ejectFor: number;
  readonly maxEjectFor: number;
  readonly maxEjectedPercent: number;
}

export interface FallbackConfig {
  readonly on: ReadonlySet<FallbackReason>;
  readonly methods: ReadonlySet<string>;
  readonly maxBodyBytes: number;
}

export interface RetryConfig {
  /** Tries in all, the first included. */
  readonly attempts: number;
  /** Retries in flight may be at most this share of requests in flight (0–1). */
  readonly budget: number;
  /** ... but at least this many retries in flight are always allowed. */
  readonly minConcurrent: number;
  readonly backoff: number;
  readonly maxBackoff: number;
  /** gRPC status codes (numbers) whose failed attempt is retried, as a 502/503/504 is. */
  readonly grpcCodes: readonly number[];
}

/** A route's `grpc` block: how its gRPC calls' answers are judged. */
export interface GrpcRouteConfig {
  /** grpc-status codes (numbers) that make an attempt a failure, whatever its HTTP status. */
  readonly failureCodes: readonly number[];
}

export interface LimitConfig {
  readonly rps: number;
  readonly burst: number;
  /** Empty: one bucket for the whole route. */
  readonly key: readonly KeyPart[];
  readonly maxKeys: number;
  /** `cluster`: one bucket per key for the whole fleet, in the state store. */
  readonly scope: LimitScope;
  /** A cluster limit while the store does not answer: the quota ÷ instances, admit all, or refuse all. */
  readonly onStoreDown: LimitFallback;
}

export interface ConcurrencyConfig {
  readonly max: number;
  readonly adaptive: boolean;
  readonly minLimit: number;
  readonly tolerance: number;
}

export interface ShadowConfig {
  /** Share of legacy-served requests copied to the candidate, percent. */
  readonly percent: number;
  /** Shadow writes too (for a candidate writing to its own store). */
  readonly writes: boolean;
  readonly maxBodyBytes: number;
  readonly maxInFlight: number;
  /** Newest mismatch samples kept per route. */
  readonly samples: number;
  /** Share (0–1) of shadowed safe requests also sent to legacy a second time to learn noise; 0 = off. */
  readonly learnNoise: number;
  /** Copies asked of legacy twice before falling back to `learnNoise` (the fast start); 0 with learning off. */
  readonly learnFirst: number;
  readonly compare: CompareRulesConfig;
  /** Types to decode gRPC messages with, from `compare.protoset` or `compare.protos`. */
  readonly proto: ProtoDescriptors | undefined;
  /** Redacted in kept samples, besides Authorization and Cookie headers. */
  readonly redact: { readonly paths: readonly string[]; readonly headers: readonly string[] };
}

/** One webhook as configured (a route's `rollout.webhooks` or the global `rollouts.webhooks`). */
export interface WebhookConfig {
  readonly url: string;
  /** `event`: told of every state change; `confirm`: must answer 2xx before each step up. */
  readonly kind: 'event' | 'confirm';
  readonly timeoutMs: number;
  /** Further attempts after a failed one (events only; a confirm is asked again at the next interval). */
  readonly retries: number;
  readonly headers: Readonly<Record<string, string>>;
}

export interface PrometheusGateConfig {
  readonly name: string;
  readonly query: string;
  /** The query's value must not be above `max` / below `min`; exactly one is set. */
  readonly max: number | undefined;
  readonly min: number | undefined;
}

export interface RolloutGates {
  /** Candidate 5xx (fallbacks included) / candidate requests must stay at or below this; undefined: off. */
  readonly errorRate: number | undefined;
  /** Candidate p95 latency bound, ms; undefined: off. */
  readonly p95: number | undefined;
  /** Candidate vs legacy over the same window; undefined: off. */
  readonly baseline:
    | {
        /** Candidate error rate may exceed legacy's by this share of legacy's (0.05 = 5%). */
        readonly errorRate: number;
        /** Candidate p99 may exceed legacy's by this share. */
        readonly p99: number;
        /** Differences in error rate up to this (absolute) never fail: a zero baseline allows some errors. */
        readonly errorRateFloor: number;
        /** Differences in p99 up to this many ms never fail. */
        readonly p99Floor: number;
      }
    | undefined;
  /** Shadow mismatched / compared pairs bound; undefined: off. */
  readonly mismatchRate: number | undefined;
  readonly prometheus: readonly PrometheusGateConfig[];
}

export interface RolloutConfig {
  readonly autoStart: boolean;
  /** Candidate weights, increasing, in percent. */
  readonly steps: readonly number[];
  /** Least time on each step, ms. */
  readonly interval: number;
  /** Time in shadow before the first step, ms; 0 skips shadow. */
  readonly shadowFor: number;
  /** Compared pairs (shadow) or candidate requests (a step) needed before moving on; also each gate's minimum sample. */
  readonly minRequests: number;
  /** The gates look at the last `window` ms (never before the phase began). */
  readonly window: number;
  /** Consecutive failed checks that roll back. */
  readonly failureLimit: number;
  readonly onSuccess: 'done' | 'pause';
  readonly gates: RolloutGates;
  readonly webhooks: readonly WebhookConfig[];
}

/** How Cutover checks an https backend's certificate. */
export interface BackendTlsConfig {
  /** PEM text of the CA certificates trusted instead of Node's built-in list; undefined: that list. */
  readonly ca: string | undefined;
  /** The absolute path `ca` was read from, for messages. */
  readonly caFile: string | undefined;
  /** Name sent as SNI and checked against the certificate; undefined: the URL's host. */
  readonly servername: string | undefined;
  /** No check at all: any certificate is accepted (tests; never in production). */
  readonly insecureSkipVerify: boolean;
}

export interface BackendConfig {
  readonly name: string;
  /** Base URLs of the instances (round robin), normalised by `new URL().href`. */
  readonly urls: readonly string[];
  /** HTTP/1.1, HTTP/2 over TLS, or HTTP/2 with prior knowledge (h2c). */
  readonly protocol: UpstreamProtocol;
  /** HTTP/2: streams one session (one of `connections`) carries at once. */
  readonly maxConcurrentStreams: number;
  /** HTTP/2: streams a session carries in all before a new one replaces it; 0: never replaced. */
  readonly maxStreamsPerSession: number;
  /** How an https backend's certificate is checked; undefined: Node's built-in CA list, the URL's host. */
  readonly tls: BackendTlsConfig | undefined;
  /** Present only when the backend configures active health checks. */
  readonly health: HealthConfig | undefined;
  readonly connectTimeout: number;
  readonly connections: number;
  readonly keepAliveTimeout: number;
  /** Requests per instance that may wait for a free connection; past it, 503 (or fallback). */
  readonly maxQueued: number;
  /** Longest wait for a free connection, ms; past it, 503 (or fallback). */
  readonly queueTimeout: number;
  /** Undefined when `breaker: false`. */
  readonly breaker: BreakerConfig | undefined;
  /** Undefined when `outlier: false`. */
  readonly outlier: OutlierConfig | undefined;
  /** A cap on this backend's requests in flight across all routes; undefined unless configured. */
  readonly concurrency: ConcurrencyConfig | undefined;
}

/** `match.grpc`: the gRPC calls of one service, or of one of its methods. */
export interface GrpcMatch {
  /** Full name, package included: `shop.v1.Orders`. */
  readonly service: string;
  /** Undefined: every method of the service. */
  readonly method: string | undefined;
}

export interface RouteMatch {
  readonly host: string | undefined;
  /** With `grpc`, the path it stands for: `/shop.v1.Orders/Get`, or `/shop.v1.Orders/:method`. */
  readonly path: string;
  /** Set: only gRPC calls (POST, content-type application/grpc…) match. Optional for routes built in code. */
  readonly grpc?: GrpcMatch | undefined;
  readonly methods: readonly HttpMethod[] | undefined;
  /** Header names lower-cased; values compared exactly. */
  readonly headers: Readonly<Record<string, string>> | undefined;
}

export interface SplitConfig {
  /** Empty when requests without a key are split at random. */
  readonly stickyKey: readonly KeyPart[];
  /** Lower-cased header name, or false when overrides are off. */
  readonly overrideHeader: string | false;
  readonly overrideCandidate: string;
  readonly overrideLegacy: string;
}

export interface RouteConfig {
  readonly name: string;
  /** Position in the file's `routes` list, for messages. */
  readonly index: number;
  readonly match: RouteMatch;
  readonly legacy: string;
  readonly candidate: string | undefined;
  readonly split: SplitConfig;
  /** Percent, 0–100 with two decimals, as written in the file. */
  readonly weight: number;
  readonly timeout: number;
  readonly idleTimeout: number;
  readonly maxBodyBytes: number;
  readonly preserveHost: boolean;
  readonly backendHeader: boolean;
  /** Protocols an Upgrade request may switch to, lower-cased; other upgrades are served as plain HTTP. */
  readonly upgrades: ReadonlySet<string>;
  /** An open tunnel with no byte either way for this long is closed, ms; 0 never. */
  readonly tunnelIdleTimeout: number;
  /** Undefined when `fallback: false` or the route has no candidate. */
  readonly fallback: FallbackConfig | undefined;
  /** Undefined unless the route (or defaults) configures retries. */
  readonly retry: RetryConfig | undefined;
  readonly grpc: GrpcRouteConfig;
  readonly limit: LimitConfig | undefined;
  readonly concurrency: ConcurrencyConfig | undefined;
  /** Undefined unless configured (and the route has a candidate). */
  readonly shadow: ShadowConfig | undefined;
  /** Undefined: the route is driven only by its weight. */
  readonly rollout: RolloutConfig | undefined;
}

/** `state:` in its Redis forms (a `redis://` string is given the defaults). */
export interface RedisStateConfig {
  /** A URL `parseRedisUrl` accepts: redis://, rediss://, redis+sentinel://, redis+cluster://. */
  readonly url: string;
  /** Keys live under the hash tag `{prefix}`: fleets with different prefixes share one Redis. */
  readonly prefix: string;
  /** ms a state command may go unanswered before it fails. */
  readonly commandTimeout: number;
  /** ms a token take (cluster rate limits, on the request path) may go unanswered. */
  readonly tokenTimeout: number;
}

/** `memory`, `sqlite:PATH`, or a Redis fleet. */
export type StateConfig = string | RedisStateConfig;

/** `server.http2`: what one HTTP/2 client connection (a session) may hold and do. */
export interface Http2Limits {
  /** Streams one session may have open at once (SETTINGS_MAX_CONCURRENT_STREAMS). */
  readonly maxConcurrentStreams: number;
  /** Header list size of one request: names + values + 32 bytes a field (SETTINGS_MAX_HEADER_LIST_SIZE). */
  readonly maxHeaderListBytes: number;
  /** Memory one session may use before new streams are refused, MB (Node's maxSessionMemory). */
  readonly maxSessionMemoryMB: number;
  /** A session without streams and without frames for this long is closed (GOAWAY), ms; 0 never. */
  readonly idleTimeout: number;
  /** Stream resets (RST_STREAM) a session may send at once before it is closed... */
  readonly streamResetBurst: number;
  /** ... and per second after that (nghttp2's token bucket, CVE-2023-44487). */
  readonly streamResetRate: number;
}

export interface Config {
  /** Absolute path of the file this came from, or `<inline>`. */
  readonly source: string;
  /** The first listener's address (what `cutover start` prints and workers share). */
  readonly listen: ListenAddress;
  /** Every listener; a plain `listen: ADDR` is one HTTP/1.1 listener. */
  readonly listeners: readonly ListenerConfig[];
  readonly admin: {
    readonly listen: ListenAddress;
    readonly token: string | undefined;
    /** A second bearer token that reads only (the dashboard's viewer role); never equal to `token`. */
    readonly viewerToken: string | undefined;
    /** With workers: worker N also serves the admin API alone on this port + N. */
    readonly workerListen: ListenAddress | undefined;
    /** HTTPS for the admin API (on `listen` and `workerListen` alike); `sni` is always empty. */
    readonly tls: TlsConfig | undefined;
  };
  readonly state: StateConfig;
  readonly server: {
    readonly maxHeaderBytes: number;
    readonly shutdownGrace: number;
    readonly keepAliveTimeout: number;
    readonly requestTimeout: number;
    /** `%2F`, `%5C` and `\` in a path: refused with 400, or forwarded unchanged. */
    readonly escapedSlashes: 'reject' | 'keep';
    /** Addresses and CIDR blocks whose forwarding headers (X-Forwarded-*, Forwarded, X-Real-IP) are kept. */
    readonly trustedProxies: readonly string[];
    /** Longest time from a connection's start (or a request's first byte) to its complete head, ms. */
    readonly headersTimeout: number;
    /** Client connections open at once; connections past it are closed at once. */
    readonly maxConnections: number;
    /** Bodies up to this many bytes are read whole before the upstream is contacted; 0: always stream. */
    readonly requestBuffer: number;
    /** Response bytes held per request for a slow client before the upstream is paused; 0: pause at once. */
    readonly responseBuffer: number;
    /** All buffered request and response bytes of the process, at most. */
    readonly bufferMemory: number;
    /** Longest gap between two reads of a request body, ms (408). */
    readonly clientBodyTimeout: number;
    /** Longest a client may leave buffered answer bytes unread, ms (connection closed). */
    readonly sendTimeout: number;
    /** Bytes all shadow copies together may hold (bodies, answers, compare queue). */
    readonly shadowMemory: number;
    readonly http2: Http2Limits;
    /** Processes `cutover start` runs (`auto` resolved to the cores at load); above 1, a primary forks them. */
    readonly workers: number;
  };
  readonly log: { readonly level: string; readonly access: boolean };
  readonly tracing: { readonly enabled: boolean };
  readonly report: {
    /** How long the minute history is kept in the state store, ms (docs/report.md, "History"). */
    readonly retention: number;
    /** `report.plan`: the plan served at GET /api/plan and used as the report's cost model. */
    readonly plan?: ReportPlan;
    /** `report.incidents`: the incidents CSV GET /api/report adds (as `cutover report --incidents`). */
    readonly incidents?: ReportIncidents;
    /** `report.instances`: GET /api/report's instance counts when the request gives none. */
    readonly instances?: ReportInstances;
  };
  readonly backends: ReadonlyMap<string, BackendConfig>;
  readonly rollouts: {
    /** How often the controller checks every rollout's gates, ms. */
    readonly checkEvery: number;
    readonly webhooks: readonly WebhookConfig[];
    readonly prometheus: { readonly url: string; readonly timeoutMs: number } | undefined;
  };
  readonly routes: readonly RouteConfig[];
}

/** One line of the imported incidents CSV (docs/report.md "Incidents"). */
export interface ImportedIncident {
  /** Epoch ms. */
  readonly at: number;
  readonly kind: string;
  /** Empty when the incident is not tied to one route. */
  readonly route: string;
  readonly note: string;
}

/** An incidents CSV, read at load (src/config/incidents-file.ts). */
export interface ReportIncidents {
  /** The absolute path it was read from. */
  readonly file: string;
  readonly list: readonly ImportedIncident[];
}

/** `report.instances`: counts as written, or the Prometheus jobs to count at report time. */
export type ReportInstances =
  | { readonly kind: 'fixed'; readonly legacy: number; readonly candidate: number }
  | {
      readonly kind: 'prometheus';
      readonly url: string;
      readonly legacyJob: string;
      readonly candidateJob: string;
      readonly timeoutMs: number;
    };

/** A `cutover plan --format json` output, read at load (src/config/plan-file.ts). */
export interface ReportPlan {
  /** The absolute path it was read from. */
  readonly file: string;
  /** As written; only `modules` being a list is checked (as `cutover report --plan` does). */
  readonly json: { readonly modules: readonly unknown[]; readonly [key: string]: unknown };
}
