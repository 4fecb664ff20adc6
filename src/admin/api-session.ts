// /api/session: the dashboard's sign-in (POST: a token and a name for a
// signed session cookie), who am I (GET), and sign-out (DELETE: the session
// is revoked fleet-wide, revocations.ts, and the cookie cleared). Answered
// before the token check: signing in is how a browser gets past it.
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  InvalidArgumentError,
  NotFoundError,
  SignInThrottledError,
  UnauthorizedError,
} from '../errors.ts';
import type { Access, Identity } from './access.ts';
import { assertSameOrigin } from './csrf.ts';
import { readJson, sendJson } from './http.ts';
import { cleanName, SESSION_SECONDS, type Session, sessionCookie } from './session.ts';

/** What GET and POST answer: the role, the name, the CSRF token for changes and when it ends. */
export interface SessionBody {
  readonly role: Identity['role'];
  readonly name: string;
  /** Null for a bearer-token caller: it needs none. */
  readonly csrf: string | null;
  /** ISO 8601; null when it never ends (no token configured, bearer token). */
  readonly expiresAt: string | null;
}

function bodyOf(access: Access, session: Session | undefined, who: Identity): SessionBody {
  return {
    role: who.role,
    name: who.name,
    csrf: session ? access.keys.csrf(session.id) : null,
    expiresAt: session && session.expiresAt > 0 ? new Date(session.expiresAt).toISOString() : null,
  };
}

async function signIn(req: IncomingMessage, res: ServerResponse, access: Access): Promise<void> {
  assertSameOrigin(req, access.scheme);
  const body = (await readJson(req)) as { token?: unknown; name?: unknown } | null;
  const name = cleanName(body?.name);
  if (typeof body?.token !== 'string' || name === undefined) {
    throw new InvalidArgumentError(
      'expected a JSON body { "token": "<admin.token or admin.viewerToken>", "name": "<who you are, 1 to 64 characters>" }',
    );
  }
  const address = req.socket.remoteAddress ?? '';
  const wait = access.signIns.waitSeconds(address);
  if (wait > 0) {
    res.setHeader('retry-after', String(wait));
    throw new SignInThrottledError(wait);
  }
  const role = access.roleOfToken(body.token);
  if (!role) {
    access.signIns.failed(address);
    throw new UnauthorizedError(
      'wrong token: it is neither the operator token (admin.token) nor the viewer token (admin.viewerToken)',
    );
  }
  access.signIns.succeeded(address);
  const session = access.keys.issue(role, name);
  const cookie = sessionCookie(
    access.keys.seal(session),
    SESSION_SECONDS,
    access.scheme === 'https',
  );
  const who: Identity = { role, name, via: 'cookie', session };
  sendJson(res, 200, bodyOf(access, session, who), { 'set-cookie': cookie });
}

/** Answers a request for /api/session. */
export async function handleSession(
  req: IncomingMessage,
  res: ServerResponse,
  access: Access,
): Promise<void> {
  const method = req.method ?? 'GET';
  if (method === 'POST') return signIn(req, res, access);
  if (method === 'GET') {
    const who = access.identify(req);
    sendJson(res, 200, bodyOf(access, who.session, who));
    return;
  }
  if (method === 'DELETE') {
    // Sign-out holds no secret and needs none; only another site may not do it.
    assertSameOrigin(req, access.scheme);
    // The cookie is cleared even when the store does not answer (then 503):
    // this instance refuses it already, the others may not know yet.
    res.setHeader('set-cookie', sessionCookie('', 0, access.scheme === 'https'));
    res.setHeader('cache-control', 'no-store');
    const session = access.session(req);
    if (session) await access.revoked.revoke(session);
    res.writeHead(204);
    res.end();
    return;
  }
  throw new NotFoundError(`${method} /api/session`);
}
