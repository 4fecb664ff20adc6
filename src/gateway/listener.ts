// The HTTP/1.1 listener: the node:http server, its connection limits and
// timeouts, unparsable bytes, the open sockets and a graceful close. What a
// request means is the pipeline's business: the listener hands it a
// request/response pair (or an upgrade's socket) and knows nothing of
// routes. An HTTP/2 listener (issue 12) sits beside this one and feeds the
// same pipeline from its compat-API request/response pairs.
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { createServer } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Config, ListenAddress } from '../config/index.ts';
import type { Logger, Metrics } from '../telemetry/index.ts';
import { ClientErrors } from './client-errors.ts';
import { checkingInterval } from './connection-checks.ts';
import type { InFlight } from './in-flight.ts';

/** What a listener passes on: the request pipeline's entry points. */
export interface RequestHandler {
  /** A request; `expectsContinue` when it sent Expect: 100-continue and waits for our go. */
  request(req: IncomingMessage, res: ServerResponse, expectsContinue: boolean): void;
  /** Whether an Upgrade request becomes a tunnel attempt (else it is served as a request). */
  tunnels(req: IncomingMessage): boolean;
  /** An upgrade `tunnels` accepted, on its raw socket. */
  upgrade(req: IncomingMessage, socket: Socket): void;
}

type ServerLimits = Config['server'];

export class HttpListener {
  readonly server: Server;
  readonly #sockets = new Set<Socket>();
  /** Connections whose bytes stopped parsing: answered, then closed. */
  readonly #clientErrors: ClientErrors;

  constructor(limits: ServerLimits, handler: RequestHandler, metrics: Metrics) {
    this.#clientErrors = new ClientErrors((status) => metrics.unrouted(status));
    const server = createServer(
      {
        maxHeaderSize: limits.maxHeaderBytes,
        keepAliveTimeout: limits.keepAliveTimeout,
        requestTimeout: limits.requestTimeout,
        // A connection that has not sent a complete head by then gets a 408
        // and is closed, including one that sends nothing at all (nginx
        // client_header_timeout). Node only looks every
        // connectionsCheckingInterval (30 s by default, which let a slowloris
        // hold a socket for 83 s), so the interval follows the timeout.
        headersTimeout: limits.headersTimeout,
        connectionsCheckingInterval: checkingInterval(limits.headersTimeout, limits.requestTimeout),
        // Only an upgrade its route tunnels becomes an 'upgrade' event; any other is a plain request.
        shouldUpgradeCallback: (req: IncomingMessage) => handler.tunnels(req),
      },
      (req, res) => handler.request(req, res, false),
    );
    // Past maxConnections Node closes a new connection as soon as it is
    // accepted, as Envoy's listener connection limit does (nginx and HAProxy
    // leave it in the kernel's backlog instead); the 'drop' event counts it.
    server.maxConnections = limits.maxConnections;
    server.on('drop', () => metrics.connectionRefused());
    // Expect: 100-continue is answered once the request is admitted (continue.ts).
    server.on('checkContinue', (req: IncomingMessage, res: ServerResponse) =>
      handler.request(req, res, true),
    );
    server.on('upgrade', (req: IncomingMessage, socket: Socket) => handler.upgrade(req, socket));
    server.on('clientError', (error: Error & { code?: string }, socket: Socket) =>
      this.#clientErrors.handle(error, socket),
    );
    server.on('connection', (socket: Socket) => {
      this.#sockets.add(socket);
      socket.once('close', () => this.#sockets.delete(socket));
    });
    this.server = server;
  }

  listen(address: ListenAddress, reusePort = false): Promise<AddressInfo> {
    const { host, port } = address;
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen({ port, host, reusePort }, () => {
        this.server.off('error', reject);
        resolve(this.server.address() as AddressInfo);
      });
    });
  }

  /** Limits a reload changes on the running server. */
  reload(limits: ServerLimits): void {
    // Node reads these at every accept and every connection check; only the
    // check interval, set from the first headersTimeout, stays until a restart.
    this.server.maxConnections = limits.maxConnections;
    this.server.headersTimeout = limits.headersTimeout;
    this.server.requestTimeout = limits.requestTimeout;
  }

  /**
   * Stop accepting, let what is in flight (requests and tunnels) finish for up
   * to `graceMs`, then cut every connection left. Keep-alive connections are
   * closed as soon as they are idle, so no new request starts on them.
   */
  async close(graceMs: number, inFlight: InFlight, logger: Logger): Promise<void> {
    const server = this.server;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeIdleConnections();
    // A connection becomes idle once its answer is written, a moment after its exchange ends.
    const idle = await inFlight.drained(graceMs, () =>
      setImmediate(() => server.closeIdleConnections()),
    );
    if (!idle) {
      logger.warn(
        { inFlight: inFlight.requests, tunnels: inFlight.tunnels },
        'shutdown grace over; closing remaining connections',
      );
    }
    server.closeAllConnections();
    for (const s of this.#sockets) s.destroy();
    await closed;
  }
}
