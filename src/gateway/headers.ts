// Header hygiene for a proxy, RFC 9110 §7.6.1: hop-by-hop fields, and every
// field named in Connection, belong to one connection and are never forwarded.
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';

/** RFC 9110 §7.6.1 plus the legacy Proxy-Connection and Keep-Alive (RFC 7230 §6.1 / RFC 2068). */
export const HOP_BY_HOP: ReadonlySet<string> = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

/** Names listed in a Connection header, lower-cased; undefined when there is none. */
function connectionTokens(value: string | string[] | undefined): Set<string> | undefined {
  if (value === undefined) return undefined;
  const text = Array.isArray(value) ? value.join(',') : value;
  const out = new Set<string>();
  for (const t of text.split(',')) {
    const name = t.trim().toLowerCase();
    if (name) out.add(name);
  }
  return out;
}

export interface ForwardContext {
  /** The address of the peer, as the listener saw it. */
  readonly peerIp: string;
  /** The client's address: the peer's, or through trusted proxies the one they reported (TrustedProxies.clientIp). */
  readonly clientIp: string;
  /** Whether the peer is in `server.trustedProxies`: only then are its forwarding headers kept. */
  readonly trustedPeer: boolean;
  /** `http` or `https`, as the client spoke to Cutover. */
  readonly proto: string;
  readonly requestId: string;
  /** Host header to send; undefined keeps the client's Host (preserveHost). */
  readonly upstreamHost: string | undefined;
}

const COLON = 58;

function isTrailersOnly(value: string): boolean {
  return value.trim().toLowerCase() === 'trailers';
}

/**
 * Request headers only Cutover may set: `x-cutover-shadow` tells a backend
 * its request is a shadow copy (src/gateway/shadow.ts), so a client-sent one
 * would pass a real request off as a copy. All of the prefix is reserved.
 */
const CUTOVER_PREFIX = 'x-cutover-';

/** Every Connection field's tokens: a second Connection header counts too (RFC 9110 §7.6.1). */
function namedByConnection(rawHeaders: readonly string[]): Set<string> | undefined {
  let joined: string | undefined;
  for (let i = 0; i < rawHeaders.length; i += 2) {
    if (rawHeaders[i].length === 10 && rawHeaders[i].toLowerCase() === 'connection') {
      joined = joined === undefined ? rawHeaders[i + 1] : `${joined},${rawHeaders[i + 1]}`;
    }
  }
  return connectionTokens(joined);
}

/**
 * The header list (flat name/value pairs, as undici takes them) for the
 * upstream request: hop-by-hop removed, `x-cutover-*` removed, forwarding
 * headers set, Host and x-request-id decided. Works on rawHeaders to keep
 * duplicates and order.
 *
 * Forwarding headers follow `server.trustedProxies` (nginx's realip module,
 * Envoy's xff_num_trusted_hops): from an untrusted peer, X-Forwarded-For,
 * -Proto, -Host, Forwarded (RFC 7239) and X-Real-IP are the client's own
 * claims and are replaced by what Cutover saw; from a trusted peer they are
 * kept, and the peer is appended to X-Forwarded-For. X-Real-IP is always the
 * client address Cutover settled on, as nginx's `proxy_set_header X-Real-IP
 * $remote_addr` after realip.
 */
export function upstreamRequestHeaders(
  rawHeaders: readonly string[],
  ctx: ForwardContext,
): string[] {
  const out: string[] = [];
  const connection = namedByConnection(rawHeaders);
  const trusted = ctx.trustedPeer;
  let forwardedFor: string | undefined;
  let forwardedProto: string | undefined;
  let forwardedHost: string | undefined;
  let host: string | undefined;
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i];
    // HTTP/2 pseudo-headers (the compat API lists them): the upstream request
    // gets its own; `:authority` is the request's Host (RFC 9113 §8.3.1).
    if (name.charCodeAt(0) === COLON) {
      if (name === ':authority') host ??= rawHeaders[i + 1];
      continue;
    }
    const lower = name.toLowerCase();
    // `TE: trailers` says the client takes trailers; gRPC needs it end to end
    // (it is the one TE value HTTP/2 allows, RFC 9113 §8.2.2), as Envoy keeps it.
    if (lower === 'te' && isTrailersOnly(rawHeaders[i + 1]) && !connection?.has(lower)) {
      out.push(name, 'trailers');
      continue;
    }
    if (HOP_BY_HOP.has(lower) || connection?.has(lower)) continue;
    if (lower.length > CUTOVER_PREFIX.length && lower.startsWith(CUTOVER_PREFIX)) continue;
    const value = rawHeaders[i + 1];
    switch (lower) {
      case 'host':
        host ??= value;
        continue;
      case 'x-forwarded-for':
        if (trusted)
          forwardedFor = forwardedFor === undefined ? value : `${forwardedFor}, ${value}`;
        continue;
      case 'x-forwarded-proto':
        if (trusted) forwardedProto ??= value;
        continue;
      case 'x-forwarded-host':
        if (trusted) forwardedHost ??= value;
        continue;
      case 'forwarded':
        if (trusted) break;
        continue;
      case 'x-real-ip':
      case 'x-request-id':
      // Cutover answers Expect: 100-continue itself (continue.ts), as Envoy
      // does with proxy_100_continue off and nginx always does; forwarding it
      // would also make undici refuse the whole request (NotSupportedError).
      // An HTTP/1.0 request's Expect is for this hop to ignore (RFC 9110 §10.1.1).
      case 'expect':
        continue;
    }
    out.push(name, value);
  }
  const sendHost = ctx.upstreamHost ?? host;
  if (sendHost !== undefined) out.push('host', sendHost);
  out.push(
    'x-forwarded-for',
    forwardedFor === undefined ? ctx.peerIp : `${forwardedFor}, ${ctx.peerIp}`,
  );
  out.push('x-forwarded-proto', forwardedProto ?? ctx.proto);
  const xfHost = forwardedHost ?? host;
  if (xfHost !== undefined) out.push('x-forwarded-host', xfHost);
  out.push('x-real-ip', ctx.clientIp);
  out.push('x-request-id', ctx.requestId);
  return out;
}

/**
 * The response headers to send the client, hop-by-hop removed, as a new
 * object (deleting keys would turn undici's object into a slow dictionary).
 */
export function clientResponseHeaders(headers: IncomingHttpHeaders): OutgoingHttpHeaders {
  const value = headers.connection;
  // "keep-alive" and "close" name no extra fields; anything else might.
  const named =
    value === undefined || value === 'keep-alive' || value === 'close'
      ? undefined
      : connectionTokens(value);
  const out: OutgoingHttpHeaders = {};
  for (const name in headers) {
    if (HOP_BY_HOP.has(name) || named?.has(name)) continue;
    out[name] = headers[name];
  }
  return out;
}

/**
 * Trailer fields for the client: hop-by-hop and pseudo-header names removed,
 * as a new object; undefined when none is left. Trailers reach an HTTP/1.1
 * client only on a chunked answer (Node drops them otherwise).
 */
export function clientTrailers(trailers: IncomingHttpHeaders): OutgoingHttpHeaders | undefined {
  let out: OutgoingHttpHeaders | undefined;
  for (const name in trailers) {
    if (HOP_BY_HOP.has(name) || name.charCodeAt(0) === COLON) continue;
    const value = trailers[name];
    if (value === undefined) continue;
    out ??= {};
    out[name] = value;
  }
  return out;
}
