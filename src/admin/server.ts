// The admin listener: health and readiness probes, Prometheus metrics and the
// JSON API that the CLI and operators use to see and steer routes. Plain HTTP,
// or HTTPS with `admin.tls` (the gateway's TlsCertificates: reloaded when the
// files change or on SIGHUP, client certificates required when `ca` is set).
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { createServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TlsConfig } from '../config/index.ts';
import {
  AdminUnsafeError,
  CutoverError,
  InvalidArgumentError,
  NotFoundError,
  UnauthorizedError,
} from '../errors.ts';
import { type Gateway, TlsCertificates, type TlsReload } from '../gateway/index.ts';
import { problemFromError, sendProblem } from '../problem.ts';
import { ROLLOUT_ACTIONS, type RolloutAction, type RolloutController } from '../rollout/index.ts';
import type { FleetMember } from '../state/index.ts';
import type { Logger, Metrics } from '../telemetry/index.ts';
import { hasValidToken, isLoopback } from './auth.ts';
import { createUi } from './ui-assets.ts';

export interface AdminOptions {
  readonly gateway: Gateway;
  readonly rollouts: RolloutController;
  /** This instance's membership of the fleet: /api/instances and the store's health in /readyz. */
  readonly member?: FleetMember;
  readonly metrics: Metrics;
  readonly logger: Logger;
  readonly host: string;
  readonly port: number;
  readonly token: string | undefined;
  /** Serve HTTPS with these files (`admin.tls`); undefined: plain HTTP. */
  readonly tls?: TlsConfig;
}

/** Largest admin request body; the API takes small JSON documents only. */
const MAX_BODY = 64 * 1024;

function sendJson(res: ServerResponse, status: number, value: unknown): void {
  const body = JSON.stringify(value);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
  });
  res.end(body);
}

function sendText(
  res: ServerResponse,
  status: number,
  text: string,
  type = 'text/plain; charset=utf-8',
): void {
  res.writeHead(status, {
    'content-type': type,
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
  });
  res.end(text);
}

/**
 * A name from a path segment. A segment that is not valid percent-encoding
 * (`%ZZ`, a lone `%`, bytes that are not UTF-8) is the client's mistake: 400,
 * not a URIError that would surface as a 500 (RFC 3986 §2.1 defines `%` HEX HEX).
 */
function nameFromSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new InvalidArgumentError(
      `${JSON.stringify(segment)} in the path is not valid percent-encoding (RFC 3986 §2.1)`,
    );
  }
}

/** The request target as a URL; a target Node accepted but WHATWG URL refuses is a 400 too. */
function targetOf(req: IncomingMessage): URL {
  try {
    return new URL(req.url ?? '/', 'http://admin');
  } catch {
    throw new InvalidArgumentError('the request target is not a valid URL path');
  }
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY) throw new InvalidArgumentError(`request body over ${MAX_BODY} bytes`);
    chunks.push(chunk as Buffer);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new InvalidArgumentError('request body is not valid JSON');
  }
}

export class AdminServer {
  readonly server: Server;
  /** `https` with `admin.tls`, else `http`: what the admin URL starts with. */
  readonly scheme: 'http' | 'https';
  readonly #options: AdminOptions;
  readonly #certificates: TlsCertificates | undefined;
  /** The dashboard's files (/ui), open like the probes: the page signs in through /api. */
  readonly #ui = createUi();

  /** Throws AdminUnsafeError (public without a token), TlsCertificateError (a file changed since the config check). */
  constructor(options: AdminOptions) {
    // TLS hides the traffic, not who may send it: the token rule holds with it as without it.
    if (!options.token && !isLoopback(options.host))
      throw new AdminUnsafeError(`${options.host}:${options.port}`);
    this.#options = options;
    const handler = (req: IncomingMessage, res: ServerResponse) => {
      this.#handle(req, res).catch((error: unknown) => this.#fail(res, error));
    };
    if (options.tls) {
      const certificates = new TlsCertificates(
        options.tls,
        options.logger.child({ admin: `${options.host}:${options.port}` }),
        { watch: true },
      );
      const server = createHttpsServer(certificates.serverOptions(), handler);
      // Clients without SNI (the CLI dialing an IP address) get the reloaded default too.
      certificates.attach(server);
      this.#certificates = certificates;
      this.server = server;
      this.scheme = 'https';
    } else {
      this.#certificates = undefined;
      this.server = createServer(handler);
      this.scheme = 'http';
    }
  }

  /**
   * Reads the certificate files again (SIGHUP): new handshakes get them, open
   * connections keep theirs, a bad file keeps the old ones. Undefined without TLS.
   */
  reloadCertificates(): Promise<TlsReload> | undefined {
    return this.#certificates?.reload();
  }

  listen(): Promise<AddressInfo> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.#options.port, this.#options.host, () => {
        this.server.off('error', reject);
        resolve(this.server.address() as AddressInfo);
      });
    });
  }

  close(): Promise<void> {
    this.#certificates?.close();
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  #fail(res: ServerResponse, error: unknown): void {
    if (res.headersSent) {
      res.destroy();
      return;
    }
    if (error instanceof CutoverError) {
      sendProblem(res, problemFromError(error));
      return;
    }
    this.#options.logger.error({ err: error }, 'admin request failed');
    sendProblem(res, {
      status: 500,
      code: 'CUTOVER_ERR_INTERNAL',
      detail: 'internal error; see the gateway log',
    });
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const { gateway, rollouts, metrics, token } = this.#options;
    const url = targetOf(req);
    const path = url.pathname;
    const method = req.method ?? 'GET';
    // Probes stay open so that orchestrators need no secret; everything else is behind the token.
    if (path === '/healthz' && (method === 'GET' || method === 'HEAD')) {
      sendText(res, 200, 'ok');
      return;
    }
    if (path === '/readyz' && (method === 'GET' || method === 'HEAD')) {
      // A lost state store is no reason to take the instance out of rotation:
      // it serves with the last state it knew (fail static), and says so.
      const r = gateway.readiness();
      const health = this.#options.member?.health;
      if (!r.ready) sendJson(res, 503, { status: 'not ready', reason: r.reason });
      else if (health && !health.up)
        sendJson(res, 200, { status: 'degraded', reason: health.reason, since: health.since });
      else sendJson(res, 200, { status: 'ok' });
      return;
    }
    if (this.#ui.handle(req, res, path)) return;
    if (token && !hasValidToken(req, token)) {
      res.setHeader('www-authenticate', 'Bearer realm="cutover"');
      throw new UnauthorizedError();
    }
    if (path === '/metrics' && method === 'GET') {
      sendText(res, 200, await metrics.render(), metrics.contentType);
      return;
    }
    if (path === '/api/routes' && method === 'GET') {
      sendJson(res, 200, { routes: gateway.routes() });
      return;
    }
    if (path === '/api/instances' && method === 'GET') {
      const member = this.#options.member;
      sendJson(res, 200, member ? await member.instances() : []);
      return;
    }
    if (path === '/api/rollouts' && method === 'GET') {
      sendJson(res, 200, { rollouts: rollouts.statusAll() });
      return;
    }
    const h = /^\/api\/routes\/([^/]+)\/history$/.exec(path);
    if (h && method === 'GET') {
      const limit = url.searchParams.has('limit')
        ? Number(url.searchParams.get('limit'))
        : undefined;
      if (limit !== undefined && !(Number.isInteger(limit) && limit > 0)) {
        throw new InvalidArgumentError('limit must be a whole number above 0');
      }
      const name = nameFromSegment(h[1]);
      sendJson(res, 200, { route: name, history: await rollouts.history(name, limit) });
      return;
    }
    const r = /^\/api\/routes\/([^/]+)\/rollout\/([a-z]+)$/.exec(path);
    if (r && method === 'POST') {
      const action = r[2] as RolloutAction;
      if (!ROLLOUT_ACTIONS.includes(action)) {
        throw new NotFoundError(`rollout action "${r[2]}" (one of ${ROLLOUT_ACTIONS.join(', ')})`);
      }
      const full = url.searchParams.get('full') === 'true' || url.searchParams.get('full') === '1';
      sendJson(res, 200, await rollouts.act(nameFromSegment(r[1]), action, 'api', { full }));
      return;
    }
    const d = /^\/api\/routes\/([^/]+)\/diffs$/.exec(path);
    if (d && method === 'GET') {
      sendJson(res, 200, gateway.routeDiffs(nameFromSegment(d[1])));
      return;
    }
    const m = /^\/api\/routes\/([^/]+)(\/weight)?$/.exec(path);
    if (m) {
      const name = nameFromSegment(m[1]);
      if (!m[2] && method === 'GET') {
        sendJson(res, 200, {
          ...gateway.routeDetail(name),
          rollout: rollouts.status(name) ?? null,
        });
        return;
      }
      if (m[2] && method === 'PUT') {
        const body = await readJson(req);
        const weight = (body as { weight?: unknown } | null)?.weight;
        if (typeof weight !== 'number') {
          throw new InvalidArgumentError(
            'expected a JSON body { "weight": <number from 0 to 100> }',
          );
        }
        rollouts.assertManualWeight(name);
        sendJson(res, 200, await gateway.setWeight(name, weight));
        return;
      }
      if (m[2] && method === 'DELETE') {
        rollouts.assertManualWeight(name);
        sendJson(res, 200, await gateway.resetWeight(name));
        return;
      }
    }
    const b = /^\/api\/backends\/([^/]+)\/breaker$/.exec(path);
    if (b) {
      const backend = nameFromSegment(b[1]);
      if (method === 'GET') {
        sendJson(res, 200, gateway.backendBreakers(backend));
        return;
      }
      if (method === 'POST') {
        const state = ((await readJson(req)) as { state?: unknown } | null)?.state;
        if (state !== 'open' && state !== 'closed' && state !== 'auto') {
          throw new InvalidArgumentError(
            'expected a JSON body { "state": "open" | "closed" | "auto" }',
          );
        }
        sendJson(
          res,
          200,
          await gateway.forceBreaker(backend, state === 'auto' ? undefined : state),
        );
        return;
      }
    }
    throw new NotFoundError(`${method} ${path}`);
  }
}
