// One listener of `listen`: the servers that speak its protocols, their
// connection limits and timeouts, unparsable bytes, the open connections and
// a graceful close. What a request means is the pipeline's business: a
// listener hands it a request/response pair (or an upgrade's socket) and
// knows nothing of routes.
//
// - HTTP/1.1 only: a node:http server listens (what `listen: ADDR` means).
// - h2 only, plaintext: a node:http2 server listens (h2c, prior knowledge).
// - both, plaintext: a TCP server reads each connection's first bytes; the
//   HTTP/2 preface (RFC 9113 §3.4, "PRI * HTTP/2.0") goes to the h2c server,
//   anything else to the HTTP/1.1 one. h2c by Upgrade (RFC 7540 §3.2, removed
//   by RFC 9113) is not offered.
// - TLS: a node:http2 secure server picks h2 or HTTP/1.1 by ALPN.
import { readFileSync } from 'node:fs';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { createServer } from 'node:http';
import type { ServerHttp2Session } from 'node:http2';
import type { AddressInfo, Socket } from 'node:net';
import { createServer as createTcpServer, type Server as TcpServer } from 'node:net';
import type { Config, ListenAddress, ListenerConfig } from '../config/index.ts';
import type { Logger, Metrics } from '../telemetry/index.ts';
import { ClientErrors } from './client-errors.ts';
import { checkingInterval } from './connection-checks.ts';
import { type AnyHttp2Server, plainHttp2Server, secureHttp2Server } from './h2-server.ts';
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

/** The client preface's first bytes: no HTTP/1.x method starts with them (RFC 9113 §3.4). */
const PREFACE_START = Buffer.from('PRI ', 'latin1');

function http1Server(
  limits: ServerLimits,
  handler: RequestHandler,
  clientErrors: ClientErrors,
): Server {
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
  // Expect: 100-continue is answered once the request is admitted (continue.ts).
  server.on('checkContinue', (req: IncomingMessage, res: ServerResponse) =>
    handler.request(req, res, true),
  );
  server.on('upgrade', (req: IncomingMessage, socket: Socket) => handler.upgrade(req, socket));
  server.on('clientError', (error: Error & { code?: string }, socket: Socket) =>
    clientErrors.handle(error, socket),
  );
  return server;
}

export class Listener {
  readonly config: ListenerConfig;
  /** What listens on the address: the HTTP/1.1 server, the HTTP/2 one, or the TCP server that sniffs for both. */
  readonly server: TcpServer;
  readonly #http1: Server | undefined;
  readonly #http2: AnyHttp2Server | undefined;
  readonly #sockets = new Set<Socket>();
  readonly #sessions = new Set<ServerHttp2Session>();

  constructor(
    config: ListenerConfig,
    limits: ServerLimits,
    handler: RequestHandler,
    metrics: Metrics,
  ) {
    this.config = config;
    const clientErrors = new ClientErrors((status) => metrics.unrouted(status));
    const h1 = config.protocols.includes('http1');
    const h2 = config.protocols.includes('h2');
    if (config.tls) {
      const tls = config.tls;
      this.#http2 = secureHttp2Server(
        {
          cert: readFileSync(tls.cert),
          key: readFileSync(tls.key),
          minVersion: 'TLSv1.2',
          allowHTTP1: h1,
          ALPNProtocols: h2 ? (h1 ? ['h2', 'http/1.1'] : ['h2']) : ['http/1.1'],
        },
        handler,
      );
      this.server = this.#http2;
    } else {
      if (h1) this.#http1 = http1Server(limits, handler, clientErrors);
      if (h2) this.#http2 = plainHttp2Server({}, handler);
      if (h1 && h2) {
        this.server = createTcpServer((socket) => this.#sniff(socket));
        // A server that never listens itself only tracks the connections it
        // is handed (headersTimeout, closeIdleConnections) after 'listening'.
        this.#http1!.emit('listening');
      } else this.server = (this.#http1 ?? this.#http2)!;
    }
    this.#http2?.on('session', (session: ServerHttp2Session) => {
      this.#sessions.add(session);
      session.once('close', () => this.#sessions.delete(session));
    });
    // Past maxConnections Node closes a new connection as soon as it is
    // accepted, as Envoy's listener connection limit does (nginx and HAProxy
    // leave it in the kernel's backlog instead); the 'drop' event counts it.
    this.server.maxConnections = limits.maxConnections;
    this.server.on('drop', () => metrics.connectionRefused());
    this.server.on('connection', (socket: Socket) => {
      this.#sockets.add(socket);
      socket.once('close', () => this.#sockets.delete(socket));
    });
  }

  /** A plaintext connection that may speak either protocol: its first bytes decide. */
  #sniff(socket: Socket): void {
    let seen: Buffer = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      seen = seen.length === 0 ? chunk : Buffer.concat([seen, chunk]);
      const n = Math.min(seen.length, PREFACE_START.length);
      const h2 = seen.subarray(0, n).equals(PREFACE_START.subarray(0, n));
      if (h2 && n < PREFACE_START.length) return;
      socket.off('data', onData);
      socket.pause();
      socket.unshift(seen);
      if (h2) {
        // The session reads the socket's buffered bytes, then its handle; a
        // resumed socket would steal bytes from it.
        this.#http2!.emit('connection', socket);
      } else {
        this.#http1!.emit('connection', socket);
        socket.resume();
      }
    };
    socket.on('data', onData);
    // A connection that never sends a byte is closed like an HTTP/1.1 one that sends no head.
    socket.setTimeout(this.#http1!.headersTimeout, () => {
      if (socket.listenerCount('data') > 0 && seen.length < PREFACE_START.length) socket.destroy();
    });
    socket.once('data', () => socket.setTimeout(0));
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
    if (this.#http1) {
      this.#http1.headersTimeout = limits.headersTimeout;
      this.#http1.requestTimeout = limits.requestTimeout;
    }
  }

  /** Stop accepting; HTTP/2 sessions are told by GOAWAY to start nothing new. */
  stopAccepting(): Promise<void> {
    const closed = new Promise<void>((resolve) => {
      if (!this.server.listening) resolve();
      else this.server.close(() => resolve());
    });
    // Fed by the sniffing TCP server: closing it stops its connection checks.
    if (this.#http1 && this.#http1 !== this.server) this.#http1.close(() => {});
    this.closeIdle();
    for (const session of this.#sessions) session.close();
    return closed;
  }

  /** Keep-alive HTTP/1.1 connections with nothing in flight. */
  closeIdle(): void {
    this.#http1?.closeIdleConnections();
  }

  /** Cut every connection left. */
  closeAll(): void {
    this.#http1?.closeAllConnections();
    for (const session of this.#sessions) session.destroy();
    for (const s of this.#sockets) s.destroy();
  }
}

/**
 * Closes listeners together: stop accepting, let what is in flight (requests
 * and tunnels) finish for up to `graceMs`, then cut every connection left.
 * Keep-alive connections are closed as soon as they are idle, so no new
 * request starts on them.
 */
export async function closeListeners(
  listeners: readonly Listener[],
  graceMs: number,
  inFlight: InFlight,
  logger: Logger,
): Promise<void> {
  const closed = Promise.all(listeners.map((l) => l.stopAccepting()));
  // A connection becomes idle once its answer is written, a moment after its exchange ends.
  const idle = await inFlight.drained(graceMs, () =>
    setImmediate(() => {
      for (const l of listeners) l.closeIdle();
    }),
  );
  if (!idle) {
    logger.warn(
      { inFlight: inFlight.requests, tunnels: inFlight.tunnels },
      'shutdown grace over; closing remaining connections',
    );
  }
  for (const l of listeners) l.closeAll();
  await closed;
}
