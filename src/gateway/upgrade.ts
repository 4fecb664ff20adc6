// Upgrade requests (RFC 9110 §7.8; the WebSocket handshake, RFC 6455 §4).
// An upgrade is an ordinary request until the backend agrees to switch: it is
// admitted, routed, split and logged like any other, its head goes upstream,
// and the connection becomes a tunnel only on a 101 Switching Protocols —
// nginx's rule: a tunnel "if the proxied server returned a response with the
// code 101" (nginx.org/en/docs/http/websocket.html). Any other answer is
// relayed as a plain response, then the client connection is closed.
//
// Until the 101 the client connection still speaks HTTP: a backend that
// refuses the upgrade and keeps parsing (nginx, Go, Tomcat do) would read
// whatever the client sent next as more requests, past every route and guard.
// So bytes the client sends before the 101 are read and dropped, never put in
// the tunnel; the backend's bytes after its 101 head are the tunnel's first.
//
// Upstream through node:http rather than undici: its client emits 'upgrade'
// only for a 101 that names a protocol and 'response' for any other answer,
// which is what relaying a refusal needs; undici's upgrade() turns a non-101
// into a "bad upgrade" error and drops the answer (lib/api/api-upgrade.js).
// One fresh connection per upgrade (agent: false): a switched connection never
// goes back to a pool.
import {
  type ClientRequest,
  request as httpRequest,
  type IncomingMessage,
  type RequestOptions,
} from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { Socket } from 'node:net';
import { UpgradeMismatchError, UpstreamTimeoutError } from '../errors.ts';
import { CLIENT_GONE, classifyOutcome } from '../telemetry/index.ts';
import type { Attempt } from './attempt.ts';
import { AttemptTimeoutError, CLIENT_CLOSED, ClientGoneError } from './attempt-errors.ts';
import { isResendable } from './body.ts';
import { Exchange, type ExchangeHooks } from './exchange.ts';
import type { UpgradeRequest } from './forward-request.ts';
import { clientResponseHeaders } from './headers.ts';
import { openTunnel } from './tunnel.ts';

function onConnectTimeout(exchange: UpgradeExchange): void {
  exchange.timedOut('connect');
}

function onHeadersTimeout(exchange: UpgradeExchange): void {
  exchange.timedOut('headers');
}

/** Where one upgrade stands; events of an earlier state are ignored. */
type Phase = 'waiting' | 'relaying' | 'done';

/**
 * One upgrade request: the exchange pipeline of any request (breakers, the
 * backend's concurrency cap held during the handshake, fallback to legacy)
 * over node:http, one attempt per side (no retries), then a tunnel or a
 * relayed answer, and one access line.
 */
export class UpgradeExchange extends Exchange {
  readonly #client: Socket;
  /** The protocol asked for, lower-cased. */
  readonly #protocol: string;
  readonly #onClientGone: () => void;
  #upstream: ClientRequest | undefined;
  #answer: IncomingMessage | undefined;
  #phase: Phase;

  constructor(request: UpgradeRequest, hooks: ExchangeHooks) {
    super(request, hooks);
    this.#client = request.req.socket;
    this.#protocol = request.protocol;
    this.#onClientGone = () => this.#clientClosed();
    this.#upstream = undefined;
    this.#answer = undefined;
    this.#phase = 'waiting';
    // A client that closes or half-closes before the answer has given up
    // (nginx: "client prematurely closed connection", 499).
    this.#client.once('end', this.#onClientGone);
    this.#client.once('close', this.#onClientGone);
  }

  protected override send(attempt: Attempt): void {
    const { req, headers, hostAt, target } = this.request;
    const instance = attempt.instance;
    if (hostAt !== -1) headers[hostAt] = instance.host;
    attempt.sent();
    this.attempts++;
    this.status = 0;
    const url = new URL(instance.origin);
    const tls = url.protocol === 'https:';
    const hostname = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
    const options: RequestOptions & { servername?: string } = {
      host: hostname,
      port: Number(url.port || (tls ? 443 : 80)),
      method: req.method,
      path: instance.basePath + target,
      // Hop-by-hop fields were dropped with the rest; these two are this hop's own.
      headers: [...headers, 'connection', 'upgrade', 'upgrade', req.headers.upgrade!],
      agent: false,
      setHost: false,
    };
    if (tls) options.servername = hostname;
    const upstream = (tls ? httpsRequest : httpRequest)(options);
    this.#upstream = upstream;
    attempt.arm(onConnectTimeout, attempt.backend.config.connectTimeout, this);
    upstream.once('socket', (socket: Socket) => {
      if (!socket.connecting) this.#connected(upstream);
      else socket.once(tls ? 'secureConnect' : 'connect', () => this.#connected(upstream));
    });
    upstream.once('upgrade', (res: IncomingMessage, socket: Socket, head: Buffer) =>
      this.#switched(upstream, res, socket, head),
    );
    upstream.once('response', (res: IncomingMessage) => this.#answered(upstream, res));
    upstream.on('error', (error: Error) => this.#failed(upstream, error));
    upstream.end();
  }

  #connected(upstream: ClientRequest): void {
    if (upstream !== this.#upstream || this.#phase !== 'waiting') return;
    this.attempt!.arm(onHeadersTimeout, this.request.route.config.timeout, this);
  }

  /** Connect or answer-head time ran out. */
  timedOut(phase: 'connect' | 'headers'): void {
    this.#upstream?.destroy(new AttemptTimeoutError(phase));
  }

  /** The backend agreed: open the tunnel, after the backend's own 101 head. */
  #switched(upstream: ClientRequest, res: IncomingMessage, socket: Socket, head: Buffer): void {
    if (upstream !== this.#upstream || this.#phase !== 'waiting') {
      socket.destroy();
      return;
    }
    this.attempt!.disarm();
    if (this.clientGone) {
      socket.destroy();
      this.#gone();
      return;
    }
    const got = (res.headers.upgrade ?? '').trim().toLowerCase();
    if (got !== this.#protocol) {
      // RFC 9110 §7.8: a server switches only to a protocol the client listed.
      socket.destroy();
      this.#mismatch(got);
      return;
    }
    this.status = 101;
    this.attemptOver(classifyOutcome(101, undefined, res.headers, undefined));
    this.#client.off('end', this.#onClientGone);
    this.#client.off('close', this.#onClientGone);
    const fields: Record<string, string> = {};
    this.markAnswer(fields);
    const route = this.request.route;
    openTunnel(this.request.res, res, socket, head, fields, {
      route,
      requestId: this.request.requestId,
      logFragment: this.side === 'candidate' ? route.candidateLogFragment : route.legacyLogFragment,
      hooks: this.hooks,
    });
    this.finish(undefined);
  }

  /** A 101 for another protocol, or for none: not tunnelled. */
  #mismatch(got: string): void {
    this.status = 502;
    const outcome = classifyOutcome(502, 'protocol', undefined, undefined);
    this.attemptOver(outcome);
    if (this.recover(outcome)) return;
    this.fail(
      new UpgradeMismatchError(this.request.route.name, this.backend.name, this.#protocol, got),
    );
  }

  /** The backend answered without switching: relay the answer, then close. */
  #answered(upstream: ClientRequest, res: IncomingMessage): void {
    if (upstream !== this.#upstream || this.#phase !== 'waiting') {
      res.destroy();
      return;
    }
    this.attempt!.disarm();
    if (this.clientGone) {
      upstream.destroy();
      this.#gone();
      return;
    }
    const status = res.statusCode ?? 0;
    if (status === 101) {
      // A 101 without an Upgrade field reaches 'response': it switches to nothing.
      upstream.destroy();
      this.#mismatch('');
      return;
    }
    this.status = status;
    const outcome = classifyOutcome(status, undefined, res.headers, undefined);
    if (outcome.kind === 'failure') {
      const next = this.decide(outcome);
      if (next !== 'give-up') {
        upstream.destroy();
        this.attemptOver(outcome);
        this.act(next, outcome.cause!);
        return;
      }
    }
    this.#relay(res, status);
  }

  #relay(res: IncomingMessage, status: number): void {
    this.#phase = 'relaying';
    this.#answer = res;
    const out = clientResponseHeaders(res.headers);
    this.markAnswer(out);
    const client = this.request.res;
    client.writeHead(status, out);
    // The longest pause between two body chunks, as for any answer (idleTimeout).
    const route = this.request.route;
    res.socket.setTimeout(route.config.idleTimeout, () =>
      res.destroy(new UpstreamTimeoutError(route.name, this.backend.name, 'idle response body')),
    );
    res.on('data', (chunk: Buffer) => {
      this.bytesOut += chunk.length;
      if (!client.write(chunk)) {
        res.pause();
        client.once('drain', () => res.resume());
      }
    });
    res.once('end', () => {
      if (this.#phase !== 'relaying') return;
      client.end();
      this.attemptOver(classifyOutcome(status, undefined, res.headers, res.trailers));
      this.finish(undefined);
    });
    // With a listener, a broken body is reported here rather than thrown; 'close' handles it.
    res.on('error', () => {});
    res.once('close', () => {
      if (this.#phase === 'relaying') {
        this.#bodyBroke(res.errored ?? new Error('backend closed the connection mid-answer'));
      }
    });
  }

  /** The answer broke off after its head went out: the only honest signal left is a cut connection. */
  #bodyBroke(error: Error): void {
    this.request.res.destroy(error);
    this.attemptOver(classifyOutcome(this.status, 'reset', undefined, undefined));
    this.finish(error);
  }

  #failed(upstream: ClientRequest, error: Error): void {
    if (upstream !== this.#upstream || this.#phase === 'done') return;
    this.attempt!.disarm();
    if (this.clientGone || error instanceof ClientGoneError) {
      // A cancel says nothing about the backend: no breaker or outlier record.
      this.#gone();
      return;
    }
    if (this.#phase === 'relaying') {
      this.#bodyBroke(error);
      return;
    }
    this.attemptBroke(error);
  }

  /** The client left: the attempt ends saying nothing of the backend. */
  #gone(): void {
    this.status = CLIENT_CLOSED;
    this.attemptOver(CLIENT_GONE);
    this.finish(undefined);
  }

  /** The client connection ended before the tunnel opened. */
  #clientClosed(): void {
    if (this.clientGone || this.#phase === 'done') return;
    this.clientGone = true;
    if (this.#phase === 'relaying') {
      this.#answer?.destroy();
      this.#upstream?.destroy();
      this.#gone();
      return;
    }
    // Waiting: the request's 'error' handler finishes the exchange.
    this.#upstream?.destroy(new ClientGoneError());
  }

  /** A handshake has no body: safe to resend when its method is. */
  protected override resendable(): boolean {
    return isResendable(this.request.route, this.request.req);
  }

  protected override closed(): void {
    this.#phase = 'done';
    this.attempt?.disarm();
    this.#client.off('end', this.#onClientGone);
    this.#client.off('close', this.#onClientGone);
  }
}
