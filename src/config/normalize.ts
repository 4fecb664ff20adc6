// Turns a schema-checked file into the frozen Config: defaults applied,
// references resolved, and the checks that need the whole file at once
// (unknown backends, duplicate names, duplicate matches, path patterns).
import { availableParallelism } from 'node:os';
import { dirname, resolve } from 'node:path';
import { resolveBackendTls } from './backend-tls.ts';
import { DEFAULTS } from './defaults.ts';
import { GRPC_STATUS_NAMES } from './grpc-codes.ts';
import { grpcPath } from './grpc-match.ts';
import { resolveGuard, shadowOnByDefault } from './guards.ts';
import { readReportIncidents } from './incidents-file.ts';
import { parseJsonPath } from './json-path.ts';
import { readReportPlan } from './plan-file.ts';
import { ProtoFiles } from './proto-files.ts';
import { isRedisUrl } from './redis-url.ts';
import { referenceIssues } from './references.ts';
import { reportInstances } from './report-instances.ts';
import { resolveRollout, resolveRollouts } from './rollout.ts';
import type { RawConfig } from './schema.ts';
import { tlsFileIssues } from './tls-files.ts';
import type {
  BackendConfig,
  Config,
  GrpcMatch,
  Http2Limits,
  ListenerConfig,
  ListenerProtocol,
  RouteConfig,
  RouteMatch,
  StateConfig,
  TlsConfig,
} from './types.ts';

type RawHttp2 = NonNullable<NonNullable<RawConfig['server']>['http2']>;

export type FieldPath = readonly (string | number)[];

export interface PathIssue {
  path: FieldPath;
  message: string;
}

export interface Normalized {
  config: Config | undefined;
  issues: PathIssue[];
}

const PARAM = /^:[A-Za-z_][A-Za-z0-9_]*$/;

/** A message when the path pattern is malformed, else undefined. */
export function checkPathPattern(path: string): string | undefined {
  const segments = path.split('/').slice(1);
  for (let i = 0; i < segments.length; i++) {
    const seg = segments[i];
    if (seg === '*') {
      if (i !== segments.length - 1) return 'a * is allowed only as the last segment (/api/*)';
      continue;
    }
    if (seg.includes('*')) return `a * must be a whole segment, got "${seg}"`;
    if (seg.startsWith(':') && !PARAM.test(seg)) return `bad parameter "${seg}"; expected :name`;
  }
  return undefined;
}

/** `memory` and `sqlite:PATH` stay strings; every Redis form becomes one object with its defaults. */
function stateConfig(raw: RawConfig['state']): StateConfig {
  if (raw === undefined) return DEFAULTS.state;
  if (typeof raw === 'string' && !isRedisUrl(raw)) return raw;
  const spec = typeof raw === 'string' ? { url: raw } : raw;
  return Object.freeze({
    url: spec.url,
    prefix: spec.prefix ?? DEFAULTS.statePrefix,
    commandTimeout: spec.commandTimeout ?? DEFAULTS.stateCommandTimeout,
    tokenTimeout: spec.tokenTimeout ?? DEFAULTS.stateTokenTimeout,
  });
}

type RawTls = NonNullable<Extract<RawConfig['listen'], readonly unknown[]>[number]['tls']>;

/** A `tls` block with its files resolved against the config file's folder. */
function tlsConfig(raw: RawTls, folder: string): TlsConfig {
  const file = (path: string) => resolve(folder, path);
  return Object.freeze({
    cert: file(raw.cert),
    key: file(raw.key),
    ca: raw.ca === undefined ? undefined : file(raw.ca),
    sni: Object.freeze(
      (raw.sni ?? []).map((s) =>
        Object.freeze({
          hosts: Object.freeze(s.hosts.map((h) => h.toLowerCase())),
          cert: file(s.cert),
          key: file(s.key),
        }),
      ),
    ),
  });
}

/** A plain address is one HTTP/1.1 listener, as before listener lists existed. */
function normalizeListeners(raw: RawConfig['listen'], folder: string): readonly ListenerConfig[] {
  if (raw === undefined || !Array.isArray(raw)) {
    const address = Object.freeze(raw ?? DEFAULTS.listen);
    const protocols: readonly ListenerProtocol[] = Object.freeze(['http1']);
    return Object.freeze([Object.freeze({ address, protocols, tls: undefined })]);
  }
  return Object.freeze(
    raw.map((l) =>
      Object.freeze({
        address: Object.freeze(l.address),
        protocols: Object.freeze([...new Set(l.protocols ?? DEFAULTS.listenerProtocols)]),
        tls: l.tls && tlsConfig(l.tls, folder),
      }),
    ),
  );
}

function normalizeBackend(
  name: string,
  raw: RawConfig['backends'][string],
  defaults: RawConfig['defaults'],
  folder: string,
  issues: PathIssue[],
): BackendConfig {
  if (raw.url !== undefined && raw.urls !== undefined) {
    issues.push({ path: ['backends', name], message: 'expected url or urls, not both' });
  } else if (raw.url === undefined && raw.urls === undefined) {
    issues.push({
      path: ['backends', name],
      message: 'expected url (one instance) or urls (several)',
    });
  }
  const urls = raw.urls ?? (raw.url !== undefined ? [raw.url] : []);
  const protocol = raw.protocol ?? DEFAULTS.upstreamProtocol;
  const scheme = protocol === 'h2' ? 'https:' : protocol === 'h2c' ? 'http:' : undefined;
  for (const url of urls) {
    if (scheme !== undefined && !url.startsWith(scheme)) {
      issues.push({
        path: ['backends', name, 'protocol'],
        message:
          protocol === 'h2'
            ? `protocol h2 is HTTP/2 over TLS and needs https:// URLs, got ${url} (h2c is HTTP/2 over plain TCP)`
            : `protocol h2c is HTTP/2 over plain TCP and needs http:// URLs, got ${url} (h2 is HTTP/2 over TLS)`,
      });
      break;
    }
  }
  if (protocol === 'http1' && raw.maxStreamsPerSession !== undefined) {
    issues.push({
      path: ['backends', name, 'maxStreamsPerSession'],
      message: 'applies to HTTP/2 backends only (protocol h2 or h2c)',
    });
  }
  if (raw.health?.grpc) {
    if (raw.health.path !== undefined) {
      issues.push({
        path: ['backends', name, 'health', 'path'],
        message: 'a gRPC health check calls grpc.health.v1.Health/Check; path is for HTTP checks',
      });
    }
    if (protocol === 'http1') {
      issues.push({
        path: ['backends', name, 'health', 'grpc'],
        message:
          'a gRPC health check needs protocol h2c or h2 (gRPC is HTTP/2 only); the backend has http1',
      });
    }
  }
  return Object.freeze({
    name,
    urls: Object.freeze(urls),
    protocol,
    maxConcurrentStreams: raw.maxConcurrentStreams ?? DEFAULTS.maxConcurrentStreams,
    maxStreamsPerSession: raw.maxStreamsPerSession ?? DEFAULTS.maxStreamsPerSession,
    tls: resolveBackendTls(name, raw.tls, urls, folder, issues),
    health: resolveGuard('health', raw.health, undefined),
    connectTimeout: raw.connectTimeout ?? defaults?.connectTimeout ?? DEFAULTS.connectTimeout,
    connections: raw.connections ?? DEFAULTS.connections,
    keepAliveTimeout: raw.keepAliveTimeout ?? DEFAULTS.upstreamKeepAlive,
    maxQueued: raw.maxQueued ?? DEFAULTS.maxQueued,
    queueTimeout: raw.queueTimeout ?? DEFAULTS.queueTimeout,
    breaker: resolveGuard('breaker', raw.breaker, defaults?.breaker),
    outlier: resolveGuard('outlier', raw.outlier, defaults?.outlier),
    // A backend's cap comes from its own block only (`defaults.concurrency` is for routes).
    concurrency: resolveGuard('concurrency', raw.concurrency, undefined),
  });
}

function normalizeRoute(
  raw: RawConfig['routes'][number],
  index: number,
  defaults: RawConfig['defaults'],
  hasPrometheus: boolean,
  protoFiles: ProtoFiles,
  issues: PathIssue[],
): RouteConfig {
  const at = (...rest: (string | number)[]): FieldPath => ['routes', index, ...rest];
  // Its backends and weight are checked with the other cross-references (references.ts).
  const weight = raw.weight ?? DEFAULTS.weight;
  // JSON paths in shadow rules are checked here so a bad one names its line.
  const shadow = raw.shadow || undefined;
  const jsonPaths: [(string | number)[], string][] = [
    ...(shadow?.compare?.ignore ?? []).map((p, i): [(string | number)[], string] => [
      ['compare', 'ignore', i],
      p,
    ]),
    ...(shadow?.compare?.timestamps ?? []).map((p, i): [(string | number)[], string] => [
      ['compare', 'timestamps', i],
      p,
    ]),
    ...Object.keys(shadow?.compare?.unordered ?? {}).map((p): [(string | number)[], string] => [
      ['compare', 'unordered', p],
      p,
    ]),
    ...(shadow?.redact?.paths ?? []).map((p, i): [(string | number)[], string] => [
      ['redact', 'paths', i],
      p,
    ]),
  ];
  for (const [field, p] of jsonPaths) {
    try {
      parseJsonPath(p);
    } catch (e) {
      issues.push({ path: at('shadow', ...field), message: (e as Error).message });
    }
  }
  // The schema saw to it that exactly one of path and grpc is set.
  const g = raw.match.grpc;
  const grpc: GrpcMatch | undefined = g && Object.freeze({ service: g.service, method: g.method });
  const path = grpc === undefined ? raw.match.path! : grpcPath(grpc);
  const patternProblem = checkPathPattern(path);
  if (patternProblem) issues.push({ path: at('match', 'path'), message: patternProblem });

  const headers = raw.match.headers
    ? Object.freeze(
        Object.fromEntries(Object.entries(raw.match.headers).map(([k, v]) => [k.toLowerCase(), v])),
      )
    : undefined;
  const match: RouteMatch = Object.freeze({
    host: raw.match.host?.toLowerCase(),
    path,
    // A gRPC call is always a POST (PROTOCOL-HTTP2.md "Requests").
    methods:
      grpc !== undefined
        ? Object.freeze(['POST' as const])
        : raw.match.methods
          ? Object.freeze([...new Set(raw.match.methods)])
          : undefined,
    headers,
    grpc,
  });
  const hasCandidate = raw.candidate !== undefined;
  const retry = resolveGuard('retry', raw.retry, defaults?.retry);
  const failureCodes = Object.freeze([
    ...new Set(raw.grpc?.failureCodes ?? defaults?.grpc?.failureCodes ?? DEFAULTS.grpcFailureCodes),
  ]);
  checkGrpcRetryCodes(retry?.grpcCodes ?? [], failureCodes, raw.retry, at, issues);
  const ds = defaults?.split;
  const split = raw.split;
  return Object.freeze({
    name: raw.name,
    index,
    match,
    legacy: raw.legacy,
    candidate: raw.candidate,
    split: Object.freeze({
      stickyKey: Object.freeze(split?.stickyKey ?? ds?.stickyKey ?? []),
      overrideHeader: split?.override ?? ds?.override ?? DEFAULTS.overrideHeader,
      overrideCandidate:
        split?.overrideValues?.candidate ??
        ds?.overrideValues?.candidate ??
        DEFAULTS.overrideCandidate,
      overrideLegacy:
        split?.overrideValues?.legacy ?? ds?.overrideValues?.legacy ?? DEFAULTS.overrideLegacy,
    }),
    weight,
    timeout: raw.timeout ?? defaults?.timeout ?? DEFAULTS.timeout,
    idleTimeout: raw.idleTimeout ?? defaults?.idleTimeout ?? DEFAULTS.idleTimeout,
    maxBodyBytes: raw.maxBodyBytes ?? defaults?.maxBodyBytes ?? DEFAULTS.maxBodyBytes,
    preserveHost: raw.preserveHost ?? defaults?.preserveHost ?? DEFAULTS.preserveHost,
    backendHeader: raw.backendHeader ?? defaults?.backendHeader ?? DEFAULTS.backendHeader,
    upgrades: new Set(
      (raw.upgrades ?? defaults?.upgrades ?? DEFAULTS.upgrades).map((p) => p.toLowerCase()),
    ),
    tunnelIdleTimeout:
      raw.tunnelIdleTimeout ?? defaults?.tunnelIdleTimeout ?? DEFAULTS.tunnelIdleTimeout,
    // Fallback and shadow copies need a candidate to fall back from or copy to.
    fallback: hasCandidate ? resolveGuard('fallback', raw.fallback, defaults?.fallback) : undefined,
    retry,
    grpc: Object.freeze({ failureCodes }),
    limit: resolveGuard('limit', raw.limit, defaults?.limit),
    concurrency: resolveGuard('concurrency', raw.concurrency, defaults?.concurrency),
    shadow: hasCandidate
      ? protoFiles.attach(
          resolveGuard(
            'shadow',
            raw.shadow,
            defaults?.shadow,
            shadowOnByDefault(raw, DEFAULTS.rollout.shadowFor),
          ),
          raw.shadow !== undefined && raw.shadow !== false && raw.shadow.compare !== undefined,
          at('shadow'),
          issues,
        )
      : undefined,
    rollout: resolveRollout(raw, at, hasPrometheus, issues),
  });
}

/**
 * A retry code that is not a failure code would never be retried: the
 * answer counts as a success, and successes are not retried. Said at load
 * rather than left to puzzle over.
 */
function checkGrpcRetryCodes(
  retryCodes: readonly number[],
  failureCodes: readonly number[],
  own: RawConfig['routes'][number]['retry'],
  at: (...rest: (string | number)[]) => FieldPath,
  issues: PathIssue[],
): void {
  const stray = retryCodes.filter((c) => !failureCodes.includes(c));
  if (stray.length === 0) return;
  const names = stray.map((c) => GRPC_STATUS_NAMES[c]).join(', ');
  issues.push({
    // Where the codes were written: the route's retry block, else its grpc block.
    path:
      own && own.grpcCodes !== undefined ? at('retry', 'grpcCodes') : at('grpc', 'failureCodes'),
    message: `${names} in retry.grpcCodes must also be in grpc.failureCodes (an answer that is not a failure is never retried); failure codes: ${failureCodes.map((c) => GRPC_STATUS_NAMES[c]).join(', ')}`,
  });
}

/**
 * The viewer token reads only: equal to the operator's token it would sign
 * operators in as viewers (or the reverse), and without an operator token
 * everyone on loopback is already an operator, so it would guard nothing.
 */
function viewerTokenIssues(raw: RawConfig): PathIssue[] {
  const viewer = raw.admin?.viewerToken;
  if (!viewer) return [];
  const path = ['admin', 'viewerToken'];
  if (!raw.admin?.token)
    return [{ path, message: 'expected admin.token to be set too (the operator token)' }];
  if (viewer === raw.admin.token)
    return [{ path, message: 'expected a token different from admin.token' }];
  return [];
}

/**
 * `server.workers`, with `auto` as the cores this process may use. Workers
 * are separate processes: state kept in one process's memory could not be
 * shared, so `state: memory` goes with one worker only.
 */
function workerCount(raw: RawConfig, issues: PathIssue[]): number {
  const setting = raw.server?.workers ?? DEFAULTS.workers;
  const workers = setting === 'auto' ? availableParallelism() : setting;
  const workerListen = raw.admin?.workerListen;
  // Worker N's port is this one + N: port 0 would not name N ports.
  if (workerListen && (workerListen.port === 0 || workerListen.port + workers - 1 > 65535)) {
    issues.push({
      path: ['admin', 'workerListen'],
      message: `expected a port from 1 to ${65536 - workers} (worker N listens on port + N), got ${workerListen.port}`,
    });
  }
  if (workers > 1 && (raw.state ?? DEFAULTS.state) === 'memory') {
    issues.push({
      path: ['state'],
      message: `memory cannot be shared by ${workers} workers (server.workers: ${setting}); use sqlite:PATH (the default) or redis://`,
    });
  }
  return workers;
}

/** `server.http2` with its defaults; a head HTTP/1.1 refuses is refused over HTTP/2 too. */
function http2Limits(raw: RawHttp2 | undefined, maxHeaderBytes: number): Http2Limits {
  const d = DEFAULTS.http2;
  return Object.freeze({
    maxConcurrentStreams: raw?.maxConcurrentStreams ?? d.maxConcurrentStreams,
    maxHeaderListBytes: raw?.maxHeaderListBytes ?? maxHeaderBytes,
    maxSessionMemoryMB: raw?.maxSessionMemoryMB ?? d.maxSessionMemoryMB,
    idleTimeout: raw?.idleTimeout ?? d.idleTimeout,
    streamResetBurst: raw?.streamResetBurst ?? d.streamResetBurst,
    streamResetRate: raw?.streamResetRate ?? d.streamResetRate,
  });
}

export function normalizeConfig(raw: RawConfig, source: string): Normalized {
  const issues: PathIssue[] = [];
  const backends = new Map<string, BackendConfig>();
  for (const [name, b] of Object.entries(raw.backends)) {
    backends.set(name, normalizeBackend(name, b, raw.defaults, dirname(source), issues));
  }
  issues.push(...referenceIssues(raw));
  const routes: RouteConfig[] = [];
  const protoFiles = new ProtoFiles(source);
  const hasPrometheus = raw.rollouts?.prometheus !== undefined;
  raw.routes.forEach((r, i) => {
    routes.push(normalizeRoute(r, i, raw.defaults, hasPrometheus, protoFiles, issues));
  });

  const requestTimeout = raw.server?.requestTimeout ?? DEFAULTS.requestTimeout;
  // Node refuses a headersTimeout above requestTimeout (the head is part of
  // the request); the default yields to a shorter requestTimeout.
  const headersTimeout =
    raw.server?.headersTimeout ??
    (requestTimeout > 0
      ? Math.min(DEFAULTS.headersTimeout, requestTimeout)
      : DEFAULTS.headersTimeout);
  if (requestTimeout > 0 && headersTimeout > requestTimeout) {
    issues.push({
      path: ['server', 'headersTimeout'],
      message: `expected at most server.requestTimeout (${requestTimeout} ms), got ${headersTimeout} ms`,
    });
  }

  const workers = workerCount(raw, issues);
  const maxHeaderBytes = raw.server?.maxHeaderBytes ?? DEFAULTS.maxHeaderBytes;
  const listeners = normalizeListeners(raw.listen, dirname(source));
  // Certificate files are read here so a bad one is a config error naming it,
  // at start, on `cutover validate` and on a reload alike.
  listeners.forEach((l, i) => {
    if (l.tls) issues.push(...tlsFileIssues(l.tls, ['listen', i, 'tls']));
  });
  const adminTls = raw.admin?.tls && tlsConfig(raw.admin.tls, dirname(source));
  if (adminTls) issues.push(...tlsFileIssues(adminTls, ['admin', 'tls']));
  issues.push(...viewerTokenIssues(raw));
  const reportPlan =
    raw.report?.plan === undefined
      ? undefined
      : readReportPlan(raw.report.plan, dirname(source), issues);
  const reportIncidents =
    raw.report?.incidents === undefined
      ? undefined
      : readReportIncidents(raw.report.incidents, dirname(source), issues);
  const instances = reportInstances(raw.report?.instances, issues);

  if (issues.length > 0) return { config: undefined, issues };
  const admin = raw.admin;
  const config: Config = Object.freeze({
    source,
    listen: listeners[0].address,
    listeners,
    admin: Object.freeze({
      listen: Object.freeze(admin?.listen ?? DEFAULTS.adminListen),
      token: admin?.token === '' ? undefined : admin?.token,
      viewerToken: admin?.viewerToken === '' ? undefined : admin?.viewerToken,
      workerListen: admin?.workerListen && Object.freeze(admin.workerListen),
      tls: adminTls,
    }),
    state: stateConfig(raw.state),
    server: Object.freeze({
      maxHeaderBytes,
      shutdownGrace: raw.server?.shutdownGrace ?? DEFAULTS.shutdownGrace,
      keepAliveTimeout: raw.server?.keepAliveTimeout ?? DEFAULTS.serverKeepAliveTimeout,
      requestTimeout,
      headersTimeout,
      maxConnections: raw.server?.maxConnections ?? DEFAULTS.maxConnections,
      escapedSlashes: raw.server?.escapedSlashes ?? DEFAULTS.escapedSlashes,
      trustedProxies: Object.freeze(raw.server?.trustedProxies ?? DEFAULTS.trustedProxies),
      requestBuffer: raw.server?.requestBuffer ?? DEFAULTS.requestBuffer,
      responseBuffer: raw.server?.responseBuffer ?? DEFAULTS.responseBuffer,
      bufferMemory: raw.server?.bufferMemory ?? DEFAULTS.bufferMemory,
      clientBodyTimeout: raw.server?.clientBodyTimeout ?? DEFAULTS.clientBodyTimeout,
      sendTimeout: raw.server?.sendTimeout ?? DEFAULTS.sendTimeout,
      shadowMemory: raw.server?.shadowMemory ?? DEFAULTS.shadowMemory,
      http2: http2Limits(raw.server?.http2, maxHeaderBytes),
      workers,
    }),
    log: Object.freeze({
      level: raw.log?.level ?? DEFAULTS.logLevel,
      access: raw.log?.access ?? DEFAULTS.accessLog,
    }),
    tracing: Object.freeze({ enabled: raw.tracing?.enabled ?? DEFAULTS.tracing }),
    report: Object.freeze({
      retention: raw.report?.retention ?? DEFAULTS.reportRetention,
      // Absent rather than undefined: a config without one compares equal to before.
      ...(reportPlan && { plan: reportPlan }),
      ...(reportIncidents && { incidents: reportIncidents }),
      ...(instances && { instances }),
    }),
    backends,
    rollouts: resolveRollouts(raw.rollouts),
    routes: Object.freeze(routes),
  });
  return { config, issues };
}
