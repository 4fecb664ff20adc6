// `server.http2` as options of node:http2's createServer / createSecureServer,
// and the idle-session close Node does not do the way a proxy needs it.
//
// What guards what (measured against node:http2 24.x, nghttp2 1.70; see
// docs/decisions.md, issue 12):
// - rapid reset (CVE-2023-44487): nghttp2's stream reset rate limit
//   (streamResetBurst / streamResetRate) ends the session with GOAWAY;
// - CONTINUATION flood (CVE-2024-27316 class): nghttp2 accepts at most 8
//   CONTINUATION frames after a HEADERS frame and ends the session past it, and
//   the header list limit (SETTINGS_MAX_HEADER_LIST_SIZE) resets a stream whose
//   fields add up to more with ENHANCE_YOUR_CALM;
// - too many streams: a client that opens more than maxConcurrentStreams after
//   acknowledging our SETTINGS gets GOAWAY PROTOCOL_ERROR;
// - invalid frames and streams refused for lack of memory end the session
//   past Node's thresholds, set here explicitly so a change of Node's defaults
//   does not change ours unnoticed.
import type { ServerHttp2Session, ServerHttp2Stream, ServerOptions } from 'node:http2';
import type { Http2Limits } from '../config/index.ts';

/** Node's default (since v12.14): invalid frames a session may send before it is closed. */
const MAX_INVALID_FRAMES = 1000;
/** Node's default: streams refused with ENHANCE_YOUR_CALM (memory, header limits) before the session is closed. */
const MAX_REJECTED_STREAMS = 100;

/** The session options `server.http2` sets, for createServer and createSecureServer alike. */
export function http2ServerOptions(limits: Http2Limits): ServerOptions {
  return {
    settings: {
      maxConcurrentStreams: limits.maxConcurrentStreams,
      maxHeaderListSize: limits.maxHeaderListBytes,
    },
    maxSessionMemory: limits.maxSessionMemoryMB,
    streamResetBurst: limits.streamResetBurst,
    streamResetRate: limits.streamResetRate,
    maxSessionInvalidFrames: MAX_INVALID_FRAMES,
    maxSessionRejectedStreams: MAX_REJECTED_STREAMS,
  };
}

/**
 * Closes a session that had neither a frame nor an open stream for
 * `idleTimeout` ms (0: never). Node's server-wide timeout (server.setTimeout)
 * destroys a timed-out session with its streams unless someone listens, and
 * applies to HTTP/1.1 sockets of a TLS listener too; a per-session timer with
 * our own callback does neither. A session with streams open is left alone
 * (route timeouts bound those); one without is closed gracefully (GOAWAY
 * NO_ERROR, RFC 9113 §6.8), which clients take as "reconnect when needed".
 * Call from the server's 'session' event.
 */
export function closeWhenIdle(session: ServerHttp2Session, idleTimeout: number): void {
  if (idleTimeout === 0) return;
  let open = 0;
  session.on('stream', (stream: ServerHttp2Stream) => {
    open++;
    stream.once('close', () => open--);
  });
  session.setTimeout(idleTimeout, () => {
    if (open === 0 && !session.closed && !session.destroyed) session.close();
  });
}
