// A request with a streamed body, sent to an HTTP/2 backend, that the upstream
// refused before processing it is sent once more on a new session (RFC 9113
// §8.7: "requests that have not been processed … can be retried"; §6.8: streams
// above a GOAWAY's last stream ID were not processed). undici does that itself
// for bodies it can replay (none, or a Buffer) but fails a stream body
// (client-h2.js canReplayRequest); this handler wraps the caller's handler
// (undici's decorator-handler pattern) and does it for those, from the bytes
// ReplayableBody kept. Once, like undici (MAX_GOAWAY_REPLAY_ATTEMPTS = 1; RFC
// 9113 §8.7: a client SHOULD NOT retry the same request more than once).
import type { Duplex } from 'node:stream';
import type { Dispatcher } from 'undici';
import { asDispatchBody, type ReplayableBody } from './replayable-body.ts';

/** node:http2 constants.NGHTTP2_REFUSED_STREAM (RFC 9113 §7). */
const REFUSED_STREAM = 0x7;

/**
 * Whether undici failed the request because the upstream never processed it.
 * undici's errors carry no code for this, so the three refusals are told by
 * what client-h2.js attaches (undici 8.12):
 * - a stream reset with REFUSED_STREAM: `http2ErrorCode` (onError);
 * - a stream above the last stream ID of a GOAWAY: the GOAWAY's own error,
 *   given to those streams only (onHttp2SessionGoAway → getGoAwayError);
 *   streams at or below it go on and fail, if they do, with their own error;
 * - a HEADERS frame nghttp2 would not send (the session was going away):
 *   a frameError of type 1 (onFrameError), so the request never left.
 * test/gateway/h2-upstream.test.ts pins these against real servers.
 */
export function refusedUnprocessed(error: Error): boolean {
  if ((error as { http2ErrorCode?: number }).http2ErrorCode === REFUSED_STREAM) return true;
  const message = error.message;
  return (
    message.startsWith('HTTP/2: "GOAWAY" frame received') ||
    message.startsWith('HTTP/2: "frameError" received - type 1,')
  );
}

/** Where a replay is dispatched: the backend instance's pool, so any of its sessions. */
export interface ReplayTarget {
  dispatch(options: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean;
}

export class ReplayRefused implements Dispatcher.DispatchHandler {
  readonly #target: ReplayTarget;
  readonly #options: Dispatcher.DispatchOptions;
  readonly #handler: Dispatcher.DispatchHandler;
  readonly #body: ReplayableBody;
  #replayed: boolean;

  constructor(
    target: ReplayTarget,
    options: Dispatcher.DispatchOptions,
    handler: Dispatcher.DispatchHandler,
    body: ReplayableBody,
  ) {
    this.#target = target;
    this.#options = options;
    this.#handler = handler;
    this.#body = body;
    this.#replayed = false;
  }

  onRequestStart(controller: Dispatcher.DispatchController, context: unknown): void {
    this.#handler.onRequestStart?.(controller, context);
  }

  onRequestUpgrade(
    controller: Dispatcher.DispatchController,
    statusCode: number,
    headers: Record<string, string | string[] | undefined>,
    socket: Duplex,
  ): void {
    this.#handler.onRequestUpgrade?.(controller, statusCode, headers, socket);
  }

  onResponseStart(
    controller: Dispatcher.DispatchController,
    statusCode: number,
    headers: Record<string, string | string[] | undefined>,
    statusMessage?: string,
  ): void {
    if (statusCode >= 200) this.#body.answerStarted();
    this.#handler.onResponseStart?.(controller, statusCode, headers, statusMessage);
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    this.#handler.onResponseData?.(controller, chunk);
  }

  onResponseEnd(
    controller: Dispatcher.DispatchController,
    trailers: Record<string, string | string[] | undefined>,
  ): void {
    // An answer may end before the body did (the server did not need the rest).
    this.#body.abandon();
    this.#handler.onResponseEnd?.(controller, trailers);
  }

  onResponseError(controller: Dispatcher.DispatchController, error: Error): void {
    if (!this.#replayed && refusedUnprocessed(error)) {
      const reader = this.#body.replay();
      if (reader !== undefined) {
        this.#replayed = true;
        this.#target.dispatch({ ...this.#options, body: asDispatchBody(reader) }, this);
        return;
      }
    }
    this.#body.abandon(error);
    this.#handler.onResponseError?.(controller, error);
  }
}
