// The admin API as the dashboard calls it: same origin, the session cookie
// (HttpOnly, so script never reads it), and the CSRF token from the session
// on every write. A problem+json answer becomes an ApiError with its detail.
import type { Session } from './types.ts';

export class ApiError extends Error {
  readonly status: number;
  readonly code: string | undefined;
  constructor(status: number, message: string, code?: string) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

let csrf: string | undefined;

/** The CSRF token writes carry (x-csrf-token), from the session the page signed in with. */
export function useSessionToken(session: Session | undefined): void {
  csrf = session?.csrf;
}

async function errorOf(res: Response): Promise<ApiError> {
  try {
    const p = (await res.json()) as { detail?: string; title?: string; code?: string };
    return new ApiError(res.status, p.detail ?? p.title ?? res.statusText, p.code);
  } catch {
    return new ApiError(res.status, `${res.status} ${res.statusText}`);
  }
}

export async function request<T>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (method !== 'GET' && csrf) headers['x-csrf-token'] = csrf;
  const res = await fetch(path, {
    method,
    headers,
    credentials: 'same-origin',
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!res.ok) throw await errorOf(res);
  // 204 (a sign-out, a reset) has no body to read.
  return (res.status === 204 ? undefined : await res.json()) as T;
}

export const get = <T>(path: string): Promise<T> => request<T>('GET', path);

/** The route name as one path segment. */
export const seg = (name: string): string => encodeURIComponent(name);

/** The current session, or undefined when the dashboard must sign in (401). */
export async function currentSession(): Promise<Session | undefined> {
  try {
    return await get<Session>('/api/session');
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) return undefined;
    throw error;
  }
}

export function signIn(token: string, name: string): Promise<Session> {
  return request<Session>('POST', '/api/session', { token, name });
}

export async function signOut(): Promise<void> {
  await request<unknown>('DELETE', '/api/session');
}
