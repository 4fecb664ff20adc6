// A request's body on its way in: read whole before the upstream is
// contacted (a body that may be sent twice — fallback, retry, shadow copy —
// or one that fits the request buffer, so a slow upload holds no upstream
// connection), or streamed, timed and counted as it goes. Expect:
// 100-continue is answered once the request is admitted (continue.ts).
import type { IncomingMessage, ServerResponse } from 'node:http';
import { PassThrough, type Readable } from 'node:stream';
import type { Config } from '../config/index.ts';
import { BodyTooLargeError } from '../errors.ts';
import {
  type BodyOverflow,
  type BodyWatcher,
  bufferChunkedBody,
  readBody,
  watchBody,
} from './body.ts';
import { StreamedBodyCopy } from './body-copy.ts';
import type { BufferBudget } from './buffer-budget.ts';
import { askForBody } from './continue.ts';
import type { CompiledRoute } from './table.ts';

/** One request with a body (announced or chunked), admitted and ready to send. */
export interface BodyIntake {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly route: CompiledRoute;
  /** The announced Content-Length (0 when chunked). */
  readonly length: number;
  readonly chunked: boolean;
  /**
   * Stream the body as it comes, never held (a gRPC call's messages); a copy
   * of it is kept up to `keep` bytes, so a body that ends within it can be resent.
   */
  readonly streamOnly: boolean;
  /** Bodies up to this many bytes are kept whole (fallback, retry, shadow); -1 none. */
  readonly keep: number;
  readonly expectsContinue: boolean;
  readonly server: Config['server'];
  readonly budget: BufferBudget;
  /** Sends the request upstream with its body, whole or as a stream (with the copy kept of it, if any). */
  launch(body: Buffer | Readable, copy?: StreamedBodyCopy): BodyWatcher;
  /** Reading the body failed before anything was sent upstream. */
  failed(error: Error): void;
  /** A streamed body went quiet past clientBodyTimeout. */
  timedOut(): void;
}

export function takeBody(i: BodyIntake): void {
  const { req, res, route, length, server, budget } = i;
  const gap = server.clientBodyTimeout;
  const continueRes = i.expectsContinue ? res : undefined;
  if (i.streamOnly) {
    if (continueRes === undefined) takeCallBody(i);
    else stream(i, 0, continueRes, undefined, copyFor(i));
    return;
  }
  if (!i.chunked) {
    const charged = length <= Math.max(i.keep, server.requestBuffer) && budget.tryTake(length);
    if (length <= i.keep || charged) {
      if (continueRes) askForBody(continueRes);
      readBody(req, length, gap).then(
        (body) => {
          if (charged) budget.give(length);
          i.launch(body);
        },
        (e: Error) => {
          if (charged) budget.give(length);
          i.failed(e);
        },
      );
      return;
    }
    stream(i, 0, continueRes);
    return;
  }
  const max = route.config.maxBodyBytes;
  const upTo = Math.min(Math.max(i.keep, server.requestBuffer), max);
  if (upTo <= 0) {
    stream(i, 0, continueRes);
    return;
  }
  if (continueRes) askForBody(continueRes);
  const { body, release } = bufferChunkedBody(req, upTo, max, gap, budget);
  body.then(
    (read) => {
      release();
      if (Buffer.isBuffer(read)) i.launch(read);
      else stream(i, read.read, undefined, read);
    },
    (e: Error) => {
      release();
      i.failed(e);
    },
  );
}

/**
 * Streams a body too large to buffer (or never held), timed and counted as
 * it goes; `continueRes`: the client waits for a 100 Continue before sending
 * it; `copy`: keeps what passes, for a resend.
 */
function stream(
  i: BodyIntake,
  read: number,
  continueRes: ServerResponse | undefined,
  overflow?: BodyOverflow,
  copy?: StreamedBodyCopy,
): void {
  const into = overflow?.stream ?? new PassThrough();
  const exchange = i.launch(into, copy);
  // After start(): a breaker or backend cap that refused has answered already.
  if (continueRes) askForBody(continueRes);
  watchBody(
    i.req,
    into,
    read,
    i.route.config.maxBodyBytes,
    i.server.clientBodyTimeout,
    exchange,
    i.timedOut,
    copy,
  );
}

/** What keeps a streamed body for a resend; undefined when none will be made. */
function copyFor(i: BodyIntake): StreamedBodyCopy | undefined {
  return i.keep >= 0 ? new StreamedBodyCopy(i.keep, i.budget) : undefined;
}

/**
 * A gRPC call's body. What arrives in this turn of the event loop is read: a
 * body that ended by then (a unary call's one message, sent with its head) is
 * whole and goes as a Buffer — no stream piped upstream, resendable within
 * `keep` (measured: ≈ 100 µs of CPU per call instead of ≈ 170 streamed,
 * docs/decisions.md). Anything else streams, from its first byte again, so a
 * call that waits for an answer before it sends more never waits on Cutover.
 */
function takeCallBody(i: BodyIntake): void {
  const { req, budget } = i;
  const max = i.route.config.maxBodyBytes;
  const upTo = Math.min(Math.max(i.keep, i.server.requestBuffer), max);
  const chunks: Buffer[] = [];
  let size = 0;
  let taken = 0;
  const stop = () => {
    clearImmediate(turn);
    req.off('data', onData);
    req.off('end', onEnd);
    req.off('error', onError);
    req.off('aborted', onAborted);
    budget.give(taken);
    taken = 0;
  };
  const onData = (chunk: Buffer) => {
    chunks.push(chunk);
    size += chunk.length;
    if (size > max) onError(new BodyTooLargeError(max));
    else if (size <= upTo && budget.tryTake(chunk.length)) taken += chunk.length;
    else toStream();
  };
  const onEnd = () => {
    stop();
    i.launch(Buffer.concat(chunks, size));
  };
  const onError = (e: Error) => {
    stop();
    req.pause();
    i.failed(e);
  };
  const onAborted = () => onError(new Error('client aborted'));
  const toStream = () => {
    stop();
    req.pause();
    // Put back what was read: the stream, and whoever listens to it (a
    // shadow copy counting the call's messages), see every byte from the first.
    if (size > 0) req.unshift(Buffer.concat(chunks, size));
    stream(i, 0, undefined, undefined, copyFor(i));
  };
  req.on('data', onData);
  req.once('end', onEnd);
  req.once('error', onError);
  req.once('aborted', onAborted);
  const turn = setImmediate(toStream);
}
