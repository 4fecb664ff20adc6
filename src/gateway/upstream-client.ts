// The undici Client behind each connection of a backend's Pool, made safe
// against refused requests.
//
// undici's Pool marks a Client full whenever its dispatch() returns false and
// frees it on that Client's next 'drain' (undici lib/dispatcher/pool-base.js,
// kDispatch and kOnDrain). A request the Client refuses before queueing it
// also returns false (lib/dispatcher/dispatcher-base.js catches the throw of
// `new Request`, for example NotSupportedError for an Expect header,
// lib/core/request.js) — but nothing was queued, so no 'drain' ever comes:
// the connection slot stays marked busy for ever. Once every slot is, each
// request to the backend waits in the Pool's queue until restart, and so
// does a graceful shutdown. A refused request leaves the Client as it was,
// free (the Pool picks only free ones), so this Client says so.
import { Client, type Dispatcher } from 'undici';

export class UpstreamClient extends Client {
  override dispatch(
    options: Dispatcher.DispatchOptions,
    handler: Dispatcher.DispatchHandler,
  ): boolean {
    if (super.dispatch(options, handler)) return true;
    // false also means "full now, 'drain' follows": then the Client holds a request.
    return this.stats.size === 0 && !this.closed && !this.destroyed;
  }
}

/** Pool `factory` option: one UpstreamClient per connection. */
export function upstreamClient(origin: URL | string, options: object): Dispatcher {
  return new UpstreamClient(origin, options as Client.Options);
}
