// Bearer-token auth for the admin API (RFC 6750). A non-loopback admin
// listener without a token refuses to start.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { isIP } from 'node:net';

export function isLoopback(host: string): boolean {
  if (host === 'localhost') return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  return host === '::1' || host === '[::1]';
}

/** RFC 6750 §2.1 `Bearer`; the scheme is case-insensitive (RFC 9110 §11.1). */
const BEARER = /^bearer +/i;

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

/**
 * Compares SHA-256 digests, which are 32 bytes whatever the token: a length
 * check before `timingSafeEqual` (it throws on unequal lengths) answered
 * faster for a token of the wrong length and so told its length.
 */
export function tokenMatches(given: string, token: string): boolean {
  return timingSafeEqual(digest(given), digest(token));
}

export function hasValidToken(req: IncomingMessage, token: string): boolean {
  const header = req.headers.authorization;
  if (typeof header !== 'string') return false;
  const scheme = BEARER.exec(header);
  if (!scheme) return false;
  return tokenMatches(header.slice(scheme[0].length).trim(), token);
}
