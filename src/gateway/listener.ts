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
// - TLS: a node:http2 secure server picks h2 or HTTP/1.1 by ALPN; its
//   certificates (SNI, reloads) are TlsCertificates' business (tls.ts). Its
//   HTTP/1.1 connections go through node:http's own connection code, which
//   reads the limits from the secure server: without them they got Node's
//   defaults (60 s head, 5 s keep-alive, 16 KiB head, checked every 30 s), so
//   the secure server is given the same HTTP/1.1 options as the plain one.
// Every HTTP/2 server gets `server.http2`'s limits (http2-limits.ts).
import type {
  ServerOptions as Http1Options,
  IncomingMessage,
  Server,
  ServerResponse,
} from 'node:http';
import { createServer } from 'node:http';
import type { ServerHttp2Session } from 'node:http2';
import type { AddressInfo, Socket } from 'node:net';
import { createServer as createTcpServer, type Server as TcpServer } from 'node:net';
import type { Config, ListenAddress, ListenerConfig } from '../config/index.ts';
import type { Logger, Metrics } from '../telemetry/index.ts';
import { ClientErrors } from './client-errors.ts';
import { checkingInterval } from './connection-checks.ts';
import { type AnyHttp2Server, plainHttp2Server, secureHttp2Server } from './h2-server.ts';
import { closeWhenIdle, http2ServerOptions } from './http2-limits.ts';
import type { InFlight } from './in-flight.ts';
import { TlsCertificates, type TlsReload } from './tls.ts';

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

/** `server`'s limits as node:http options, for the HTTP/1.1 server and a TLS listener's HTTP/1.1 connections alike. */
function http1Options(limits: ServerLimits): Http1Options {
  return {
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
  };
}

/**
 * The node:http fields a secure HTTP/2 server with `allowHTTP1` has (Node
 * sets them from the same options as createServer's) and @types/node does
 * not declare.
 */
interface Http1Fallback {
  headersTimeout: number;
  requestTimeout: number;
  /** Read per request; createSecureServer does not take it as an option. */
  shouldUpgradeCallback: (req: IncomingMessage) => boolean;
  closeIdleConnections(): void;
}

/** Bytes that do not parse as HTTP/1.1 get our answer; a failed TLS handshake has no HTTP to answer in. */
function isHttpClientError(error: Error & { code?: string }): boolean {
  const code = error.code ?? '';
  return code.startsWith('HPE_') || code === 'ERR_HTTP_REQUEST_TIMEOUT';
}

function http1Server(
  limits: ServerLimits,
  handler: RequestHandler,
  clientErrors: ClientErrors,
): Server {
  const server = createServer(
    {
      ...http1Options(limits),
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

function address(config: ListenerConfig): string {
  return `${config.address.host}:${config.address.port}`;
}

export class Listener {
  readonly config: ListenerConfig;
  /** What listens on the address: the HTTP/1.1 server, the HTTP/2 one, or the TCP server that sniffs for both. */
  readonly server: TcpServer;
  readonly #http1: Server | undefined;
  readonly #http2: AnyHttp2Server | undefined;
  readonly #sockets = new Set<Socket>();
  readonly #sessions = new Set<ServerHttp2Session>();
  /** A TLS listener's certificates; undefined on plaintext. */
  readonly #certificates: TlsCertificates | undefined;
  /** A TLS listener's server seen as the HTTP/1.1 server of its http/1.1 connections; undefined without http1. */
  readonly #secureHttp1: Http1Fallback | undefined;

  /** Throws TlsCertificateError when a TLS listener's files cannot be used (they changed since the config check). */
  constructor(
    config: ListenerConfig,
    limits: ServerLimits,
    handler: RequestHandler,
    metrics: Metrics,
    logger: Logger,
  ) {
    this.config = config;
    const clientErrors = new ClientErrors((status) => metrics.unrouted(status));
    const h1 = config.protocols.includes('http1');
    const h2 = config.protocols.includes('h2');
    const sessionLimits = http2ServerOptions(limits.http2);
    if (config.tls) {
      const certificates = new TlsCertificates(
        config.tls,
        logger.child({ listener: address(config) }),
        {
          watch: true,
        },
      );
      this.#certificates = certificates;
      const secure = secureHttp2Server(
        {
          ...sessionLimits,
          ...(h1 ? http1Options(limits) : {}),
          // A connection must finish its handshake within the time it has for
          // a request head (nginx times the handshake with
          // client_header_timeout too); Node's default, 120 s, let one that
          // sent three bytes of a ClientHello hold its socket that long.
          ...(limits.headersTimeout > 0 ? { handshakeTimeout: limits.headersTimeout } : {}),
          // node:http turns Nagle's algorithm off on its connections and the
          // secure HTTP/2 server does not: an answer streamed in two writes
          // waited for the client's delayed ACK, 44 ms per request over TLS
          // HTTP/1.1 against 1.8 ms in plaintext (docs/decisions.md).
          noDelay: true,
          ...certificates.serverOptions(),
          allowHTTP1: h1,
          ALPNProtocols: h2 ? (h1 ? ['h2', 'http/1.1'] : ['h2']) : ['http/1.1'],
        },
        handler,
      );
      // Reloads replace the default certificate (clients without SNI) on this server too.
      certificates.attach(secure);
      if (h1) {
        const http1 = secure as unknown as Http1Fallback;
        this.#secureHttp1 = http1;
        // Without these, an Upgrade (WebSocket) over TLS was served as a plain request.
        http1.shouldUpgradeCallback = (req) => handler.tunnels(req);
        secure.on('upgrade', (req: IncomingMessage, socket: Socket) =>
          handler.upgrade(req, socket),
        );
        // Node also emits a failed handshake (tlsClientError) as 'clientError'.
        secure.on('clientError', (error: Error & { code?: string }, socket: Socket) => {
          if (isHttpClientError(error)) clientErrors.handle(error, socket);
          else socket.destroy();
        });
      }
      this.#http2 = secure;
      this.server = secure;
    } else {
      this.#certificates = undefined;
      this.#secureHttp1 = undefined;
      if (h1) this.#http1 = http1Server(limits, handler, clientErrors);
      if (h2) this.#http2 = plainHttp2Server(sessionLimits, handler);
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
      closeWhenIdle(session, limits.http2.idleTimeout);
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
    for (const server of [this.#http1, this.#secureHttp1]) {
      if (!server) continue;
      server.headersTimeout = limits.headersTimeout;
      server.requestTimeout = limits.requestTimeout;
    }
  }

  /**
   * A TLS listener reads its certificate files again (SIGHUP): new handshakes
   * get them, open connections keep theirs; a bad file keeps the old ones.
   * Undefined on a plaintext listener.
   */
  reloadCertificates(): Promise<TlsReload> | undefined {
    return this.#certificates?.reload();
  }

  /** Stop accepting; HTTP/2 sessions are told by GOAWAY to start nothing new. */
  stopAccepting(): Promise<void> {
    this.#certificates?.close();
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
    this.#secureHttp1?.closeIdleConnections();
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
