// The admin listener: health and readiness probes, Prometheus metrics and the
// JSON API that the CLI and operators use to see and steer routes. Plain HTTP,
// or HTTPS with `admin.tls` (the gateway's TlsCertificates: reloaded when the
// files change or on SIGHUP, client certificates required when `ca` is set).
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { AdminUnsafeError, CutoverError } from '../errors.ts';
import { TlsCertificates, type TlsReload } from '../gateway/index.ts';
import { problemFromError, sendProblem } from '../problem.ts';
import { Access, type Identity } from './access.ts';
import { backendEndpoints } from './api-backends.ts';
import { dashboardEndpoints } from './api-dashboard.ts';
import { instanceEndpoints } from './api-instances.ts';
import { reportEndpoints } from './api-report.ts';
import { routeEndpoints } from './api-routes.ts';
import { handleSession } from './api-session.ts';
import { isLoopback } from './auth.ts';
import type { AdminContext, AdminOptions } from './context.ts';
import { type Endpoint, findEndpoint } from './endpoint.ts';
import { EventHub } from './events.ts';
import { sendJson, sendText, targetOf } from './http.ts';
import { InstanceCache } from './overview.ts';
import { SessionRevocations } from './revocations.ts';
import { createUi } from './ui-assets.ts';

export type { AdminOptions } from './context.ts';

/** Every endpoint behind the token, in the order they are tried. */
const ENDPOINTS: readonly Endpoint<AdminContext>[] = [
  ...instanceEndpoints,
  ...routeEndpoints,
  ...backendEndpoints,
  ...dashboardEndpoints,
  ...reportEndpoints,
];

export class AdminServer {
  readonly server: Server;
  /** `https` with `admin.tls`, else `http`: what the admin URL starts with. */
  readonly scheme: 'http' | 'https';
  readonly #options: AdminOptions;
  readonly #context: AdminContext;
  readonly #certificates: TlsCertificates | undefined;
  readonly #revoked: SessionRevocations;
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
    this.#revoked = new SessionRevocations(options.member);
    const access = new Access(options.token, options.viewerToken, this.scheme, this.#revoked);
    const instances = new InstanceCache();
    this.#context = { ...options, access, instances, events: undefined };
    this.#context.events = new EventHub(this.#context, instances);
  }

  /**
   * Reads the certificate files again (SIGHUP): new handshakes get them, open
   * connections keep theirs, a bad file keeps the old ones. Undefined without TLS.
   */
  reloadCertificates(): Promise<TlsReload> | undefined {
    return this.#certificates?.reload();
  }

  /** Reads the sessions the fleet signed out, then listens: no revoked cookie is ever let in. */
  async listen(): Promise<AddressInfo> {
    await this.#revoked.start();
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
    this.#revoked.close();
    // Event streams end cleanly first: closeAllConnections would cut them mid-frame.
    this.#context.events?.close();
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
    const url = targetOf(req);
    const path = url.pathname;
    const method = req.method ?? 'GET';
    // Probes stay open so that orchestrators need no secret; everything else is behind the token.
    if ((path === '/healthz' || path === '/readyz') && (method === 'GET' || method === 'HEAD')) {
      this.#probe(path, res);
      return;
    }
    if (this.#ui.handle(req, res, path)) return;
    const access = this.#context.access;
    if (path === '/api/session') return handleSession(req, res, access);
    let who: Identity;
    try {
      who = access.identify(req);
    } catch (error) {
      res.setHeader('www-authenticate', 'Bearer realm="cutover"');
      throw error;
    }
    const { endpoint, params } = findEndpoint(ENDPOINTS, method, path);
    if (endpoint.write) access.authorizeWrite(req, who, `${method} ${path}`);
    await endpoint.handle({ req, res, url, params, deps: this.#context, who });
  }

  #probe(path: string, res: ServerResponse): void {
    if (path === '/healthz') {
      sendText(res, 200, 'ok');
      return;
    }
    // A lost state store is no reason to take the instance out of rotation:
    // it serves with the last state it knew (fail static), and says so.
    const r = this.#options.gateway.readiness();
    const health = this.#options.member?.health;
    if (!r.ready) sendJson(res, 503, { status: 'not ready', reason: r.reason });
    else if (health && !health.up)
      sendJson(res, 200, { status: 'degraded', reason: health.reason, since: health.since });
    else sendJson(res, 200, { status: 'ok' });
  }
}
