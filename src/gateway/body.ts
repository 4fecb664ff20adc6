// Request bodies: streamed by default; kept in memory only when small and the
// request may have to be sent twice (fallback to legacy, retry); counted as
// they stream when the client sent no Content-Length.
import type { IncomingMessage } from 'node:http';
import type { PassThrough } from 'node:stream';
import { DEFAULTS } from '../config/index.ts';
import { BodyTooLargeError } from '../errors.ts';
import type { CompiledRoute } from './table.ts';

/** RFC 9110 §9.2.1 safe methods, resent without harm when a route does not list its own. */
export const SAFE_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS']);

/** Whether a failed attempt of this request may be sent again (fallback or retry). */
export function isResendable(route: CompiledRoute, req: IncomingMessage): boolean {
  const methods = route.config.fallback?.methods;
  const method = req.method!;
  if (methods ? methods.has(method) : SAFE_METHODS.has(method)) return true;
  return req.headers['idempotency-key'] !== undefined;
}

/** Largest body to keep for a second attempt of this request; -1 when none will be made. */
export function keepBodyUpTo(route: CompiledRoute, req: IncomingMessage): number {
  const cfg = route.config;
  if (!cfg.fallback && !cfg.retry) return -1;
  if (!isResendable(route, req)) return -1;
  return cfg.fallback?.maxBodyBytes ?? DEFAULTS.fallback.maxBodyBytes;
}

export function readBody(req: IncomingMessage, length: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      chunks.push(c);
      size += c.length;
    });
    req.once('end', () =>
      resolve(size === length ? Buffer.concat(chunks, size) : Buffer.concat(chunks)),
    );
    req.once('error', reject);
    req.once('aborted', () => reject(new Error('client aborted')));
  });
}

/** Pipe a body without Content-Length into `into`, failing it past `max` bytes. */
export function countBody(
  req: IncomingMessage,
  into: PassThrough,
  max: number,
  exchange: { bodyTooLarge(): void },
): void {
  let size = 0;
  req.on('data', (chunk: Buffer) => {
    size += chunk.length;
    if (size > max) {
      exchange.bodyTooLarge();
      req.unpipe(into);
      into.destroy(new BodyTooLargeError(max));
    }
  });
  req.pipe(into);
}
