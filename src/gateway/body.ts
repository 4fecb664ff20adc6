// Request bodies: read whole before the upstream is contacted when they fit
// the request buffer (nginx proxy_request_buffering on), so a slow upload
// holds no upstream connection, or when the request may have to be sent twice
// (fallback to legacy, retry); larger ones stream, counted and timed as they
// go. Every read has a gap timeout (nginx client_body_timeout).
import type { IncomingMessage } from 'node:http';
import { PassThrough } from 'node:stream';
import { DEFAULTS } from '../config/index.ts';
import { BodyTooLargeError, ClientTimeoutError } from '../errors.ts';
import type { StreamedBodyCopy } from './body-copy.ts';
import type { BufferBudget } from './buffer-budget.ts';
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

/** Calls `fire` when no chunk of `req` arrived for `ms`; stopped by `stop()`. */
function gapTimer(ms: number, fire: () => void): NodeJS.Timeout {
  const timer = setTimeout(fire, ms);
  timer.unref();
  return timer;
}

/**
 * Reads a body of `length` bytes whole. Rejects with ClientTimeoutError when
 * the client sends nothing for `gapMs` (nginx client_body_timeout: the gap
 * between two reads, not the whole body), or with an Error when it goes away.
 */
export function readBody(req: IncomingMessage, length: number, gapMs: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const timer = gapTimer(gapMs, () => reject(new ClientTimeoutError(gapMs)));
    req.on('data', (c: Buffer) => {
      timer.refresh();
      chunks.push(c);
      size += c.length;
    });
    req.once('end', () => {
      clearTimeout(timer);
      resolve(size === length ? Buffer.concat(chunks, size) : Buffer.concat(chunks));
    });
    req.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    req.once('aborted', () => {
      clearTimeout(timer);
      reject(new Error('client aborted'));
    });
  });
}

/** A chunked body that outgrew the buffer: what was read, to be sent first, then the rest streams. */
export interface BodyOverflow {
  readonly stream: PassThrough;
  readonly read: number;
}

/**
 * Reads a body without Content-Length into memory while it stays within
 * `upTo` bytes and the budget (each chunk taken from `budget`, given back by
 * the caller through `release`). A body that ends in time is a Buffer; one that
 * grows past `upTo` becomes a stream that starts with what was read and goes
 * on with the rest (see watchBody). Rejects like readBody, and with
 * BodyTooLargeError past `maxBytes`.
 */
export function bufferChunkedBody(
  req: IncomingMessage,
  upTo: number,
  maxBytes: number,
  gapMs: number,
  budget: BufferBudget,
): { body: Promise<Buffer | BodyOverflow>; release: () => void } {
  let taken = 0;
  const release = () => {
    budget.give(taken);
    taken = 0;
  };
  const body = new Promise<Buffer | BodyOverflow>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const stop = () => {
      clearTimeout(timer);
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('aborted', onAborted);
    };
    const fail = (e: Error) => {
      stop();
      reject(e);
    };
    const timer = gapTimer(gapMs, () => fail(new ClientTimeoutError(gapMs)));
    const onData = (c: Buffer) => {
      timer.refresh();
      chunks.push(c);
      size += c.length;
      if (size > maxBytes) {
        fail(new BodyTooLargeError(maxBytes));
        return;
      }
      if (size <= upTo && budget.tryTake(c.length)) {
        taken += c.length;
        return;
      }
      // Too big to buffer: stream from here, the bytes read so far first.
      stop();
      req.pause();
      const stream = new PassThrough();
      for (const chunk of chunks) stream.write(chunk);
      resolve({ stream, read: size });
    };
    const onEnd = () => {
      stop();
      resolve(Buffer.concat(chunks, size));
    };
    const onError = (e: Error) => fail(e);
    const onAborted = () => fail(new Error('client aborted'));
    req.on('data', onData);
    req.once('end', onEnd);
    req.once('error', onError);
    req.once('aborted', onAborted);
  });
  return { body, release };
}

/** What watchBody tells the exchange the stream feeds. */
export interface BodyWatcher {
  requestBodyFailed(error: BodyTooLargeError | ClientTimeoutError): void;
}

/**
 * Pipes a streamed request body into `into`, failing it past `max` bytes
 * (counting `read` bytes already in it) or after `gapMs` without a chunk; the
 * exchange is told first, so it answers 413 or 408 and never blames the backend.
 * `copy` keeps what passes, for a resend (a gRPC call's body, body-copy.ts).
 */
export function watchBody(
  req: IncomingMessage,
  into: PassThrough,
  read: number,
  max: number,
  gapMs: number,
  exchange: BodyWatcher,
  onTimeout: () => void,
  copy?: StreamedBodyCopy,
): void {
  let size = read;
  let failed = false;
  const failNow = (error: BodyTooLargeError | ClientTimeoutError) => {
    exchange.requestBodyFailed(error);
    into.destroy(error);
  };
  const fail = (error: BodyTooLargeError | ClientTimeoutError) => {
    if (failed) return;
    failed = true;
    clearTimeout(timer);
    copy?.release();
    req.unpipe(into);
    // The upstream request is cancelled on a later turn of the event loop:
    // an HTTP/2 stream undici opened in this same turn is still pending (no
    // stream id yet), and cancelling it then left its session stuck — every
    // later request on it went unanswered, and with the client in the same
    // process nghttp2 spun sending empty DATA frames (a gRPC call over
    // maxBodyBytes, its first message in the same packet as its head).
    setTimeout(failNow, 0, error);
  };
  const timer = gapTimer(gapMs, () => {
    onTimeout();
    fail(new ClientTimeoutError(gapMs));
  });
  req.on('data', (chunk: Buffer) => {
    timer.refresh();
    size += chunk.length;
    if (size > max) fail(new BodyTooLargeError(max));
    else copy?.add(chunk);
  });
  // Before the pipe's own listener: the copy is whole before undici sees the body end.
  req.once('end', () => {
    clearTimeout(timer);
    copy?.end();
  });
  req.once('close', () => clearTimeout(timer));
  req.pipe(into);
}
