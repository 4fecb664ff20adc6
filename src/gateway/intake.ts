// A request's body on its way in: read whole before the upstream is
// contacted (a body that may be sent twice — fallback, retry, shadow copy —
// or one that fits the request buffer, so a slow upload holds no upstream
// connection), or streamed, timed and counted as it goes. Expect:
// 100-continue is answered once the request is admitted (continue.ts).
import type { IncomingMessage, ServerResponse } from 'node:http';
import { PassThrough, type Readable } from 'node:stream';
import type { Config } from '../config/index.ts';
import {
  type BodyOverflow,
  type BodyWatcher,
  bufferChunkedBody,
  readBody,
  watchBody,
} from './body.ts';
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
  /** Stream the body as it comes, never held (a gRPC call's messages). */
  readonly streamOnly: boolean;
  /** Bodies up to this many bytes are kept whole (fallback, retry, shadow); -1 none. */
  readonly keep: number;
  readonly expectsContinue: boolean;
  readonly server: Config['server'];
  readonly budget: BufferBudget;
  /** Sends the request upstream with its body, whole or as a stream. */
  launch(body: Buffer | Readable): BodyWatcher;
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
    stream(i, 0, continueRes);
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
 * Streams a body too large to buffer, timed and counted as it goes;
 * `continueRes`: the client waits for a 100 Continue before sending it.
 */
function stream(
  i: BodyIntake,
  read: number,
  continueRes: ServerResponse | undefined,
  overflow?: BodyOverflow,
): void {
  const into = overflow?.stream ?? new PassThrough();
  const exchange = i.launch(into);
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
  );
}
