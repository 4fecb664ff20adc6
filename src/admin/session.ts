// Dashboard sessions: a token exchanged once (POST /api/session) for a signed
// cookie holding the role, the name given at sign-in, an expiry and an id.
// Nothing is kept on the server at sign-in, so every instance of a fleet
// accepts a session any of them issued; sign-out revokes the id fleet-wide
// (revocations.ts).
//
// The cookie is `base64url(JSON payload) "." base64url(HMAC-SHA256(key, payload))`.
// The key is derived with HKDF (RFC 5869) from the configured tokens: the
// instances of a fleet, sharing one config, derive the same key; changing
// either token changes the key and so signs every session out. Without a
// token (loopback only) the key is random per process.
import { createHmac, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto';

export type Role = 'operator' | 'viewer';

export interface Session {
  readonly role: Role;
  /** Who, as given at sign-in; written to the ledger with each action. */
  readonly name: string;
  /** Epoch ms. */
  readonly expiresAt: number;
  /** Random; the CSRF token is derived from it. */
  readonly id: string;
}

export const SESSION_COOKIE = 'cutover_session';

/** 8 hours: one working day, as Argo CD's default session (its `users.session.duration` is 24 h; a dashboard that can roll back production should ask again sooner). */
export const SESSION_SECONDS = 8 * 60 * 60;

/** Longest name kept; a name is a label in the ledger, not a document. */
const MAX_NAME = 64;

const b64 = (buf: Buffer): string => buf.toString('base64url');

/** HKDF's salt and info: bumping the version signs every session out. */
const SALT = 'cutover-admin-session';
const INFO = 'v1 session cookie and csrf';

export function sessionKey(token: string | undefined, viewerToken: string | undefined): Buffer {
  if (!token) return randomBytes(32);
  // NUL cannot occur in either token read from YAML text, so the pair is unambiguous.
  const ikm = `${token}\u0000${viewerToken ?? ''}`;
  return Buffer.from(hkdfSync('sha256', ikm, SALT, INFO, 32));
}

/** The name to record, or undefined when it is no usable label (empty, too long, control characters). */
export function cleanName(name: unknown): string | undefined {
  if (typeof name !== 'string') return undefined;
  const trimmed = name.trim();
  if (trimmed.length === 0 || trimmed.length > MAX_NAME) return undefined;
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is refused
  if (/[\u0000-\u001f\u007f]/.test(trimmed)) return undefined;
  return trimmed;
}

export class SessionKeys {
  readonly #key: Buffer;
  readonly #clock: () => number;

  constructor(key: Buffer, clock: () => number = Date.now) {
    this.#key = key;
    this.#clock = clock;
  }

  #mac(purpose: string, text: string): Buffer {
    return createHmac('sha256', this.#key).update(`${purpose}:${text}`).digest();
  }

  /** A new session for `role` and `name`, valid for SESSION_SECONDS. */
  issue(role: Role, name: string): Session {
    return {
      role,
      name,
      expiresAt: this.#clock() + SESSION_SECONDS * 1000,
      id: b64(randomBytes(16)),
    };
  }

  /** The cookie value of a session. */
  seal(session: Session): string {
    const payload = b64(
      Buffer.from(
        JSON.stringify({ r: session.role, n: session.name, e: session.expiresAt, i: session.id }),
      ),
    );
    return `${payload}.${b64(this.#mac('session', payload))}`;
  }

  /** The session a cookie value holds; undefined when forged, malformed or expired. */
  open(value: string): Session | undefined {
    const dot = value.indexOf('.');
    if (dot <= 0) return undefined;
    const payload = value.slice(0, dot);
    const given = Buffer.from(value.slice(dot + 1), 'base64url');
    const expected = this.#mac('session', payload);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
    let parsed: unknown;
    try {
      parsed = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
    } catch {
      return undefined;
    }
    const p = parsed as { r?: unknown; n?: unknown; e?: unknown; i?: unknown };
    if (p.r !== 'operator' && p.r !== 'viewer') return undefined;
    if (typeof p.n !== 'string' || typeof p.e !== 'number' || typeof p.i !== 'string')
      return undefined;
    if (p.e <= this.#clock()) return undefined;
    return { role: p.r, name: p.n, expiresAt: p.e, id: p.i };
  }

  /** The CSRF token of a session: HMAC of its id, so it needs no storage and dies with the session. */
  csrf(id: string): string {
    return b64(this.#mac('csrf', id));
  }

  /** Whether `given` is the CSRF token of session `id` (compared in constant time). */
  csrfMatches(id: string, given: string): boolean {
    const expected = Buffer.from(this.csrf(id));
    const got = Buffer.from(given);
    return got.length === expected.length && timingSafeEqual(got, expected);
  }
}

/** The value of cookie `name` in a Cookie header (RFC 6265 §5.4), or undefined. */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/** Set-Cookie for a session (RFC 6265 §4.1); `secure` over TLS. An empty value with Max-Age=0 signs out. */
export function sessionCookie(value: string, maxAge: number, secure: boolean): string {
  const flags = [`${SESSION_COOKIE}=${value}`, 'HttpOnly', 'SameSite=Strict', 'Path=/'];
  flags.push(`Max-Age=${maxAge}`);
  if (secure) flags.push('Secure');
  return flags.join('; ');
}
