// Expect: 100-continue, RFC 9110 §10.1.1. A client that sends it (curl does
// for every upload over 1 MiB) holds its body back until the server answers
// 100 or a final status. Cutover answers the expectation itself and strips
// Expect from the upstream request (headers.ts), as Envoy does by default
// (proxy_100_continue off: "strip the Expect header and send 100 Continue
// itself") and as nginx always does. The 100 goes out only once the request
// is admitted (route found, Content-Length within maxBodyBytes, rate limit
// and concurrency passed, breaker and backend cap passed), so a refused
// upload is refused before its body crosses the network.
import type { ServerResponse } from 'node:http';

/**
 * Called from the server's `checkContinue` event. Until the client is told to
 * send its body, a final answer leaves that body unsent or unread on the
 * connection; RFC 9110 §10.1.1 asks the server to say whether it closes the
 * connection or reads on, and reading would parse a body the client may never
 * send as the next request. So every early answer closes.
 */
export function holdBody(res: ServerResponse): void {
  res.setHeader('connection', 'close');
}

/** The request is admitted: ask the client for its body (no-op once an answer started). */
export function askForBody(res: ServerResponse): void {
  if (res.headersSent) return;
  res.removeHeader('connection');
  res.writeContinue();
}
