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
  type ServerResponse,
} from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { Socket } from 'node:net';
import type { FallbackReason } from '../config/index.ts';
import {
  BreakerOpenError,
  type CutoverError,
  OverloadedError,
  UpgradeMismatchError,
  UpstreamTimeoutError,
} from '../errors.ts';
import type { CircuitBreaker, ConcurrencyLimiter } from '../guard/index.ts';
import { problemFromError, sendProblem } from '../problem.ts';
import type { RouteSideMetrics } from '../telemetry/index.ts';
import {
  AttemptTimeoutError,
  CLIENT_CLOSED,
  ClientGoneError,
  classifyAttemptError,
} from './attempt-errors.ts';
import type { Backend, BackendInstance } from './backends.ts';
import { isResendable } from './body.ts';
import { clientResponseHeaders } from './headers.ts';
import type { ExchangeHooks } from './proxy.ts';
import type { Side } from './split.ts';
import type { CompiledRoute } from './table.ts';
import { openTunnel } from './tunnel.ts';

function onHandshakeTimeout(exchange: UpgradeExchange, phase: 'connect' | 'headers'): void {
  exchange.timedOut(phase);
}

/** Where one upgrade stands; events of an earlier state are ignored. */
type Phase = 'waiting' | 'relaying' | 'done';

/**
 * One upgrade request: the same guards as ProxyExchange (breakers, backend
 * concurrency cap held during the handshake, fallback to legacy), one
 * attempt per side, then a tunnel or a relayed answer, and one access line.
 */
export class UpgradeExchange {
  readonly #req: IncomingMessage;
  readonly #res: ServerResponse;
  readonly #client: Socket;
  readonly #route: CompiledRoute;
  readonly #hooks: ExchangeHooks;
  readonly #requestId: string;
  readonly #headers: string[];
  /** Index in #headers of the Host value, rewritten per instance; -1 with preserveHost. */
  readonly #hostAt: number;
  /** The protocol asked for, lower-cased. */
  readonly #protocol: string;
  readonly #start: number;
  readonly #onClientGone: () => void;
  #side: Side;
  #backend: Backend;
  #instance: BackendInstance | undefined;
  #metrics: RouteSideMetrics;
  #breaker: CircuitBreaker | undefined;
  #cap: ConcurrencyLimiter | undefined;
  #upstream: ClientRequest | undefined;
  #answer: IncomingMessage | undefined;
  #timer: NodeJS.Timeout | undefined;
  #attemptOpen: boolean;
  #attemptStart: number;
  #attempts: number;
  #fallback: string | undefined;
  #status: number;
  #bytesOut: number;
  #clientGone: boolean;
  #phase: Phase;

  constructor(
    req: IncomingMessage,
    res: ServerResponse,
    route: CompiledRoute,
    side: Side,
    requestId: string,
    hooks: ExchangeHooks,
    headers: string[],
    hostAt: number,
    protocol: string,
  ) {
    this.#req = req;
    this.#res = res;
    this.#client = req.socket;
    this.#route = route;
    this.#hooks = hooks;
    this.#requestId = requestId;
    this.#headers = headers;
    this.#hostAt = hostAt;
    this.#protocol = protocol;
    this.#start = performance.now();
    this.#onClientGone = () => this.#clientClosed();
    this.#side = side;
    this.#backend = side === 'candidate' ? route.candidate! : route.legacy;
    this.#instance = undefined;
    this.#metrics = side === 'candidate' ? route.candidateMetrics! : route.legacyMetrics;
    this.#breaker = undefined;
    this.#cap = undefined;
    this.#upstream = undefined;
    this.#answer = undefined;
    this.#timer = undefined;
    this.#attemptOpen = false;
    this.#attemptStart = 0;
    this.#attempts = 0;
    this.#fallback = undefined;
    this.#status = 0;
    this.#bytesOut = 0;
    this.#clientGone = false;
    this.#phase = 'waiting';
    // A client that closes or half-closes before the answer has given up
    // (nginx: "client prematurely closed connection", 499).
    this.#client.once('end', this.#onClientGone);
    this.#client.once('close', this.#onClientGone);
  }

  /** Send the attempt to the side the split chose (legacy when the candidate's breaker is open). */
  start(): void {
    const breaker = this.#side === 'candidate' ? this.#route.candidateBreaker : undefined;
    if (breaker && !breaker.tryAcquire()) {
      if (!this.#route.config.fallback) {
        this.#fail(new BreakerOpenError(this.#route.name, this.#backend.name));
        return;
      }
      // Nothing reached the candidate, so the handshake may go to legacy.
      this.#switchToLegacy('breaker-open');
    }
    this.#dispatch();
  }

  #switchToLegacy(reason: string): void {
    this.#fallback = reason;
    this.#side = 'legacy';
    this.#backend = this.#route.legacy;
    this.#metrics = this.#route.legacyMetrics;
    this.#route.guards.fallback(reason);
  }

  #dispatch(): void {
    if (this.#clientGone) {
      this.#status = CLIENT_CLOSED;
      this.#finish(undefined);
      return;
    }
    const breaker =
      this.#side === 'candidate' ? this.#route.candidateBreaker : this.#route.legacyBreaker;
    if (breaker && !(this.#attempts === 0 && this.#side === 'candidate') && !breaker.tryAcquire()) {
      this.#fail(new BreakerOpenError(this.#route.name, this.#backend.name));
      return;
    }
    const cap = this.#backend.concurrency;
    if (cap && !cap.tryAcquire()) {
      this.#route.guards.shed();
      if (this.#side === 'candidate' && this.#route.config.fallback) {
        this.#switchToLegacy('shed');
        this.#dispatch();
      } else this.#fail(new OverloadedError(this.#route.name, cap.limit));
      return;
    }
    this.#cap = cap;
    this.#breaker = breaker;
    const instance = this.#backend.pick();
    this.#instance = instance;
    if (this.#hostAt !== -1) this.#headers[this.#hostAt] = instance.host;
    this.#attempts++;
    this.#attemptOpen = true;
    this.#attemptStart = performance.now();
    this.#status = 0;
    const url = new URL(instance.origin);
    const tls = url.protocol === 'https:';
    const hostname = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
    const options: RequestOptions & { servername?: string } = {
      host: hostname,
      port: Number(url.port || (tls ? 443 : 80)),
      method: this.#req.method,
      path: instance.basePath + this.#req.url,
      // Hop-by-hop fields were dropped with the rest; these two are this hop's own.
      headers: [...this.#headers, 'connection', 'upgrade', 'upgrade', this.#req.headers.upgrade!],
      agent: false,
      setHost: false,
    };
    if (tls) options.servername = hostname;
    const upstream = (tls ? httpsRequest : httpRequest)(options);
    this.#upstream = upstream;
    this.#arm('connect', this.#backend.config.connectTimeout);
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

  #arm(phase: 'connect' | 'headers', ms: number): void {
    this.#disarm();
    this.#timer = setTimeout(onHandshakeTimeout, ms, this, phase);
  }

  #disarm(): void {
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
  }

  #connected(upstream: ClientRequest): void {
    if (upstream !== this.#upstream || this.#phase !== 'waiting') return;
    this.#arm('headers', this.#route.config.timeout);
  }

  /** Connect or answer-head time ran out. */
  timedOut(phase: 'connect' | 'headers'): void {
    this.#timer = undefined;
    this.#upstream?.destroy(new AttemptTimeoutError(phase));
  }

  /** The backend agreed: open the tunnel, after the backend's own 101 head. */
  #switched(upstream: ClientRequest, res: IncomingMessage, socket: Socket, head: Buffer): void {
    if (upstream !== this.#upstream || this.#phase !== 'waiting') {
      socket.destroy();
      return;
    }
    this.#disarm();
    if (this.#clientGone) {
      socket.destroy();
      this.#status = CLIENT_CLOSED;
      this.#attemptOver(undefined);
      this.#finish(undefined);
      return;
    }
    const got = (res.headers.upgrade ?? '').trim().toLowerCase();
    if (got !== this.#protocol) {
      // RFC 9110 §7.8: a server switches only to a protocol the client listed.
      socket.destroy();
      this.#mismatch(got);
      return;
    }
    this.#status = 101;
    this.#attemptOver(true);
    this.#client.off('end', this.#onClientGone);
    this.#client.off('close', this.#onClientGone);
    openTunnel(this.#res, res, socket, head, this.#answerFields(), {
      route: this.#route,
      requestId: this.#requestId,
      logFragment:
        this.#side === 'candidate'
          ? this.#route.candidateLogFragment
          : this.#route.legacyLogFragment,
      hooks: this.#hooks,
    });
    this.#finish(undefined);
  }

  /** A 101 for another protocol, or for none: not tunnelled. */
  #mismatch(got: string): void {
    this.#status = 502;
    this.#attemptOver(false);
    this.#fail(new UpgradeMismatchError(this.#route.name, this.#backend.name, this.#protocol, got));
  }

  /** The backend answered without switching: relay the answer, then close. */
  #answered(upstream: ClientRequest, res: IncomingMessage): void {
    if (upstream !== this.#upstream || this.#phase !== 'waiting') {
      res.destroy();
      return;
    }
    this.#disarm();
    if (this.#clientGone) {
      upstream.destroy();
      this.#status = CLIENT_CLOSED;
      this.#attemptOver(undefined);
      this.#finish(undefined);
      return;
    }
    const status = res.statusCode ?? 0;
    if (status === 101) {
      // A 101 without an Upgrade field reaches 'response': it switches to nothing.
      upstream.destroy();
      this.#mismatch('');
      return;
    }
    this.#status = status;
    if (status >= 500 && this.#canFallBack('5xx')) {
      upstream.destroy();
      this.#attemptOver(false);
      this.#switchToLegacy('5xx');
      this.#dispatch();
      return;
    }
    this.#phase = 'relaying';
    this.#answer = res;
    const out = clientResponseHeaders(res.headers);
    Object.assign(out, this.#answerFields());
    const client = this.#res;
    client.writeHead(status, out);
    // The longest pause between two body chunks, as for any answer (idleTimeout).
    res.socket.setTimeout(this.#route.config.idleTimeout, () =>
      res.destroy(
        new UpstreamTimeoutError(this.#route.name, this.#backend.name, 'idle response body'),
      ),
    );
    res.on('data', (chunk: Buffer) => {
      this.#bytesOut += chunk.length;
      if (!client.write(chunk)) {
        res.pause();
        client.once('drain', () => res.resume());
      }
    });
    res.once('end', () => {
      if (this.#phase !== 'relaying') return;
      client.end();
      this.#attemptOver(status < 500);
      this.#finish(undefined);
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
    this.#res.destroy(error);
    this.#attemptOver(false);
    this.#finish(error);
  }

  /** x-request-id and the split's markers, as on every proxied answer. */
  #answerFields(): Record<string, string> {
    const out: Record<string, string> = {};
    if (this.#route.config.backendHeader) out['x-cutover-backend'] = this.#side;
    if (this.#fallback !== undefined) out['x-cutover-fallback'] = this.#fallback;
    out['x-request-id'] = this.#requestId;
    return out;
  }

  #failed(upstream: ClientRequest, error: Error): void {
    if (upstream !== this.#upstream || this.#phase === 'done') return;
    this.#disarm();
    if (this.#clientGone || error instanceof ClientGoneError) {
      // A cancel says nothing about the backend: no breaker or outlier record.
      this.#status = CLIENT_CLOSED;
      this.#attemptOver(undefined);
      this.#finish(undefined);
      return;
    }
    if (this.#phase === 'relaying') {
      this.#bodyBroke(error);
      return;
    }
    const [failure, kind] = classifyAttemptError(error, this.#route.name, this.#backend.name);
    this.#status = failure.status;
    this.#attemptOver(false);
    if (kind !== undefined && this.#canFallBack(kind)) {
      this.#switchToLegacy(kind);
      this.#dispatch();
      return;
    }
    this.#fail(failure);
  }

  /** The client connection ended before the tunnel opened. */
  #clientClosed(): void {
    if (this.#clientGone || this.#phase === 'done') return;
    this.#clientGone = true;
    if (this.#phase === 'relaying') {
      this.#answer?.destroy();
      this.#upstream?.destroy();
      this.#status = CLIENT_CLOSED;
      this.#attemptOver(undefined);
      this.#finish(undefined);
      return;
    }
    // Waiting: the request's 'error' handler finishes the exchange.
    this.#upstream?.destroy(new ClientGoneError());
  }

  /** Fall back to legacy after a failed candidate attempt, for a handshake safe to resend. */
  #canFallBack(reason: FallbackReason): boolean {
    const fb = this.#route.config.fallback;
    return (
      this.#side === 'candidate' &&
      fb !== undefined &&
      fb.on.has(reason) &&
      isResendable(this.#route, this.#req)
    );
  }

  /**
   * Account for the attempt that just ended (once): breaker, outlier
   * ejection, the backend's concurrency cap, per-side metrics. `ok`
   * undefined: the client went away, which says nothing about the backend.
   */
  #attemptOver(ok: boolean | undefined): void {
    if (!this.#attemptOpen) return;
    this.#attemptOpen = false;
    const ms = performance.now() - this.#attemptStart;
    if (ok !== undefined) {
      this.#breaker?.record(ok, ms);
      if (this.#instance) this.#backend.recordOutcome(this.#instance, ok);
    }
    this.#breaker = undefined;
    if (this.#cap) {
      this.#cap.release(ms, ok !== false);
      this.#cap = undefined;
    }
    this.#metrics.observe(ok === false && this.#status < 500 ? 502 : this.#status, ms / 1000);
  }

  /** Answer with a problem: nothing of an upstream answer has been sent. */
  #fail(failure: CutoverError): void {
    this.#status = failure.status;
    if (this.#clientGone) {
      this.#finish(failure);
      return;
    }
    const headers = this.#answerFields();
    if (failure instanceof BreakerOpenError || failure instanceof OverloadedError) {
      headers['retry-after'] = '1';
    }
    sendProblem(
      this.#res,
      problemFromError(failure, {
        route: this.#route.name,
        backend: this.#backend.name,
        requestId: this.#requestId,
      }),
      headers,
    );
    this.#finish(failure);
  }

  /** The handshake is over (tunnel, relayed answer or failure): one access line, slots freed. */
  #finish(error: Error | undefined): void {
    if (this.#phase === 'done') return;
    this.#phase = 'done';
    this.#disarm();
    this.#client.off('end', this.#onClientGone);
    this.#client.off('close', this.#onClientGone);
    const ms = performance.now() - this.#start;
    this.#route.guards.finished(ms, this.#status < 500);
    this.#hooks.accessLog?.write(
      this.#requestId,
      this.#side === 'candidate' ? this.#route.candidateLogFragment : this.#route.legacyLogFragment,
      this.#req.method!,
      this.#req.url!,
      this.#status,
      Math.round(ms * 10) / 10,
      this.#bytesOut,
      this.#attempts,
      this.#fallback,
      error?.message,
    );
    this.#hooks.finished();
  }
}
