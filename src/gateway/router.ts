// STUB — being written: a tree keyed by path segments (lookup cost independent of route count).
import type { IncomingHttpHeaders } from 'node:http';
import type { RouteMatch } from '../config/index.ts';

export interface Routable {
  readonly match: RouteMatch;
}

export interface RouteHit<T> {
  readonly route: T;
  /** Values of `:name` segments, by name. */
  readonly params: Readonly<Record<string, string>>;
}

export class Router<T extends Routable> {
  readonly #routes: readonly T[];
  constructor(routes: readonly T[]) {
    this.#routes = routes;
  }
  /** `path` is the request path without the query string; `host` without the port, lower-case. */
  find(method: string, host: string | undefined, path: string, headers: IncomingHttpHeaders): RouteHit<T> | undefined {
    void method;
    void host;
    void headers;
    const route = this.#routes.find((r) => r.match.path === path);
    return route ? { route, params: {} } : undefined;
  }
}
