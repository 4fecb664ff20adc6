// Real upstream servers for tests, on 127.0.0.1 port 0, that can be told to
// misbehave: answer late, hang, reset, cut the body short, stream big bodies.
// The behaviour is set for the whole server (`setBehavior`) or for one request
// with the `x-test-behavior` header, so one server can do several things in a
// single test.
import { once } from 'node:events';
import {
  createServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { WebSocketServer } from 'ws';

/**
 * - `ok`: 200 JSON `{ upstream, method, path, headers, bodyBytes }` once the request body is read
 * - `status:N`: status N with a JSON body (no body for 204 and 304)
 * - `hang`: read the body, never answer (until `close()`)
 * - `slow:MS`: answer like `ok` after MS ms
 * - `slowBody:MS`: headers and a first chunk at once, the rest after MS ms
 * - `reset`: destroy the socket without answering
 * - `echo`: stream the request body back as it arrives (same content-type and content-length)
 * - `big:BYTES`: a body of BYTES bytes in 64 KiB chunks, respecting backpressure; byte i is `i & 0xff`
 * - `close-early`: headers and part of the body, then the socket is destroyed
 */
export type Behavior =
  | 'ok'
  | 'hang'
  | 'reset'
  | 'echo'
  | 'close-early'
  | `status:${number}`
  | `slow:${number}`
  | `slowBody:${number}`
  | `big:${number}`;

/** Request header that picks the behaviour for that request only. */
export const BEHAVIOR_HEADER = 'x-test-behavior';

/** Chunk size of `big:BYTES` bodies. */
export const BIG_CHUNK_BYTES = 64 * 1024;

/** `close-early` announces this content-length and sends only half of it. */
export const CLOSE_EARLY_BYTES = 2048;

export interface RecordedRequest {
  method: string;
  /** The request target as received (path and query). */
  url: string;
  headers: IncomingHttpHeaders;
  /** Request body bytes received so far; final once `closed` has resolved. */
  bodyBytes: number;
  /** The behaviour this request got. */
  behavior: Behavior;
  /** True when the client went away before the response was finished. */
  aborted: boolean;
  /** Most response bytes ever waiting in the server's buffer (`big` only): stays near one chunk when backpressure is respected. */
  peakBuffered: number;
  /** Resolves when the exchange is over: response finished, client gone, or server closed. */
  closed: Promise<void>;
}

export interface UpstreamOptions {
  /** Reported as `upstream` in `ok` bodies; defaults to `upstream`. */
  name?: string;
  /** Initial behaviour; defaults to `ok`. */
  behavior?: Behavior;
}

export interface Upstream {
  /** `http://127.0.0.1:PORT` */
  readonly url: string;
  readonly port: number;
  readonly name: string;
  /** Every request received, in arrival order. */
  readonly requests: RecordedRequest[];
  /** Requests whose client went away before the response was finished. */
  readonly aborted: number;
  /** TCP connections accepted so far (to see keep-alive reuse). */
  readonly connections: number;
  setBehavior(behavior: Behavior): void;
  /** Each recorded request once, oldest first; waits when none is pending. */
  nextRequest(): Promise<RecordedRequest>;
  close(): Promise<void>;
}

const NUMERIC = /^(status|slow|slowBody|big):(\d+)$/;

/** The behaviour named by `text`, or undefined when it names none. */
export function parseBehavior(text: string): Behavior | undefined {
  if (
    text === 'ok' ||
    text === 'hang' ||
    text === 'reset' ||
    text === 'echo' ||
    text === 'close-early'
  ) {
    return text;
  }
  const m = NUMERIC.exec(text);
  if (!m) return undefined;
  if (m[1] === 'status') {
    const status = Number(m[2]);
    return status >= 200 && status <= 599 ? (text as Behavior) : undefined;
  }
  return text as Behavior;
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  if (status === 204 || status === 304) {
    res.writeHead(status).end();
    return;
  }
  const text = JSON.stringify(body);
  res
    .writeHead(status, {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(text),
    })
    .end(text);
}

/** A 64 KiB block where byte i is `i & 0xff`; every `big` chunk is a prefix of it. */
const BIG_BLOCK = Buffer.from(Array.from({ length: BIG_CHUNK_BYTES }, (_, i) => i & 0xff));

function streamBig(res: ServerResponse, total: number, rec: RecordedRequest): void {
  res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': total });
  let sent = 0;
  const pump = (): void => {
    while (sent < total && !res.destroyed) {
      const n = Math.min(BIG_CHUNK_BYTES, total - sent);
      sent += n;
      const more = res.write(n === BIG_CHUNK_BYTES ? BIG_BLOCK : BIG_BLOCK.subarray(0, n));
      rec.peakBuffered = Math.max(rec.peakBuffered, res.writableLength);
      if (!more) {
        res.once('drain', pump);
        return;
      }
    }
    if (sent >= total && !res.destroyed) res.end();
  };
  pump();
}

export async function startUpstream(options: UpstreamOptions = {}): Promise<Upstream> {
  const name = options.name ?? 'upstream';
  let behavior: Behavior = options.behavior ?? 'ok';
  let closing = false;
  let abortedCount = 0;
  let connectionCount = 0;
  const requests: RecordedRequest[] = [];
  const pending: RecordedRequest[] = [];
  const waiters: ((r: RecordedRequest) => void)[] = [];
  const sockets = new Set<Socket>();

  function record(req: IncomingMessage, res: ServerResponse, applied: Behavior): RecordedRequest {
    let resolveClosed!: () => void;
    const rec: RecordedRequest = {
      method: req.method ?? '',
      url: req.url ?? '',
      headers: req.headers,
      bodyBytes: 0,
      behavior: applied,
      aborted: false,
      peakBuffered: 0,
      closed: new Promise<void>((resolve) => {
        resolveClosed = resolve;
      }),
    };
    req.on('data', (chunk: Buffer) => {
      rec.bodyBytes += chunk.length;
    });
    res.once('close', () => {
      // Our own resets and close() are not the client going away.
      if (!res.writableFinished && !closing && applied !== 'reset' && applied !== 'close-early') {
        rec.aborted = true;
        abortedCount++;
      }
      resolveClosed();
    });
    requests.push(rec);
    const waiter = waiters.shift();
    if (waiter) waiter(rec);
    else pending.push(rec);
    return rec;
  }

  function okBody(req: IncomingMessage, rec: RecordedRequest): unknown {
    return {
      upstream: name,
      method: req.method,
      path: req.url,
      headers: req.headers,
      bodyBytes: rec.bodyBytes,
    };
  }

  /** Runs `fn` after `ms`, unless the response closes first. */
  function later(res: ServerResponse, ms: number, fn: () => void): void {
    const timer = setTimeout(fn, ms);
    res.once('close', () => clearTimeout(timer));
  }

  function afterBody(req: IncomingMessage, fn: () => void): void {
    if (req.complete) fn();
    else req.once('end', fn);
  }

  function handle(req: IncomingMessage, res: ServerResponse): void {
    const header = req.headers[BEHAVIOR_HEADER];
    const asked = typeof header === 'string' ? parseBehavior(header) : behavior;
    if (asked === undefined) {
      req.resume();
      sendJson(res, 400, {
        upstream: name,
        error: `unknown ${BEHAVIOR_HEADER}: ${String(header)}`,
      });
      return;
    }
    const rec = record(req, res, asked);
    const [kind, arg] = asked.split(':') as [string, string | undefined];
    const n = Number(arg);
    switch (kind) {
      case 'ok':
        req.resume();
        afterBody(req, () => sendJson(res, 200, okBody(req, rec)));
        return;
      case 'status':
        req.resume();
        afterBody(req, () => sendJson(res, n, { upstream: name, status: n }));
        return;
      case 'slow':
        req.resume();
        afterBody(req, () => later(res, n, () => sendJson(res, 200, okBody(req, rec))));
        return;
      case 'hang':
        req.resume();
        return;
      case 'reset':
        req.socket.destroy();
        return;
      case 'slowBody':
        req.resume();
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.write(`${name}:first\n`);
        later(res, n, () => res.end(`${name}:rest\n`));
        return;
      case 'echo': {
        const headers: Record<string, string> = {
          'content-type': req.headers['content-type'] ?? 'application/octet-stream',
        };
        const length = req.headers['content-length'];
        if (length !== undefined) headers['content-length'] = length;
        res.writeHead(200, headers);
        res.flushHeaders();
        req.pipe(res);
        return;
      }
      case 'big':
        req.resume();
        streamBig(res, n, rec);
        return;
      case 'close-early':
        req.resume();
        res.writeHead(200, {
          'content-type': 'application/octet-stream',
          'content-length': CLOSE_EARLY_BYTES,
        });
        res.write(BIG_BLOCK.subarray(0, CLOSE_EARLY_BYTES / 2), () => req.socket.destroy());
        return;
    }
  }

  const server: Server = createServer(handle);
  server.on('connection', (socket: Socket) => {
    connectionCount++;
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    port,
    name,
    requests,
    get aborted() {
      return abortedCount;
    },
    get connections() {
      return connectionCount;
    },
    setBehavior(next: Behavior): void {
      if (parseBehavior(next) === undefined) throw new TypeError(`unknown behavior ${next}`);
      behavior = next;
    },
    nextRequest(): Promise<RecordedRequest> {
      const rec = pending.shift();
      if (rec) return Promise.resolve(rec);
      return new Promise((resolve) => waiters.push(resolve));
    },
    async close(): Promise<void> {
      if (closing) return;
      closing = true;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      for (const socket of sockets) socket.destroy();
      await closed;
    },
  };
}

export interface WebSocketEcho {
  /** `http://127.0.0.1:PORT`; connect with `ws://` on the same port. */
  readonly url: string;
  readonly port: number;
  /** The upgrade requests received, in order. */
  readonly upgrades: { url: string; headers: IncomingHttpHeaders }[];
  close(): Promise<void>;
}

/** A WebSocket server that answers every message with `NAME:` + the message. */
export async function startWebSocketEcho(name: string): Promise<WebSocketEcho> {
  const upgrades: { url: string; headers: IncomingHttpHeaders }[] = [];
  const server = createServer((_req, res) => {
    res
      .writeHead(426, { 'content-type': 'text/plain', upgrade: 'websocket' })
      .end('upgrade required');
  });
  const wss = new WebSocketServer({ server });
  wss.on('connection', (ws, req) => {
    upgrades.push({ url: req.url ?? '', headers: req.headers });
    ws.on('message', (data, isBinary) => {
      const payload = Array.isArray(data)
        ? Buffer.concat(data)
        : Buffer.isBuffer(data)
          ? data
          : Buffer.from(data);
      ws.send(Buffer.concat([Buffer.from(`${name}:`), payload]), { binary: isBinary });
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    upgrades,
    async close(): Promise<void> {
      for (const client of wss.clients) client.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
    },
  };
}
