// The checks that tie one part of a config to another: a route's backends,
// duplicate route names, two routes with the same match, a weight with no
// candidate. They read the raw data and skip whatever did not parse, so they
// run beside the schema's own errors and one run lists every problem
// (`cutover validate` showed only the schema's before).
import { grpcPath } from './grpc-match.ts';
import type { PathIssue } from './normalize.ts';

type Fields = Record<string, unknown>;

function isFields(value: unknown): value is Fields {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export interface MatchShape {
  readonly host?: string;
  readonly path: string;
  readonly methods?: readonly string[];
  readonly headers?: Readonly<Record<string, string>>;
  /** A gRPC match: its path and POST are in `path` and `methods`; this adds "gRPC calls only". */
  readonly grpc?: boolean;
}

/** Two matches are the same when they accept exactly the same requests. */
export function matchKey(m: MatchShape): string {
  const path = m.path
    .split('/')
    .map((s) => (s.startsWith(':') ? ':' : s))
    .join('/');
  const methods = m.methods ? [...new Set(m.methods)].sort().join(',') : '*';
  const headers = m.headers
    ? Object.entries(m.headers)
        .map(([k, v]): [string, string] => [k.toLowerCase(), v])
        .sort(([a], [b]) => (a < b ? -1 : 1))
        .map(([k, v]) => `${k}=${v}`)
        .join('&')
    : '';
  return `${m.host?.toLowerCase() ?? '*'} ${path} ${methods} ${headers}${m.grpc ? ' grpc' : ''}`;
}

/** `match.grpc` as a path and POST, when its parts are strings (the schema reports the rest). */
function rawGrpcMatch(grpc: unknown): MatchShape | undefined {
  if (!isFields(grpc) || typeof grpc.service !== 'string') return undefined;
  if (grpc.method !== undefined && typeof grpc.method !== 'string') return undefined;
  return {
    path: grpcPath({ service: grpc.service, method: grpc.method }),
    methods: ['POST'],
    grpc: true,
  };
}

/** The match of a raw route when its parts have the right types; undefined otherwise. */
function rawMatch(value: unknown): MatchShape | undefined {
  if (!isFields(value)) return undefined;
  // path and grpc together are an error of their own (normalize.ts); no duplicate is reported then.
  const grpc = value.grpc === undefined ? undefined : rawGrpcMatch(value.grpc);
  if ((grpc === undefined) === (typeof value.path !== 'string')) return undefined;
  const { host, methods, headers } = value;
  if (host !== undefined && typeof host !== 'string') return undefined;
  if (
    methods !== undefined &&
    !(Array.isArray(methods) && methods.every((x) => typeof x === 'string'))
  )
    return undefined;
  if (
    headers !== undefined &&
    !(isFields(headers) && Object.values(headers).every((x) => typeof x === 'string'))
  )
    return undefined;
  return {
    host,
    path: grpc?.path ?? (value.path as string),
    methods: grpc?.methods ?? (methods as string[] | undefined),
    headers: headers as Record<string, string> | undefined,
    grpc: grpc !== undefined,
  };
}

/**
 * A route that takes only gRPC calls cannot send them to a backend spoken
 * to over HTTP/1.1 (gRPC is HTTP/2 end to end); said at load rather than
 * found on the first call. Routes matched by path may mix both and get
 * CUTOVER_ERR_GRPC_BACKEND_PROTOCOL per call instead.
 */
function grpcBackendIssues(route: Fields, index: number, raw: Fields, issues: PathIssue[]): void {
  if (!isFields(route.match) || route.match.grpc === undefined || !isFields(raw.backends)) return;
  for (const side of ['legacy', 'candidate'] as const) {
    const name = route[side];
    const backend = typeof name === 'string' ? raw.backends[name] : undefined;
    if (isFields(backend) && (backend.protocol ?? 'http1') === 'http1') {
      issues.push({
        path: ['routes', index, side],
        message: `backend "${name}" is spoken to over HTTP/1.1 (protocol: http1), which cannot carry the gRPC calls this route matches; set its protocol to h2c or h2`,
      });
    }
  }
}

function routeIssues(
  route: Fields,
  index: number,
  backends: readonly string[] | undefined,
  issues: PathIssue[],
): void {
  const known = backends?.join(', ') || 'none';
  const { legacy, candidate, weight } = route;
  if (backends && typeof legacy === 'string' && !backends.includes(legacy)) {
    issues.push({
      path: ['routes', index, 'legacy'],
      message: `backend "${legacy}" is not defined (defined: ${known})`,
    });
  }
  if (typeof candidate === 'string') {
    if (backends && !backends.includes(candidate)) {
      issues.push({
        path: ['routes', index, 'candidate'],
        message: `backend "${candidate}" is not defined (defined: ${known})`,
      });
    } else if (candidate === legacy) {
      issues.push({
        path: ['routes', index, 'candidate'],
        message: 'the candidate must be another backend than legacy',
      });
    }
  }
  if (candidate === undefined && typeof weight === 'number' && weight > 0) {
    issues.push({
      path: ['routes', index, 'weight'],
      message: `a weight above 0 needs a candidate backend, got ${weight}`,
    });
  }
}

/** Every cross-reference problem of a config, read from whatever of it has the right shape. */
export function referenceIssues(raw: unknown): PathIssue[] {
  const issues: PathIssue[] = [];
  if (!isFields(raw) || !Array.isArray(raw.routes)) return issues;
  const backends = isFields(raw.backends) ? Object.keys(raw.backends) : undefined;
  const byName = new Map<string, number>();
  const byMatch = new Map<string, number>();
  const names: unknown[] = [];
  raw.routes.forEach((route: unknown, i: number) => {
    names.push(isFields(route) ? route.name : undefined);
    if (!isFields(route)) return;
    routeIssues(route, i, backends, issues);
    grpcBackendIssues(route, i, raw, issues);
    if (typeof route.name === 'string') {
      const sameName = byName.get(route.name);
      if (sameName !== undefined) {
        issues.push({
          path: ['routes', i, 'name'],
          message: `duplicate route name "${route.name}" (first used at routes[${sameName}])`,
        });
      } else byName.set(route.name, i);
    }
    const match = rawMatch(route.match);
    if (match === undefined) return;
    const key = matchKey(match);
    const sameMatch = byMatch.get(key);
    if (sameMatch !== undefined) {
      issues.push({
        path: ['routes', i, 'match'],
        message: `same match as routes[${sameMatch}] (${String(names[sameMatch])}); one of them could never be chosen`,
      });
    } else byMatch.set(key, i);
  });
  return issues;
}
