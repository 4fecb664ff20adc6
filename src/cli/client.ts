// Talks to a running gateway's admin API for the CLI's commands, over http://
// or https:// (admin-tls.ts says whom it trusts).
import { Agent, type Dispatcher, request } from 'undici';
import { loadConfigFile, type TlsConfig } from '../config/index.ts';
import { AdminRequestError } from '../errors.ts';
import { adminTlsOptions } from './admin-tls.ts';

export interface AdminTarget {
  readonly url: string;
  readonly token: string | undefined;
  /** The connections' TLS settings for an https:// URL; undefined for http://. */
  readonly dispatcher: Dispatcher | undefined;
  /** Whether a client certificate is shown (CUTOVER_ADMIN_CERT and CUTOVER_ADMIN_KEY set). */
  readonly clientCertificate: boolean;
}

type Env = Readonly<Record<string, string | undefined>>;

/** An https:// target gets its own agent: the trust and client certificate differ from undici's global one. */
function dispatcherFor(url: string, env: Env, served?: TlsConfig): Dispatcher | undefined {
  if (!url.startsWith('https:')) return undefined;
  return new Agent({ connect: adminTlsOptions(env, served) });
}

/**
 * `--admin URL` (token from CUTOVER_ADMIN_TOKEN) or the admin address, token
 * and certificate of `-c FILE`.
 */
export async function resolveAdmin(
  opts: { admin?: string; config?: string },
  env: Env = process.env,
): Promise<AdminTarget> {
  if (opts.admin) {
    const url = opts.admin.replace(/\/$/, '');
    return {
      url,
      token: env.CUTOVER_ADMIN_TOKEN,
      dispatcher: dispatcherFor(url, env),
      clientCertificate: hasClientCertificate(env),
    };
  }
  const config = await loadConfigFile(opts.config ?? 'cutover.yaml', env, {
    inThread: true,
  });
  const { host, port } = config.admin.listen;
  const tls = config.admin.tls;
  const h =
    host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
  const url = `${tls ? 'https' : 'http'}://${h}:${port}`;
  return {
    url,
    token: config.admin.token ?? env.CUTOVER_ADMIN_TOKEN,
    dispatcher: dispatcherFor(url, env, tls),
    clientCertificate: hasClientCertificate(env),
  };
}

function hasClientCertificate(env: Env): boolean {
  return !!env.CUTOVER_ADMIN_CERT && !!env.CUTOVER_ADMIN_KEY;
}

/** What to do about a refused TLS connection, in the words of the setting that fixes it. */
function tlsHint(target: AdminTarget, cause: unknown): string {
  if (!target.url.startsWith('https:')) return '';
  const code = (cause as NodeJS.ErrnoException).code ?? '';
  // A server that wants a client certificate and gets none closes the
  // connection after a TLS 1.3 handshake the client took for done: the
  // client sees the socket closed, not the alert (measured with undici).
  if (!target.clientCertificate && /^(UND_ERR_SOCKET|ECONNRESET|ERR_SSL_.*ALERT)/.test(code)) {
    return ' (an admin listener with admin.tls.ca closes connections without a client certificate: set CUTOVER_ADMIN_CERT and CUTOVER_ADMIN_KEY)';
  }
  if (/CERT|SELF_SIGNED|UNABLE_TO_(GET_ISSUER|VERIFY)/.test(code) && !code.startsWith('ERR_SSL')) {
    return ' (trust its CA with CUTOVER_ADMIN_CA=FILE, or use -c with the gateway config)';
  }
  return '';
}

export async function adminCall(
  target: AdminTarget,
  method: 'GET' | 'PUT' | 'DELETE' | 'POST',
  path: string,
  body?: unknown,
): Promise<unknown> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (target.token) headers.authorization = `Bearer ${target.token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  let res: Awaited<ReturnType<typeof request>>;
  try {
    res = await request(target.url + path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      headersTimeout: 5000,
      bodyTimeout: 5000,
      ...(target.dispatcher ? { dispatcher: target.dispatcher } : {}),
    });
  } catch (cause) {
    throw new AdminRequestError(
      `cannot reach the admin API at ${target.url}: ${(cause as Error).message}${tlsHint(target, cause)}`,
      { cause },
    );
  }
  const text = await res.body.text();
  let value: unknown = text;
  try {
    value = JSON.parse(text);
  } catch {
    // plain text answers (probes) stay text
  }
  if (res.statusCode >= 400) {
    const detail = (value as { detail?: string })?.detail ?? text;
    throw new AdminRequestError(`admin API answered ${res.statusCode}: ${detail}`);
  }
  return value;
}
