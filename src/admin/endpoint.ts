// The admin API as a table: each endpoint is a method, a path pattern,
// whether it changes anything (writes need the operator role and, with a
// session cookie, the CSRF token) and its handler. The server authenticates
// once, then finds the endpoint here; handlers live in one file per concern.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { NotFoundError } from '../errors.ts';
import type { Identity } from './access.ts';
import { nameFromSegment } from './http.ts';

export type Method = 'GET' | 'POST' | 'PUT' | 'DELETE';

/** One call to an endpoint: the request, its URL and the names its pattern captured (decoded). */
export interface Call<Deps> {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly url: URL;
  readonly params: readonly string[];
  readonly deps: Deps;
  /** The caller, authenticated; a write endpoint is only called for an operator. */
  readonly who: Identity;
}

export interface Endpoint<Deps> {
  readonly method: Method;
  /** Anchored; each capture group is one path segment, percent-decoded before the handler sees it. */
  readonly pattern: RegExp;
  /** True for a change: operator role only, CSRF token with a cookie session. */
  readonly write: boolean;
  handle(call: Call<Deps>): Promise<void> | void;
}

export interface Found<Deps> {
  readonly endpoint: Endpoint<Deps>;
  readonly params: readonly string[];
}

/**
 * The endpoint for `method` and `path`, its captures decoded; NotFoundError
 * (404, as before the table) when none matches.
 */
export function findEndpoint<Deps>(
  endpoints: readonly Endpoint<Deps>[],
  method: string,
  path: string,
): Found<Deps> {
  for (const endpoint of endpoints) {
    if (endpoint.method !== method) continue;
    const m = endpoint.pattern.exec(path);
    if (m) return { endpoint, params: m.slice(1).map((s) => nameFromSegment(s)) };
  }
  throw new NotFoundError(`${method} ${path}`);
}
