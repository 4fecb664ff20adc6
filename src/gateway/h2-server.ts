// The HTTP/2 side of a listener: a node:http2 server (plaintext h2c with
// prior knowledge, or TLS negotiated by ALPN) whose compat-API
// request/response pairs go to the same pipeline as HTTP/1.1 ones. The
// pipeline reads a request through the fields both APIs share (method, url,
// headers, rawHeaders, socket) and tells the two apart by httpVersionMajor.
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  createSecureServer,
  createServer,
  type Http2SecureServer,
  type Http2Server,
  type Http2ServerRequest,
  type Http2ServerResponse,
  type SecureServerOptions,
  type ServerOptions,
} from 'node:http2';
import type { RequestHandler } from './listener.ts';

export type AnyHttp2Server = Http2Server | Http2SecureServer;

/** The pipeline takes both APIs' pairs: the compat API mirrors node:http's. */
function hand(handler: RequestHandler, expectsContinue: boolean) {
  return (req: Http2ServerRequest, res: Http2ServerResponse) =>
    handler.request(
      req as unknown as IncomingMessage,
      res as unknown as ServerResponse,
      expectsContinue,
    );
}

function wire<S extends AnyHttp2Server>(server: S, handler: RequestHandler): S {
  server.on('request', hand(handler, false));
  // Expect: 100-continue is answered once the request is admitted (continue.ts), as on HTTP/1.1.
  server.on('checkContinue', hand(handler, true));
  return server;
}

/** An h2c server fed connections by a listener (after sniffing the preface) or listening itself. */
export function plainHttp2Server(options: ServerOptions, handler: RequestHandler): Http2Server {
  return wire(createServer(options), handler);
}

/** A TLS server speaking h2 and, with `allowHTTP1`, HTTP/1.1 to clients that do not offer h2. */
export function secureHttp2Server(
  options: SecureServerOptions,
  handler: RequestHandler,
): Http2SecureServer {
  return wire(createSecureServer(options), handler);
}

/** Whether a request came over HTTP/2 (compat API) rather than HTTP/1.x. */
export function isHttp2(req: IncomingMessage): boolean {
  return req.httpVersionMajor === 2;
}
