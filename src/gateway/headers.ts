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
  /** The client's address as the listener saw it. */
  readonly clientIp: string;
  /** `http` or `https`, as the client spoke to Cutover. */
  readonly proto: string;
  readonly requestId: string;
  /** Host header to send; undefined keeps the client's Host (preserveHost). */
  readonly upstreamHost: string | undefined;
}

/**
 * The header list (flat name/value pairs, as undici takes them) for the
 * upstream request: hop-by-hop removed, X-Forwarded-* set, Host and
 * x-request-id decided. Works on rawHeaders to keep duplicates and order.
 */
export function upstreamRequestHeaders(
  rawHeaders: readonly string[],
  ctx: ForwardContext,
): string[] {
  const out: string[] = [];
  let connection: Set<string> | undefined;
  for (let i = 0; i < rawHeaders.length; i += 2) {
    if (rawHeaders[i].length === 10 && rawHeaders[i].toLowerCase() === 'connection') {
      connection = connectionTokens(rawHeaders[i + 1]);
      break;
    }
  }
  let forwardedFor: string | undefined;
  let host: string | undefined;
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i];
    const lower = name.toLowerCase();
    if (HOP_BY_HOP.has(lower) || connection?.has(lower)) continue;
    switch (lower) {
      case 'host':
        host = rawHeaders[i + 1];
        continue;
      case 'x-forwarded-for':
        forwardedFor =
          forwardedFor === undefined ? rawHeaders[i + 1] : `${forwardedFor}, ${rawHeaders[i + 1]}`;
        continue;
      case 'x-forwarded-proto':
      case 'x-forwarded-host':
      case 'x-request-id':
        continue;
      case 'expect':
        // Node's server already answered the expectation on this hop (100
        // Continue, or 417); RFC 9110 §10.1.1 has HTTP/1.0 ones ignored. Envoy
        // does the same by default (proxy_100_continue off: it sends 100 itself
        // and strips Expect). undici refuses the field, and each refused
        // request left a pool connection busy for good (issue 9's fuzz pass).
        continue;
    }
    out.push(name, rawHeaders[i + 1]);
  }
  const sendHost = ctx.upstreamHost ?? host;
  if (sendHost !== undefined) out.push('host', sendHost);
  out.push(
    'x-forwarded-for',
    forwardedFor === undefined ? ctx.clientIp : `${forwardedFor}, ${ctx.clientIp}`,
  );
  out.push('x-forwarded-proto', ctx.proto);
  if (host !== undefined) out.push('x-forwarded-host', host);
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
