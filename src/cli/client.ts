// Talks to a running gateway's admin API for the CLI's commands.
import { request } from 'undici';
import { loadConfigFile } from '../config/index.ts';
import { AdminRequestError } from '../errors.ts';

export interface AdminTarget {
  readonly url: string;
  readonly token: string | undefined;
}

/** `--admin URL` (token from CUTOVER_ADMIN_TOKEN) or the admin address and token of `-c FILE`. */
export async function resolveAdmin(opts: {
  admin?: string;
  config?: string;
}): Promise<AdminTarget> {
  if (opts.admin)
    return { url: opts.admin.replace(/\/$/, ''), token: process.env.CUTOVER_ADMIN_TOKEN };
  const config = await loadConfigFile(opts.config ?? 'cutover.yaml', process.env, {
    inThread: true,
  });
  const { host, port } = config.admin.listen;
  const h =
    host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
  return {
    url: `http://${h}:${port}`,
    token: config.admin.token ?? process.env.CUTOVER_ADMIN_TOKEN,
  };
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
    });
  } catch (cause) {
    throw new AdminRequestError(
      `cannot reach the admin API at ${target.url}: ${(cause as Error).message}`,
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
