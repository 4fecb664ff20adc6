// Cross-site request forgery defences for the dashboard's changes (OWASP's
// CSRF cheat sheet: a synchronizer token plus origin verification, with
// SameSite=Strict cookies as a third layer).
// - Origin (RFC 6454 §7) or Sec-Fetch-Site (Fetch Metadata) saying another
//   site sent the request: refused whatever it carries.
// - A cookie-authenticated change must carry `x-csrf-token`, the HMAC of its
//   session id (session.ts). A page of another origin cannot read it, and
//   cannot send a custom header without a CORS preflight this listener never
//   answers.
import type { IncomingMessage } from 'node:http';
import { CsrfError } from '../errors.ts';

/**
 * Throws CsrfError when the browser says the request comes from another site
 * than this listener. The Origin's host and port must be the request's Host;
 * its scheme is not compared, so an admin listener behind a proxy that ends
 * TLS (the browser says `https://`, the listener serves `http`) still works
 * — a page on the same host and port under the other scheme is the same
 * server.
 */
export function assertSameOrigin(req: IncomingMessage, scheme: 'http' | 'https'): void {
  const site = req.headers['sec-fetch-site'];
  if (site === 'cross-site' || site === 'same-site') {
    // same-site is another origin too (a sibling subdomain, another port on the same host).
    throw new CsrfError(
      `refused: the browser says this request came from another site (Sec-Fetch-Site: ${site})`,
    );
  }
  const origin = req.headers.origin;
  if (origin === undefined) return;
  const host = (req.headers.host ?? '').toLowerCase();
  if (!sameHost(origin, host)) {
    throw new CsrfError(
      `refused: Origin ${origin} is not this admin listener (${scheme}://${host})`,
    );
  }
}

/**
 * Whether an Origin names the same host and port as the Host header. URL
 * leaves a scheme's default port out, as browsers and proxies do in Host;
 * a Host that spells the default port out matches too. `null` and garbage never match.
 */
function sameHost(origin: string, host: string): boolean {
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    return false;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return false;
  if (url.host === host) return true;
  const port = url.protocol === 'https:' ? '443' : '80';
  return url.port === '' && `${url.hostname}:${port}` === host;
}

/** True when a browser sent the request (it adds Origin to changes and Sec-Fetch-* to everything). */
export function fromBrowser(req: IncomingMessage): boolean {
  return req.headers.origin !== undefined || req.headers['sec-fetch-site'] !== undefined;
}

/** The `x-csrf-token` header, or undefined (a repeated header counts as missing). */
export function csrfHeader(req: IncomingMessage): string | undefined {
  const value = req.headers['x-csrf-token'];
  return typeof value === 'string' ? value : undefined;
}
