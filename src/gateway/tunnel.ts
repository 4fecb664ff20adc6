// The client side of an upgrade: which Upgrade requests may become a tunnel,
// the response written on the raw socket while the backend is asked, and the
// tunnel itself once the backend switched, until it closes or goes idle (see
// upgrade.ts for the exchange).
import { type IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { TunnelEnd } from '../telemetry/index.ts';
import { clientResponseHeaders } from './headers.ts';
import type { ExchangeHooks } from './proxy.ts';
import type { CompiledRoute } from './table.ts';

/**
 * The protocol an Upgrade request asks for, lower-cased, when its route
 * tunnels it; undefined means the request is served as plain HTTP, its
 * Upgrade ignored as RFC 9110 §7.8 allows (and as nginx does unless told to
 * pass it). The whole Upgrade value must be one listed protocol (as Envoy
 * compares it with `upgrade_type`), so "websocket, h2c" offers nothing. A
 * handshake has no body (RFC 6455 §4.1: a GET); an upgrade with one is plain.
 */
export function tunnelProtocol(
  req: IncomingMessage,
  allowed: ReadonlySet<string>,
): string | undefined {
  const value = req.headers.upgrade;
  if (value === undefined || req.headers['transfer-encoding'] !== undefined) return undefined;
  const length = req.headers['content-length'];
  if (length !== undefined && Number(length) !== 0) return undefined;
  const protocol = value.trim().toLowerCase();
  return allowed.has(protocol) ? protocol : undefined;
}

function dropBytes(): void {}

function destroySelf(this: Socket): void {
  this.destroy();
}

/**
 * A ServerResponse on the raw socket of an upgrade, so refusals (404, 429,
 * 503) and relayed answers are written by the same code as for any request.
 * It says `Connection: close` and closes the socket once sent. Until the
 * tunnel opens, what the client sends is read and dropped.
 */
export function upgradeResponse(req: IncomingMessage, socket: Socket): ServerResponse {
  const res = new ServerResponse(req);
  res.shouldKeepAlive = false;
  res.assignSocket(socket);
  // Node's server took its listeners off this socket: without one, an error would throw.
  socket.on('error', destroySelf);
  socket.on('data', dropBytes);
  // As Node's server ends a response marked last (destroySoon: end, then destroy once flushed).
  res.once('finish', () => socket.destroySoon());
  return res;
}

/** The head of the 101 sent to the client: the backend's fields minus hop-by-hop ones, which this hop sets. */
function switchingHead(
  res: IncomingMessage,
  protocol: string,
  extra: Record<string, string>,
): string {
  let head = `HTTP/1.1 101 Switching Protocols\r\nconnection: upgrade\r\nupgrade: ${protocol}\r\n`;
  const fields = clientResponseHeaders(res.headers);
  for (const name in fields) {
    if (name in extra) continue;
    const value = fields[name];
    for (const v of Array.isArray(value) ? value : [value]) head += `${name}: ${v}\r\n`;
  }
  for (const name in extra) head += `${name}: ${extra[name]}\r\n`;
  return `${head}\r\n`;
}

/** What a tunnel reports its end to: the route's metrics and idle limit, the access log. */
export interface TunnelOwner {
  readonly route: CompiledRoute;
  readonly requestId: string;
  /** The access-log fragment of the side that switched. */
  readonly logFragment: string;
  readonly hooks: ExchangeHooks;
}

/**
 * The backend switched: send the client its 101 and the bytes the backend
 * sent after it, then let bytes flow both ways until either side closes.
 * From here on the client's bytes go to the backend (before, they were dropped).
 */
export function openTunnel(
  res: ServerResponse,
  answer: IncomingMessage,
  upstream: Socket,
  head: Buffer,
  extra: Record<string, string>,
  owner: TunnelOwner,
): void {
  const client = res.socket as Socket;
  res.detachSocket(client);
  client.off('data', dropBytes);
  client.write(switchingHead(answer, answer.headers.upgrade!, extra));
  if (head.length > 0) client.write(head);
  new Tunnel(client, upstream, head.length, owner);
}

/**
 * An open tunnel, from the 101 until the first side closes. A silent one is
 * closed after `tunnelIdleTimeout`, else a client could hold a backend
 * connection (and a gateway socket) for ever by saying nothing — a slowloris
 * on WebSockets. nginx closes an upgraded connection when nothing was
 * transmitted for proxy_read_timeout (nginx.org/en/docs/http/websocket.html);
 * Envoy applies its stream idle_timeout to upgraded streams; HAProxy's
 * `timeout tunnel` is inactivity in both directions. Closing means closing
 * both connections: a tunnel carries any protocol, so there is no close
 * frame of our own to send.
 */
class Tunnel {
  readonly #client: Socket;
  readonly #upstream: Socket;
  readonly #owner: TunnelOwner;
  readonly #start: number;
  /** What each socket had read before the tunnel (handshake, dropped bytes): not tunnel traffic. */
  readonly #clientReadBefore: number;
  readonly #upstreamReadBefore: number;
  /** The side that ended or closed first, or `idle` once our timer cut the tunnel. */
  #reason: TunnelEnd | undefined;
  #open: boolean;

  constructor(client: Socket, upstream: Socket, headBytes: number, owner: TunnelOwner) {
    this.#client = client;
    this.#upstream = upstream;
    this.#owner = owner;
    this.#start = performance.now();
    this.#clientReadBefore = client.bytesRead;
    // The backend's bytes after its 101 head were read with it; they are the tunnel's first.
    this.#upstreamReadBefore = upstream.bytesRead - headBytes;
    this.#reason = undefined;
    this.#open = true;
    owner.route.tunnels.opened();
    const idle = owner.route.config.tunnelIdleTimeout;
    // One timer per tunnel, Node's own socket timeout on the client socket:
    // every byte relayed either way is read from or written to that socket,
    // and Node refreshes its timer on each read and write. So it fires only
    // when nothing moved in either direction — also when a side stopped
    // reading and backpressure stalled the other (nginx: send_timeout).
    if (idle > 0) client.setTimeout(idle, () => this.#idle());
    upstream.on('error', destroySelf);
    client.once('end', () => this.#ending('client'));
    upstream.once('end', () => this.#ending('backend'));
    client.once('close', () => this.#closed('client'));
    upstream.once('close', () => this.#closed('backend'));
    upstream.pipe(client);
    client.pipe(upstream);
  }

  /** Nothing moved for tunnelIdleTimeout: we cut it, even if a side had begun a half-close. */
  #idle(): void {
    this.#reason = 'idle';
    this.#client.destroy();
  }

  /** A half-close starts the end: the peer's FIN is relayed and the other side then closes. */
  #ending(reason: TunnelEnd): void {
    this.#reason ??= reason;
  }

  /** The first side closed: close the other, count the tunnel out, log its end. */
  #closed(side: TunnelEnd): void {
    if (!this.#open) return;
    this.#open = false;
    const reason = this.#reason ?? side;
    this.#client.destroy();
    this.#upstream.destroy();
    const { route, hooks } = this.#owner;
    route.tunnels.closed(reason);
    hooks.accessLog?.tunnel(
      this.#owner.requestId,
      this.#owner.logFragment,
      Math.round(performance.now() - this.#start),
      this.#client.bytesRead - this.#clientReadBefore,
      this.#upstream.bytesRead - this.#upstreamReadBefore,
      reason,
    );
  }
}
