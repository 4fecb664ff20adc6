// Interim (1xx) answers from the upstream, RFC 9110 §15.2: a client "MUST be
// able to parse one or more 1xx responses received prior to a final
// response, even if the client does not expect one", and a proxy forwards
// them unless it asked for them itself. Cutover asked for none: it answers
// Expect: 100-continue on its own (continue.ts) and never forwards Expect. So
// it forwards only 103 Early Hints (RFC 8297), whose Link fields let a browser
// preload while the final answer is made, and swallows the rest (102
// Processing, a stray 100; Apache's mod_proxy_http2 likewise forwards a 100
// only to a client that expects one). The final answer is proxied as usual.
// A 100 never reaches this code: undici refuses it at the parser
// (lib/dispatcher/client-h1.js onHeadersComplete); interim-filter.ts removes
// it from the upstream's bytes first.
import type { IncomingHttpHeaders, ServerResponse } from 'node:http';

const EARLY_HINTS = 103;

/** Pass a 1xx answer on to the client when it is Early Hints and the client can take it. */
export function forwardInformational(
  res: ServerResponse,
  statusCode: number,
  headers: IncomingHttpHeaders,
): void {
  if (statusCode !== EARLY_HINTS || res.headersSent) return;
  const link = headers.link;
  if (link === undefined) return;
  // RFC 9110 §15.2: a server MUST NOT send a 1xx response to an HTTP/1.0 client.
  const req = res.req;
  if (req.httpVersionMajor !== 1 || req.httpVersionMinor < 1) return;
  try {
    res.writeEarlyHints({ link });
  } catch {
    // Node validates the Link syntax (RFC 8288) and throws on a malformed one:
    // a hint is optional, the final answer is not.
  }
}
