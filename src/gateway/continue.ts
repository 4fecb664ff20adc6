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
 * The request is admitted: ask the client for its body (no-op once an answer
 * started). Until then an answer leaves the body unsent or unread on the
 * connection, so Node closes the connection after any final answer sent
 * without a 100 (lib/_http_server.js writeHead: "they may put extra bytes on
 * the wire"), as RFC 9110 §10.1.1 allows.
 */
export function askForBody(res: ServerResponse): void {
  if (!res.headersSent) res.writeContinue();
}
