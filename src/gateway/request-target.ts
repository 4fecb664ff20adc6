// The request target and Host as Cutover routes and forwards them. What the
// router matches must be what the backend will act on: a path the backend's
// URL parser would rewrite (`/api/%2e%2e/admin` is `/admin` to almost every
// framework) would leave its route with the guards of another. So the path is
// normalised once, here, and the normalised path is routed, forwarded, copied
// to the shadow and logged.
//
// Normalisation, as Envoy's `normalize_path` + `merge_slashes` and nginx's
// defaults (merge_slashes on, dot segments resolved before location matching):
//   1. percent-encoded unreserved characters are decoded (RFC 3986 §2.3,
//      §6.2.2.2), so `%2e` is a dot and `%61` an `a`; other escapes are kept
//      as they came; a `%` not followed by two hex digits is a 400 (§2.1);
//   2. repeated slashes are merged (nginx `merge_slashes on`);
//   3. `.` and `..` segments are removed (RFC 3986 §5.2.4); `..` never climbs
//      above the root.
// `%2F`, `%5C` and a raw `\` are slashes to some backends (WHATWG URL parsers
// read `\` as `/`; Tomcat and others decode `%2F`) and plain characters to
// others, so no single normalisation is right: by default they are refused
// with 400, as Envoy's `path_with_escaped_slashes_action: REJECT_REQUEST`;
// `server.escapedSlashes: keep` forwards them unchanged, as Envoy's
// KEEP_UNCHANGED, for backends known not to decode them.
// A dot segment with path parameters (`/..;x/`) is refused too: servlet
// containers (Tomcat, Jetty) drop the `;x` and then resolve the `..`, which no
// URL normaliser (Envoy's, nginx's) does.
import { isIPv6 } from 'node:net';
import { BadHostError, BadTargetError } from '../errors.ts';

/** What to do with `%2F`, `%5C` and `\` in a path (docs/config.md `server.escapedSlashes`). */
export type EscapedSlashes = 'reject' | 'keep';

export interface RequestTarget {
  /** The normalised path: what the router matches and the backend receives. */
  readonly path: string;
  /** The query without its `?`, exactly as the client sent it; '' when none. */
  readonly query: string;
  /** The normalised path and the original `?query`: the target forwarded upstream. */
  readonly target: string;
  /** Host for routing, lower-cased, without port; undefined when there is none (HTTP/1.0). */
  readonly host: string | undefined;
}

const SLASH = 47;
const DOT = 46;
const PERCENT = 37;
const BACKSLASH = 92;
const HASH = 35;
const QUESTION = 63;
const COLON = 58;
const OPEN_BRACKET = 91;

/** RFC 3986 §2.3 unreserved: ALPHA / DIGIT / "-" / "." / "_" / "~". */
function isUnreserved(c: number): boolean {
  return (
    (c >= 97 && c <= 122) ||
    (c >= 65 && c <= 90) ||
    (c >= 48 && c <= 57) ||
    c === 45 ||
    c === DOT ||
    c === 95 ||
    c === 126
  );
}

/**
 * RFC 3986 §3.2.2 reg-name characters: unreserved and sub-delims, less `,`
 * (a comma-joined Host is two values folded into one, RFC 9110 §5.3) and
 * pct-encoded (a host spelled `%61.example` would route apart from
 * `a.example`, and no client sends one).
 */
function isRegNameChar(c: number): boolean {
  return (
    isUnreserved(c) ||
    c === 33 /* ! */ ||
    c === 36 /* $ */ ||
    c === 38 /* & */ ||
    c === 39 /* ' */ ||
    c === 40 /* ( */ ||
    c === 41 /* ) */ ||
    c === 42 /* * */ ||
    c === 43 /* + */ ||
    c === 59 /* ; */ ||
    c === 61 /* = */
  );
}

function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  const lower = c | 0x20;
  if (lower >= 97 && lower <= 102) return lower - 87;
  return -1;
}

/**
 * A path that needs the slow normaliser: a `%`, `\`, `#`, `//`, or a `.` or
 * `..` segment (also with `;` parameters). One compiled scan, no allocation; bench/request-target-micro.ts
 * measured it ahead of a charCodeAt loop and of one indexOf per character.
 */
const NEEDS_NORMALISING = /[%\\#]|\/\/|\/\.\.?(?:[/;]|$)/;

/** `.;x` or `..;x` after decoding: a dot segment to a servlet container. */
const DOT_SEGMENT_WITH_PARAMS = /^\.\.?;/;

/** Step 1: decode escaped unreserved characters; refuse or keep escaped slashes. */
function decodeUnreserved(path: string, escapedSlashes: EscapedSlashes): string {
  let out = '';
  let from = 0;
  for (let i = 0; i < path.length; i++) {
    const c = path.charCodeAt(i);
    if (c === HASH) {
      // RFC 9112 §3.2.1: origin-form is absolute-path [ "?" query ]; a fragment is never sent.
      throw new BadTargetError('a request target cannot hold a fragment (#)');
    }
    if (c === BACKSLASH) {
      if (escapedSlashes === 'reject') {
        throw new BadTargetError('a backslash in the path is refused (server.escapedSlashes)');
      }
      continue;
    }
    if (c !== PERCENT) continue;
    const hi = i + 2 < path.length ? hexValue(path.charCodeAt(i + 1)) : -1;
    const lo = hi === -1 ? -1 : hexValue(path.charCodeAt(i + 2));
    if (lo === -1) throw new BadTargetError('a % in the path must be followed by two hex digits');
    const byte = hi * 16 + lo;
    if (byte === SLASH || byte === BACKSLASH) {
      if (escapedSlashes === 'reject') {
        throw new BadTargetError(
          'an encoded slash (%2F or %5C) in the path is refused (server.escapedSlashes)',
        );
      }
    } else if (isUnreserved(byte)) {
      out += path.slice(from, i) + String.fromCharCode(byte);
      from = i + 3;
    }
    i += 2;
  }
  return from === 0 ? path : out + path.slice(from);
}

/** Steps 2 and 3: merge slashes, then RFC 3986 §5.2.4 remove_dot_segments. */
function resolveSegments(path: string): string {
  const parts = path.split('/');
  const kept: string[] = [];
  // A path ending in "/", "/." or "/.." names a directory: keep the trailing slash.
  let trailing = false;
  for (let i = 1; i < parts.length; i++) {
    const part = parts[i];
    trailing = false;
    if (part === '' || part === '.') {
      trailing = true;
    } else if (part === '..') {
      kept.pop();
      trailing = true;
    } else if (DOT_SEGMENT_WITH_PARAMS.test(part)) {
      throw new BadTargetError('a dot segment with parameters (..;) is refused');
    } else kept.push(part);
  }
  if (kept.length === 0) return '/';
  return `/${kept.join('/')}${trailing ? '/' : ''}`;
}

/** The path routed and forwarded for `path` (origin-form, starting with /). */
export function normalisePath(path: string, escapedSlashes: EscapedSlashes): string {
  if (!NEEDS_NORMALISING.test(path)) return path;
  return resolveSegments(decodeUnreserved(path, escapedSlashes));
}

/**
 * Index of the port's colon in a valid `uri-host [ ":" port ]` (RFC 9110
 * §7.2, RFC 3986 §3.2.2–3.2.3), -1 when there is no port; throws otherwise.
 * The port is 1–5 digits up to 65535: an empty port is legal in RFC 3986 but
 * no client sends one, and nginx refuses it too.
 */
function checkAuthority(value: string): number {
  const n = value.length;
  if (n === 0) throw new BadHostError('the Host is empty');
  let i = 0;
  if (value.charCodeAt(0) === OPEN_BRACKET) {
    const close = value.indexOf(']');
    if (close === -1 || !isIPv6(value.slice(1, close))) {
      throw new BadHostError(`"${value.slice(0, 100)}" is not a valid [IPv6] host`);
    }
    i = close + 1;
    if (i < n && value.charCodeAt(i) !== COLON) {
      throw new BadHostError(`"${value.slice(0, 100)}" is not host[:port]`);
    }
  } else {
    while (i < n && value.charCodeAt(i) !== COLON) {
      if (!isRegNameChar(value.charCodeAt(i))) {
        throw new BadHostError(`"${value.slice(0, 100)}" is not host[:port]`);
      }
      i++;
    }
    if (i === 0) throw new BadHostError(`"${value.slice(0, 100)}" has no host name`);
  }
  if (i === n) return -1;
  const digits = n - i - 1;
  let port = 0;
  for (let j = i + 1; j < n; j++) {
    const d = value.charCodeAt(j) - 48;
    if (d < 0 || d > 9) throw new BadHostError(`"${value.slice(0, 100)}" is not host[:port]`);
    port = port * 10 + d;
  }
  if (digits === 0) throw new BadHostError(`"${value.slice(0, 100)}" has an empty port`);
  if (digits > 5 || port > 65535) {
    throw new BadHostError(`"${value.slice(0, 100)}" has a port outside 0–65535`);
  }
  return i;
}

/** `uri-host` lower-cased (RFC 9110 §4.2.3: host names are case-insensitive). */
function bareHost(value: string, colon: number): string {
  const end = colon === -1 ? value.length : colon;
  for (let i = 0; i < end; i++) {
    const c = value.charCodeAt(i);
    if (c >= 65 && c <= 90) return value.slice(0, end).toLowerCase();
  }
  // Already lower-case, as clients send it: no new string.
  return colon === -1 ? value : value.slice(0, colon);
}

/** The port of an authority checked by checkAuthority, or the scheme's default. */
function portOf(value: string, colon: number, https: boolean): number {
  return colon === -1 ? (https ? 443 : 80) : Number(value.slice(colon + 1));
}

/**
 * The one Host field's value; a second Host field is a 400 (RFC 9112 §3.2).
 * An HTTP/2 request names its host in `:authority` (the compat API lists
 * pseudo-headers in rawHeaders); a Host field beside it that names another
 * is malformed (RFC 9113 §8.3.1).
 */
function singleHost(rawHeaders: readonly string[]): string | undefined {
  let host: string | undefined;
  let authority: string | undefined;
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i];
    if (name.length === 10 && name === ':authority') {
      authority = rawHeaders[i + 1];
      continue;
    }
    if (name.length !== 4 || (name !== 'Host' && name !== 'host' && name.toLowerCase() !== 'host'))
      continue;
    if (host !== undefined) throw new BadHostError('the request has more than one Host field');
    host = rawHeaders[i + 1];
  }
  if (authority === undefined) return host;
  if (host !== undefined && host.toLowerCase() !== authority.toLowerCase()) {
    throw new BadHostError('the Host field names another host than :authority');
  }
  return authority;
}

/** Length of `http://` or `https://` at the start of `url` (any case), or 0. */
function absoluteSchemeLength(url: string): number {
  const lower = url.slice(0, 8).toLowerCase();
  if (lower.startsWith('http://')) return 7;
  if (lower === 'https://') return 8;
  return 0;
}

/**
 * Turns the request line's target and the Host fields into what the gateway
 * routes and forwards. Throws BadTargetError or BadHostError (both 400).
 *
 * Origin-form (`/path?query`) is the common case. Absolute-form
 * (`http://host/path`, RFC 9112 §3.2.2) is accepted when its authority names
 * the same host and port as Host, so routing on either gives one answer; a
 * disagreement is refused, as is userinfo (`user@host`, deprecated by RFC
 * 9110 §4.2.4). Asterisk- and authority-form have no route here: 400.
 */
export function resolveRequestTarget(
  url: string,
  rawHeaders: readonly string[],
  escapedSlashes: EscapedSlashes,
): RequestTarget {
  const hostValue = singleHost(rawHeaders);
  const hostColon = hostValue === undefined ? -1 : checkAuthority(hostValue);
  let host = hostValue === undefined ? undefined : bareHost(hostValue, hostColon);
  let start = 0;
  if (url.charCodeAt(0) !== SLASH) {
    const scheme = absoluteSchemeLength(url);
    if (scheme === 0) {
      throw new BadTargetError(
        `request target must be a path or an http(s) URL, got "${url.slice(0, 100)}"`,
      );
    }
    let end = scheme;
    while (end < url.length) {
      const c = url.charCodeAt(end);
      if (c === SLASH || c === QUESTION || c === HASH) break;
      end++;
    }
    const authority = url.slice(scheme, end);
    if (authority.includes('@')) {
      throw new BadTargetError('a request target cannot carry userinfo (user@host)');
    }
    const colon = checkAuthority(authority);
    const https = scheme === 8;
    const authorityHost = bareHost(authority, colon);
    if (
      host !== undefined &&
      (authorityHost !== host ||
        portOf(authority, colon, https) !== portOf(hostValue!, hostColon, https))
    ) {
      throw new BadHostError(
        `the target's authority "${authority.slice(0, 100)}" is not the Host "${hostValue!.slice(0, 100)}"`,
      );
    }
    host = authorityHost;
    start = end;
  }
  const q = url.indexOf('?', start);
  const rawPath = q === -1 ? url.slice(start) : url.slice(start, q);
  const path = normalisePath(rawPath === '' ? '/' : rawPath, escapedSlashes);
  const query = q === -1 ? '' : url.slice(q + 1);
  let target: string;
  if (start === 0 && path === rawPath) target = url;
  else target = q === -1 ? path : `${path}?${query}`;
  return { path, query, target, host };
}
