// The client side of an upgrade: which Upgrade requests may become a tunnel,
// the response written on the raw socket while the backend is asked, and the
// tunnel itself once the backend switched (see upgrade.ts for the exchange).
import { type IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { clientResponseHeaders } from './headers.ts';

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
): void {
  const client = res.socket as Socket;
  res.detachSocket(client);
  client.off('data', dropBytes);
  client.write(switchingHead(answer, answer.headers.upgrade!, extra));
  if (head.length > 0) client.write(head);
  upstream.on('error', destroySelf);
  upstream.once('close', () => client.destroy());
  client.once('close', () => upstream.destroy());
  upstream.pipe(client);
  client.pipe(upstream);
}
