// The undici Client behind each connection of a backend's Pool, made safe
// against refused requests, and retired after a number of HTTP/2 streams.
//
// Refused requests: undici's Pool marks a Client full whenever its dispatch()
// returns false and frees it on that Client's next 'drain' (undici
// lib/dispatcher/pool-base.js, kDispatch and kOnDrain). A request the Client
// refuses before queueing it also returns false (lib/dispatcher/dispatcher-base.js
// catches the throw of `new Request`, for example NotSupportedError for an
// Expect header, lib/core/request.js) — but nothing was queued, so no 'drain'
// ever comes: the connection slot stays marked busy for ever. Once every slot
// is, each request to the backend waits in the Pool's queue until restart, and
// so does a graceful shutdown. A refused request leaves the Client as it was,
// free (the Pool picks only free ones), so this Client says so.
//
// Filling a new session: until the server's SETTINGS frame arrives, undici's
// h2 client takes one stream and reports itself busy (client-h2.js busy():
// kRemoteSettings false and a request running), so the Pool opens another
// connection for the next request — a burst of N calls at start opened N
// sessions (seen in test/gateway/h2-upstream.test.ts: 20 calls, 20 sessions).
// An HTTP/2 UpstreamClient holding fewer than maxConcurrentStreams requests
// says it can take more: they wait in it for the SETTINGS and go out as
// streams on the one session, and a new session is opened only when one is
// full — what `connections` documents. (undici also says busy while a PING
// checks a silent session; requests held meanwhile go out on it, or on the
// Client's next session when the check fails.)
//
// Retiring: undici's maxRequestsPerClient applies to HTTP/1.1 only (read in
// client-h1.js alone), and its Pool replaces a Client only by age: with
// `clientTtl` set, it stamps `client.ttl` on 'connect' and, when picking a
// Client for a request, retires one whose stamp is older than clientTtl —
// closes it after its requests end and opens another (pool.js kGetDispatcher,
// pool-base.js kRetireClient). A Client that has carried maxStreamsPerSession
// streams on its session reports the oldest possible stamp, so the Pool retires it the
// same way; the backend's pool is built with a clientTtl no real age reaches
// (backends.ts). Why retire at all: see DEFAULTS.maxStreamsPerSession.
import { Client, type Dispatcher } from 'undici';

/** What an HTTP/2 connection of a backend may carry; zeros for HTTP/1.1. */
export interface SessionLimits {
  /** Requests one session carries at once (the backend's maxConcurrentStreams). */
  readonly concurrentStreams: number;
  /** Streams a session carries before the Client is retired; 0: never. */
  readonly streamsPerSession: number;
}

export class UpstreamClient extends Client {
  readonly #limits: SessionLimits;
  #streams: number;
  /** The Pool's connect stamp (its `ttl`), kept for when the Client is not retiring. */
  #connectedAt: number;

  constructor(origin: URL | string, options: Client.Options, limits: SessionLimits) {
    super(origin, options);
    this.#limits = limits;
    this.#streams = 0;
    this.#connectedAt = 0;
    // A new session starts its own count (the old one went away: GOAWAY, idle, error).
    if (limits.streamsPerSession > 0) this.on('disconnect', this.#sessionGone);
  }

  override dispatch(
    options: Dispatcher.DispatchOptions,
    handler: Dispatcher.DispatchHandler,
  ): boolean {
    this.#streams++;
    if (super.dispatch(options, handler)) return true;
    if (this.closed || this.destroyed) return false;
    // false also means "full now, 'drain' follows": then the Client holds a request.
    const held = this.stats.size;
    return held === 0 || held < this.#limits.concurrentStreams;
  }

  /** Read by undici's Pool: the time this Client connected, or -Infinity once it is to be retired. */
  get ttl(): number {
    const most = this.#limits.streamsPerSession;
    return most > 0 && this.#streams >= most ? Number.NEGATIVE_INFINITY : this.#connectedAt;
  }

  set ttl(stamp: number) {
    this.#connectedAt = stamp;
  }

  readonly #sessionGone = (): void => {
    this.#streams = 0;
  };
}

/** Pool `factory` for one backend instance: one UpstreamClient per connection. */
export function upstreamClientFactory(
  limits: SessionLimits,
): (origin: URL | string, options: object) => Dispatcher {
  return (origin, options) => new UpstreamClient(origin, options as Client.Options, limits);
}
