// A tree keyed by path segments, built once: find() walks the request path a
// segment at a time, so its cost depends on the path, not on how many routes
// there are.
//
// Precedence (docs/config.md): compared segment by segment from the left, a
// literal beats a `:param`, which beats a trailing `*`; so a longer match beats
// a shorter one. Routes ending at the same node are tried most constrained
// first (host, then methods, then gRPC calls only, then the number of
// headers); when none of them accepts the request the search backtracks to
// less specific nodes. A `match.grpc` route is its path (`/svc/Method`, or
// `/svc/:method`) and POST, plus "a gRPC call" (content type application/grpc…).
import type { IncomingHttpHeaders } from 'node:http';
import { checkPathPattern, type RouteMatch } from '../config/index.ts';
import { InvalidArgumentError } from '../errors.ts';
import { isGrpcContentType } from './grpc.ts';

export interface Routable {
  readonly match: RouteMatch;
}

export interface RouteHit<T> {
  readonly route: T;
  /** Values of `:name` segments, by name. */
  readonly params: Readonly<Record<string, string>>;
}

const SLASH = 47;
const OPEN_BRACKET = 91;
/** Up to this many literal children a node compares one by one; past it, a hash table. */
const LINEAR_CHILDREN = 8;
const NO_PARAMS: Readonly<Record<string, string>> = Object.freeze({});
const NO_HEADERS: IncomingHttpHeaders = Object.freeze({});

/** One route at the node where its pattern ends, with its constraints ready to test. */
interface Candidate<T> {
  readonly route: T;
  /** Exact host, or for `*.example.com` the suffix `.example.com`. */
  readonly host: string | undefined;
  readonly hostWildcard: boolean;
  /** Methods accepted, HEAD added when GET is listed (RFC 9110 §9.3.2). */
  readonly methods: ReadonlySet<string> | undefined;
  /** Only gRPC calls (`match.grpc`). */
  readonly grpcOnly: boolean;
  readonly headerNames: readonly string[];
  readonly headerValues: readonly string[];
  readonly paramNames: readonly string[];
  /** `__proto__` cannot be set by assignment on a plain object. */
  readonly unsafeParamName: boolean;
  /** The answer itself when the route has no params, so a hit allocates nothing. */
  readonly hit: RouteHit<T> | undefined;
  /** Position in the routes given to the constructor; last tie-break. */
  readonly order: number;
}

class Node<T> {
  literalKeys: string[] = [];
  literalNodes: Node<T>[] = [];
  /** Open-addressing index into literalKeys for wide nodes; -1 is an empty slot. */
  literalSlots: Int32Array | undefined = undefined;
  param: Node<T> | undefined = undefined;
  /** Routes whose pattern ends here. */
  exact: Candidate<T>[] | undefined = undefined;
  /** Routes whose pattern ends here with a trailing `*`. */
  prefix: Candidate<T>[] | undefined = undefined;

  /** Positions in literalKeys while the table is built; dropped by seal(). */
  building: Map<string, number> | undefined = undefined;

  literalChild(key: string): Node<T> {
    this.building ??= new Map();
    const i = this.building.get(key);
    if (i !== undefined) return this.literalNodes[i];
    const child = new Node<T>();
    this.building.set(key, this.literalKeys.length);
    this.literalKeys.push(key);
    this.literalNodes.push(child);
    return child;
  }

  /**
   * The literal child named by `path[start, end)`. Compared in place, never
   * sliced: a substring per segment would cost an allocation and a hash.
   */
  findLiteral(path: string, start: number, end: number): Node<T> | undefined {
    const keys = this.literalKeys;
    const n = end - start;
    const slots = this.literalSlots;
    if (slots !== undefined) {
      const mask = slots.length - 1;
      for (let j = hashRange(path, start, end) & mask; ; j = (j + 1) & mask) {
        const i = slots[j];
        if (i === -1) return undefined;
        const key = keys[i];
        if (key.length === n && path.startsWith(key, start)) return this.literalNodes[i];
      }
    }
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i];
      if (key.length === n && path.startsWith(key, start)) return this.literalNodes[i];
    }
    return undefined;
  }

  /** Sorts candidates and indexes wide nodes, once, after every route is in. */
  seal(): void {
    this.building = undefined;
    const keys = this.literalKeys;
    if (keys.length > LINEAR_CHILDREN) {
      let size = 16;
      while (size < keys.length * 2) size *= 2; // at most half full: short probe runs
      const slots = new Int32Array(size).fill(-1);
      for (let i = 0; i < keys.length; i++) {
        let j = hashRange(keys[i], 0, keys[i].length) & (size - 1);
        while (slots[j] !== -1) j = (j + 1) & (size - 1);
        slots[j] = i;
      }
      this.literalSlots = slots;
    }
    this.exact?.sort(byConstraints);
    this.prefix?.sort(byConstraints);
    for (const child of this.literalNodes) child.seal();
    this.param?.seal();
  }
}

/** FNV-1a over the UTF-16 code units of `text[start, end)`, folded so the low bits mix. */
function hashRange(text: string, start: number, end: number): number {
  let h = 0x811c9dc5;
  for (let i = start; i < end; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return h ^ (h >>> 15);
}

/** More constrained first: host, then methods, then gRPC only, then header count; exact host before wildcard. */
function byConstraints<T>(a: Candidate<T>, b: Candidate<T>): number {
  return (
    Number(b.host !== undefined) - Number(a.host !== undefined) ||
    Number(b.methods !== undefined) - Number(a.methods !== undefined) ||
    Number(b.grpcOnly) - Number(a.grpcOnly) ||
    b.headerNames.length - a.headerNames.length ||
    Number(a.hostWildcard) - Number(b.hostWildcard) ||
    (b.host?.length ?? 0) - (a.host?.length ?? 0) ||
    a.order - b.order
  );
}

function candidateOf<T extends Routable>(
  route: T,
  order: number,
  paramNames: string[],
): Candidate<T> {
  const { host, methods, headers } = route.match;
  let accepted: Set<string> | undefined;
  if (methods !== undefined) {
    accepted = new Set(methods);
    if (accepted.has('GET')) accepted.add('HEAD');
  }
  const headerNames = headers ? Object.keys(headers).map((name) => name.toLowerCase()) : [];
  const headerValues = headers ? Object.values(headers) : [];
  const lowerHost = host?.toLowerCase();
  const hostWildcard = lowerHost?.startsWith('*.') ?? false;
  return {
    route,
    host: hostWildcard ? lowerHost?.slice(1) : lowerHost,
    hostWildcard,
    methods: accepted,
    grpcOnly: route.match.grpc !== undefined,
    headerNames,
    headerValues,
    paramNames,
    unsafeParamName: paramNames.includes('__proto__'),
    hit: paramNames.length === 0 ? Object.freeze({ route, params: NO_PARAMS }) : undefined,
    order,
  };
}

/** `Host` without the port, lower-cased (RFC 9110 §4.2.3: host names are case-insensitive). */
function bareHost(host: string): string {
  let end = host.length;
  if (host.charCodeAt(0) === OPEN_BRACKET) {
    const close = host.indexOf(']');
    if (close !== -1) end = close + 1;
  } else {
    const colon = host.indexOf(':');
    if (colon !== -1) end = colon;
  }
  const bare = end === host.length ? host : host.slice(0, end);
  return bare.toLowerCase();
}

function headerEquals(actual: string | string[] | undefined, expected: string): boolean {
  if (typeof actual === 'string') return actual === expected;
  return actual !== undefined && actual.join(', ') === expected;
}

function decodeParam(raw: string): string {
  if (raw.indexOf('%') === -1) return raw;
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw;
  }
}

export class Router<T extends Routable> {
  readonly #root = new Node<T>();
  /** Start and end offsets of the params captured on the current search path. */
  readonly #spans: Int32Array;
  readonly #size: number;
  // The request being matched; find() is synchronous, so one set of fields serves every call.
  #method = '';
  #rawHost: string | undefined = undefined;
  #host: string | undefined = undefined;
  #hostReady = false;
  #headers: IncomingHttpHeaders = NO_HEADERS;
  #path = '';

  constructor(routes: readonly T[]) {
    let maxParams = 0;
    for (let order = 0; order < routes.length; order++) {
      maxParams = Math.max(maxParams, this.#insert(routes[order], order));
    }
    this.#root.seal();
    this.#spans = new Int32Array(maxParams * 2);
    this.#size = routes.length;
  }

  /** Adds one route under the node its pattern names; returns its number of params. */
  #insert(route: T, order: number): number {
    const pattern = route.match.path;
    const problem = pattern.startsWith('/')
      ? checkPathPattern(pattern)
      : 'expected a path starting with /';
    if (problem)
      throw new InvalidArgumentError(`route path ${JSON.stringify(pattern)}: ${problem}`);
    const segments = pattern.split('/');
    let node = this.#root;
    let isPrefix = false;
    const paramNames: string[] = [];
    for (let i = 1; i < segments.length; i++) {
      const segment = segments[i];
      if (segment === '*') {
        isPrefix = true;
      } else if (segment.startsWith(':')) {
        paramNames.push(segment.slice(1));
        node.param ??= new Node<T>();
        node = node.param;
      } else {
        node = node.literalChild(segment);
      }
    }
    const candidate = candidateOf(route, order, paramNames);
    if (isPrefix) {
      node.prefix ??= [];
      node.prefix.push(candidate);
    } else {
      node.exact ??= [];
      node.exact.push(candidate);
    }
    return paramNames.length;
  }

  /** How many routes the table holds. */
  get size(): number {
    return this.#size;
  }

  /**
   * The route for a request, or undefined. `path` is the request path without
   * the query string; `host` is the Host header's value (a port and upper case
   * are ignored, so the already bare, lower-cased host is fine too).
   */
  find(
    method: string,
    host: string | undefined,
    path: string,
    headers: IncomingHttpHeaders,
  ): RouteHit<T> | undefined {
    if (path.charCodeAt(0) !== SLASH) return undefined;
    this.#method = method;
    this.#rawHost = host;
    this.#hostReady = false;
    this.#headers = headers;
    this.#path = path;
    const hit = this.#walk(this.#root, 1, 0);
    // Let the request's objects go once the answer is known.
    this.#headers = NO_HEADERS;
    this.#rawHost = undefined;
    this.#host = undefined;
    return hit;
  }

  /**
   * Matches the path from offset `pos` (just after a '/') below `node`; `pos`
   * past the end means every segment is consumed. `nParams` params are captured.
   */
  #walk(node: Node<T>, pos: number, nParams: number): RouteHit<T> | undefined {
    const path = this.#path;
    if (pos > path.length) {
      return this.#pick(node.exact, nParams) ?? this.#pick(node.prefix, nParams);
    }
    let end = path.indexOf('/', pos);
    if (end === -1) end = path.length;
    const literal = node.findLiteral(path, pos, end);
    if (literal !== undefined) {
      const hit = this.#walk(literal, end + 1, nParams);
      if (hit !== undefined) return hit;
    }
    // A parameter takes a whole non-empty segment: `/users/:id` does not match `/users/`.
    if (node.param !== undefined && end > pos) {
      this.#spans[nParams * 2] = pos;
      this.#spans[nParams * 2 + 1] = end;
      const hit = this.#walk(node.param, end + 1, nParams + 1);
      if (hit !== undefined) return hit;
    }
    return this.#pick(node.prefix, nParams);
  }

  /** The first candidate whose constraints accept the request. */
  #pick(candidates: Candidate<T>[] | undefined, nParams: number): RouteHit<T> | undefined {
    if (candidates === undefined) return undefined;
    for (let i = 0; i < candidates.length; i++) {
      const c = candidates[i];
      if (this.#accepts(c)) return c.hit ?? this.#hitWithParams(c, nParams);
    }
    return undefined;
  }

  #accepts(c: Candidate<T>): boolean {
    if (c.host !== undefined) {
      const host = this.#requestHost();
      if (host === undefined) return false;
      if (c.hostWildcard) {
        if (host.length <= c.host.length || !host.endsWith(c.host)) return false;
      } else if (host !== c.host) return false;
    }
    // Methods are case-sensitive (RFC 9110 §9.1): `get` is not GET.
    if (c.methods !== undefined && !c.methods.has(this.#method)) return false;
    if (c.grpcOnly && !isGrpcContentType(this.#headers['content-type'])) return false;
    const names = c.headerNames;
    for (let i = 0; i < names.length; i++) {
      if (!headerEquals(this.#headers[names[i]], c.headerValues[i])) return false;
    }
    return true;
  }

  #requestHost(): string | undefined {
    if (!this.#hostReady) {
      this.#host = this.#rawHost === undefined ? undefined : bareHost(this.#rawHost);
      this.#hostReady = true;
    }
    return this.#host;
  }

  #hitWithParams(c: Candidate<T>, nParams: number): RouteHit<T> {
    const params: Record<string, string> = {};
    const names = c.paramNames;
    const path = this.#path;
    for (let i = 0; i < nParams; i++) {
      const value = decodeParam(path.slice(this.#spans[i * 2], this.#spans[i * 2 + 1]));
      if (c.unsafeParamName && names[i] === '__proto__') {
        Object.defineProperty(params, '__proto__', { value, enumerable: true, writable: true });
      } else params[names[i]] = value;
    }
    return { route: c.route, params };
  }
}
