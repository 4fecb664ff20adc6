// Who is calling the admin API and what they may do. Three ways in:
// - `Authorization: Bearer` (the CLI, scripts): admin.token is the operator,
//   admin.viewerToken the viewer; the ledger names them `api`.
// - The dashboard's session cookie (session.ts): the role and name of sign-in,
//   until it expires or is signed out (revocations.ts).
// - No token configured (the listener is then loopback only): everyone is the
//   operator `local`, as curl always was.
// Changes need the operator role; from a browser they also need the same
// origin and, with a cookie or without a token, the CSRF token (csrf.ts).
import type { IncomingMessage } from 'node:http';
import { CsrfError, ForbiddenError, UnauthorizedError } from '../errors.ts';
import { hasValidToken, tokenMatches } from './auth.ts';
import { assertSameOrigin, csrfHeader, fromBrowser } from './csrf.ts';
import type { SessionRevocations } from './revocations.ts';
import {
  cookieValue,
  type Role,
  SESSION_COOKIE,
  type Session,
  SessionKeys,
  sessionKey,
} from './session.ts';
import { SignInThrottle } from './sign-in-throttle.ts';

export interface Identity {
  readonly role: Role;
  readonly name: string;
  readonly via: 'bearer' | 'cookie' | 'local';
  /** The session of a cookie; a fixed one (`local`) without a token. */
  readonly session: Session | undefined;
}

/** The session every caller shares when no token is configured: its id makes the CSRF token. */
const LOCAL_ID = 'local';

export class Access {
  readonly keys: SessionKeys;
  /** Wrong sign-ins per client address. */
  readonly signIns: SignInThrottle;
  /** Sessions signed out, on this instance or another of the fleet. */
  readonly revoked: SessionRevocations;
  readonly #token: string | undefined;
  readonly #viewerToken: string | undefined;
  readonly #scheme: 'http' | 'https';

  constructor(
    token: string | undefined,
    viewerToken: string | undefined,
    scheme: 'http' | 'https',
    revoked: SessionRevocations,
    clock: () => number = Date.now,
  ) {
    this.revoked = revoked;
    this.#token = token;
    this.#viewerToken = viewerToken;
    this.#scheme = scheme;
    this.keys = new SessionKeys(sessionKey(token, viewerToken), clock);
    this.signIns = new SignInThrottle(clock);
  }

  get scheme(): 'http' | 'https' {
    return this.#scheme;
  }

  /** True when a token is configured (sign-in is needed). */
  get guarded(): boolean {
    return this.#token !== undefined;
  }

  /** The role a sign-in token gives; undefined for a wrong one. Any token without one configured. */
  roleOfToken(given: string): Role | undefined {
    const token = this.#token;
    if (!token) return 'operator';
    // Both compared, always: the time taken does not tell which one matched.
    const operator = tokenMatches(given, token);
    const viewer = this.#viewerToken !== undefined && tokenMatches(given, this.#viewerToken);
    return operator ? 'operator' : viewer ? 'viewer' : undefined;
  }

  /** The caller; UnauthorizedError when a token is configured and neither it nor a session came. */
  identify(req: IncomingMessage): Identity {
    const token = this.#token;
    if (!token) {
      const session = this.session(req) ?? this.localSession();
      return { role: session.role, name: session.name, via: 'local', session };
    }
    if (req.headers.authorization !== undefined) {
      if (hasValidToken(req, token))
        return { role: 'operator', name: 'api', via: 'bearer', session: undefined };
      if (this.#viewerToken && hasValidToken(req, this.#viewerToken))
        return { role: 'viewer', name: 'api', via: 'bearer', session: undefined };
      throw new UnauthorizedError();
    }
    const session = this.session(req);
    if (session) return { role: session.role, name: session.name, via: 'cookie', session };
    throw new UnauthorizedError(
      'sign in: a valid bearer token or dashboard session is required (POST /api/session)',
    );
  }

  /** The request's valid session cookie, if any: not forged, not expired, not signed out. */
  session(req: IncomingMessage): Session | undefined {
    const value = cookieValue(req.headers.cookie, SESSION_COOKIE);
    const session = value === undefined ? undefined : this.keys.open(value);
    return session && !this.revoked.has(session.id) ? session : undefined;
  }

  /** Without a token: the operator `local`, never expiring. */
  localSession(): Session {
    return { role: 'operator', name: 'local', expiresAt: 0, id: LOCAL_ID };
  }

  /**
   * Throws unless `who` may make this change: ForbiddenError for a viewer,
   * CsrfError for another site, or a browser's change without the CSRF token.
   * A bearer token from a non-browser client needs no CSRF token: no browser
   * attaches it on its own.
   */
  authorizeWrite(req: IncomingMessage, who: Identity, what: string): void {
    assertSameOrigin(req, this.#scheme);
    if (who.role !== 'operator') throw new ForbiddenError(what);
    const needsToken = who.via === 'cookie' || (who.via === 'local' && fromBrowser(req));
    if (!needsToken || !who.session) return;
    const given = csrfHeader(req);
    if (given === undefined)
      throw new CsrfError('refused: a change with a session needs the x-csrf-token header');
    if (!this.keys.csrfMatches(who.session.id, given))
      throw new CsrfError('refused: the x-csrf-token header is not this session’s');
  }
}
