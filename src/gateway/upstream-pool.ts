// A backend instance's undici Pool. For HTTP/2 it hands undici a streamed
// request body (a gRPC call's) as a ReplayableBody and wraps the caller's
// handler so that a stream the upstream refused unprocessed is sent again
// (refused-stream.ts); everything else is undici's Pool as it is.
import { Readable } from 'node:stream';
import { type Dispatcher, Pool } from 'undici';
import { ReplayRefused } from './refused-stream.ts';
import { asDispatchBody, ReplayableBody } from './replayable-body.ts';

export class UpstreamPool extends Pool {
  /** Bytes of a streamed body kept for a replay; 0 for HTTP/1.1 (nothing wrapped). */
  readonly #replayBytes: number;

  constructor(origin: string, options: Pool.Options, replayBytes: number) {
    super(origin, options);
    this.#replayBytes = replayBytes;
  }

  override dispatch(
    options: Dispatcher.DispatchOptions,
    handler: Dispatcher.DispatchHandler,
  ): boolean {
    const body = options.body;
    if (this.#replayBytes === 0 || !(body instanceof Readable)) {
      return super.dispatch(options, handler);
    }
    const replayable = new ReplayableBody(body, this.#replayBytes);
    const sent = { ...options, body: asDispatchBody(replayable.firstReader()) };
    return super.dispatch(sent, new ReplayRefused(this, sent, handler, replayable));
  }
}
