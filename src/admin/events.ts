// GET /api/events: the dashboard's Server-Sent Events stream (WHATWG HTML
// §9.2). One shared tick — the series sampler's, once a second — builds each
// frame once and writes it to every open stream; no stream has a timer.
// Events: `overview` (when it changed), `point` (one per route per second,
// and again for a second the fleet's late figures revised: same `t`, the
// newer wins), `ledger` (each entry this process writes, each move any
// instance makes, each note another instance publishes), `breaker` (each
// transition; another instance's carry `instance`), a `: ping` comment
// every 15 s so proxies keep the connection, `retry: 1000`.
import type { ServerResponse } from 'node:http';
import { TooManyStreamsError } from '../errors.ts';
import type { BreakerTransition } from '../gateway/index.ts';
import type { LedgerEntry } from '../rollout/index.ts';
import type { RemoteEvent } from '../telemetry/index.ts';
import type { AdminContext } from './context.ts';
import { type InstanceCache, overview } from './overview.ts';

/** Open streams at most per admin listener: each holds a socket and its buffer; 100 dashboards is a big team. */
export const MAX_STREAMS = 100;

/**
 * A stream whose socket buffer holds more than this is skipped (frames are
 * dropped for it, never queued without bound): about a minute of a 100-route
 * overview and its points.
 */
export const STREAM_BUFFER_BYTES = 256 * 1024;

/** A stream skipped this many seconds in a row is ended; the browser reconnects and starts over. */
const STALLED_SECONDS = 30;

/** Seconds between keep-alive comments: under the 30–60 s idle cut of common proxies and load balancers. */
const PING_SECONDS = 15;

interface Stream {
  readonly res: ServerResponse;
  /** `?route=NAME`: only this route's `point` events (a route page needs no other). */
  readonly route: string | undefined;
  /** Seconds in a row its buffer was full. */
  stalled: number;
}

function frame(event: string, data: unknown): string {
  return `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}

/** A transition as the stream says it; `instance` for another instance's. */
function breakerEvent(
  t: { backend: string; route: string; from: string; to: string; reason: string; at: number },
  instance?: string,
): Record<string, unknown> {
  return {
    backend: t.backend,
    route: t.route,
    from: t.from,
    state: t.to,
    reason: t.reason,
    at: new Date(t.at).toISOString(),
    ...(instance !== undefined && { instance }),
  };
}

function remoteFrame(e: RemoteEvent): string {
  return e.kind === 'breaker'
    ? frame('breaker', breakerEvent(e.event, e.instance))
    : frame('ledger', e.entry);
}

export class EventHub {
  readonly #ctx: AdminContext;
  readonly #instances: InstanceCache;
  readonly #streams = new Set<Stream>();
  readonly #unsubscribe: (() => void)[];
  /** The last overview sent, as JSON: sent again only when it changed. */
  #lastOverview = '';
  #ticks = 0;
  #building = false;
  /** Frames dropped for full buffers, since start. */
  skipped = 0;

  constructor(ctx: AdminContext, instances: InstanceCache) {
    this.#ctx = ctx;
    this.#instances = instances;
    this.#unsubscribe = [
      ctx.series.onSample((second, revised) => void this.#tick(second, revised)),
      ctx.rollouts.ledger.onEntry((entry: LedgerEntry) => this.#broadcast(frame('ledger', entry))),
      ctx.gateway.onBreakerTransition((t: BreakerTransition) =>
        this.#broadcast(frame('breaker', breakerEvent(t))),
      ),
      ...(ctx.fleet ? [ctx.fleet.onRemote((e) => this.#broadcast(remoteFrame(e)))] : []),
    ];
  }

  get open(): number {
    return this.#streams.size;
  }

  /**
   * Answers GET /api/events: headers, the retry hint and the current overview
   * at once. `route`: send only that route's points (with 1,000 routes every
   * route's points are ≈ 180 KiB a second, bench/RESULTS.md).
   */
  async accept(res: ServerResponse, route?: string): Promise<void> {
    if (this.#streams.size >= MAX_STREAMS) {
      res.setHeader('retry-after', '5');
      throw new TooManyStreamsError(MAX_STREAMS);
    }
    const body = await overview(this.#ctx, this.#instances);
    if (res.destroyed) return;
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      // nginx buffers proxied answers unless told not to; a buffered stream is no stream.
      'x-accel-buffering': 'no',
    });
    res.write(`retry: 1000\n\n${frame('overview', body)}`);
    const stream: Stream = { res, route, stalled: 0 };
    this.#streams.add(stream);
    res.on('close', () => this.#streams.delete(stream));
  }

  async #tick(second: number, revised: readonly number[]): Promise<void> {
    this.#ticks++;
    if (this.#streams.size === 0) {
      // Whoever connects next gets the overview at once; the change test starts afresh.
      this.#lastOverview = '';
      return;
    }
    // A slow store read (the instance list) must not pile ticks up.
    if (this.#building) return;
    this.#building = true;
    try {
      let head = '';
      if (this.#ticks % PING_SECONDS === 0) head += ': ping\n\n';
      const body = JSON.stringify(await overview(this.#ctx, this.#instances));
      if (body !== this.#lastOverview) {
        this.#lastOverview = body;
        head += `event: overview\ndata: ${body}\n\n`;
      }
      // Each frame is built once, for every stream that wants it.
      const points = new Map<string, string>();
      let all = '';
      for (const r of this.#ctx.gateway.routes()) {
        let f = '';
        for (const t of [...revised, second]) {
          const point = this.#ctx.series.point(r.name, t);
          if (point) f += frame('point', { route: r.name, point });
        }
        if (f === '') continue;
        points.set(r.name, f);
        all += f;
      }
      this.#broadcast(
        (s) => head + (s.route === undefined ? all : (points.get(s.route) ?? '')),
        true,
      );
    } catch (error) {
      this.#ctx.logger.error({ err: (error as Error).message }, 'dashboard event tick failed');
    } finally {
      this.#building = false;
    }
  }

  /** Writes `text` (or what it gives a stream) to every stream with room for it; `tick`: counts stalls (once a second). */
  #broadcast(text: string | ((stream: Stream) => string), tick = false): void {
    for (const stream of this.#streams) {
      const { res } = stream;
      const out = typeof text === 'string' ? text : text(stream);
      if (out === '') continue;
      if (res.writableLength > STREAM_BUFFER_BYTES) {
        this.skipped++;
        if (tick && ++stream.stalled >= STALLED_SECONDS) res.destroy();
        continue;
      }
      if (tick) stream.stalled = 0;
      res.write(out);
    }
  }

  /** Ends every stream cleanly (the admin listener stops) and stops listening. */
  close(): void {
    for (const off of this.#unsubscribe) off();
    for (const stream of this.#streams) stream.res.end();
    this.#streams.clear();
  }
}
