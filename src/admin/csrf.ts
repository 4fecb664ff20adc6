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

/** Throws CsrfError when the browser says the request comes from another site than this listener. */
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
  const own = `${scheme}://${req.headers.host ?? ''}`;
  if (origin.toLowerCase() !== own.toLowerCase()) {
    throw new CsrfError(`refused: Origin ${origin} is not this admin listener (${own})`);
  }
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
