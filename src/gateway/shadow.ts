// Shadow copies (issue 4): a share of the requests that legacy serves is
// also sent to the candidate, marked `x-cutover-shadow: 1`. The client only
// ever gets legacy's answer, streamed as usual; both answers are kept (up to
// shadow.maxBodyBytes) and compared when both are complete. A slow or dead
// candidate costs the client nothing: the copy runs beside the request, and
// copies beyond shadow.maxInFlight are dropped and counted, never queued.
import type { Dispatcher } from 'undici';
import {
  type CompiledCompareRules,
  compareResponses,
  compileCompareRules,
  Redactor,
  type ResponseSample,
  ShadowResults,
  type SkipReason,
} from '../compare/index.ts';
import type { ShadowConfig } from '../config/index.ts';
import type { Metrics } from '../telemetry/index.ts';
import type { Backend } from './backends.ts';

/** RFC 9110 §9.2.1 safe methods: shadowed by default. */
const SAFE = new Set(['GET', 'HEAD', 'OPTIONS']);

export const SHADOW_HEADER = 'x-cutover-shadow';

/** The shadow settings and results of one route; kept across reloads while its settings do not change. */
export class RouteShadow {
  readonly key: string;
  readonly config: ShadowConfig;
  readonly compiled: CompiledCompareRules;
  readonly results: ShadowResults;
  readonly #route: string;
  readonly #metrics: Metrics;
  #inFlight = 0;

  constructor(route: string, config: ShadowConfig, metrics: Metrics, previous?: RouteShadow) {
    this.key = JSON.stringify(config);
    this.config = config;
    this.#route = route;
    this.#metrics = metrics;
    this.compiled = compileCompareRules(config.compare);
    this.results =
      previous?.results ??
      new ShadowResults({
        route,
        samples: config.samples,
        compiled: this.compiled,
        redactor: new Redactor({}),
      });
  }

  /** Whether this request gets a shadow copy; counts the ones refused for their method. */
  wants(method: string): boolean {
    if (this.config.percent < 100 && Math.random() * 100 >= this.config.percent) return false;
    if (!this.config.writes && !SAFE.has(method)) {
      this.skip('method');
      return false;
    }
    return true;
  }

  /** A slot for one more copy in flight, or false (dropped and counted). */
  acquire(): boolean {
    if (this.#inFlight >= this.config.maxInFlight) {
      this.skip('dropped');
      return false;
    }
    this.#inFlight++;
    return true;
  }

  release(): void {
    this.#inFlight--;
  }

  skip(reason: SkipReason): void {
    this.results.skip(reason);
    this.#metrics.shadow(this.#route, `skipped_${reason}`);
  }

  compared(match: boolean): void {
    this.#metrics.shadow(this.#route, match ? 'matched' : 'mismatched');
    this.#metrics.shadowRatio(this.#route, this.results.summary().mismatchRatio);
  }
}

/** One answer being collected, up to a size. */
class Collected {
  status = 0;
  headers: Record<string, string | string[] | undefined> = {};
  readonly chunks: Buffer[] = [];
  size = 0;
  tooLarge = false;
  ms = 0;

  add(chunk: Buffer, max: number): void {
    if (this.tooLarge) return;
    this.size += chunk.length;
    if (this.size > max) {
      this.tooLarge = true;
      this.chunks.length = 0;
    } else this.chunks.push(chunk);
  }

  sample(): ResponseSample {
    return {
      status: this.status,
      headers: this.headers,
      body: Buffer.concat(this.chunks, this.size),
    };
  }
}

export interface ShadowRequest {
  readonly method: string;
  readonly url: string;
  readonly requestHeaders: Record<string, string | string[] | undefined>;
  /** Flat upstream header list (as sent to legacy); copied, not changed. */
  readonly headers: readonly string[];
  readonly hostAt: number;
  readonly body: Buffer | null;
  readonly timeout: number;
  readonly idleTimeout: number;
}

/** The candidate's copy of one request, and the pairing with legacy's answer. */
export class ShadowCopy implements Dispatcher.DispatchHandler {
  readonly #shadow: RouteShadow;
  readonly #request: ShadowRequest;
  readonly #start: number;
  readonly #max: number;
  /** Legacy's answer, filled by the client's exchange (the tee). */
  readonly legacy = new Collected();
  readonly #candidate = new Collected();
  #controller: Dispatcher.DispatchController | null = null;
  #legacyState: 'pending' | 'done' | 'failed' = 'pending';
  #candidateState: 'pending' | 'done' | 'failed' = 'pending';

  constructor(shadow: RouteShadow, request: ShadowRequest) {
    this.#shadow = shadow;
    this.#request = request;
    this.#start = performance.now();
    this.#max = shadow.config.maxBodyBytes;
  }

  /** Send the copy to one of the candidate's instances. */
  send(candidate: Backend): void {
    const instance = candidate.pick();
    const r = this.#request;
    const headers = r.headers.slice();
    if (r.hostAt !== -1) headers[r.hostAt] = instance.host;
    headers.push(SHADOW_HEADER, '1');
    instance.pool.dispatch(
      {
        path: instance.basePath + r.url,
        method: r.method as 'GET',
        headers,
        body: r.body,
        headersTimeout: r.timeout,
        bodyTimeout: r.idleTimeout,
      },
      this,
    );
  }

  /** Legacy's answer tee: headers. */
  legacyStart(status: number, headers: Record<string, string | string[] | undefined>): void {
    this.legacy.status = status;
    this.legacy.headers = headers;
  }

  legacyData(chunk: Buffer): void {
    this.legacy.add(chunk, this.#max);
  }

  legacyEnd(ok: boolean): void {
    if (this.#legacyState !== 'pending') return;
    this.legacy.ms = performance.now() - this.#start;
    this.#legacyState = ok ? 'done' : 'failed';
    this.#settle();
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.#controller = controller;
  }

  onResponseStart(
    _controller: Dispatcher.DispatchController,
    statusCode: number,
    headers: Record<string, string | string[] | undefined>,
  ): void {
    this.#candidate.status = statusCode;
    this.#candidate.headers = headers;
  }

  onResponseData(_controller: Dispatcher.DispatchController, chunk: Buffer): void {
    this.#candidate.add(chunk, this.#max);
    // Past the limit the pair will not be compared: stop reading the candidate.
    if (this.#candidate.tooLarge)
      this.#controller?.abort(new Error('shadow answer over maxBodyBytes'));
  }

  onResponseEnd(): void {
    this.#candidate.ms = performance.now() - this.#start;
    this.#candidateState = 'done';
    this.#settle();
  }

  onResponseError(_controller: Dispatcher.DispatchController, _error: Error): void {
    this.#candidate.ms = performance.now() - this.#start;
    this.#candidateState = this.#candidate.tooLarge ? 'done' : 'failed';
    this.#settle();
  }

  #settle(): void {
    if (this.#legacyState === 'pending' || this.#candidateState === 'pending') return;
    const shadow = this.#shadow;
    shadow.release();
    const skipped: SkipReason | undefined =
      this.#legacyState === 'failed'
        ? 'legacy_error'
        : this.#candidateState === 'failed'
          ? 'candidate_error'
          : this.legacy.tooLarge || this.#candidate.tooLarge
            ? 'too_large'
            : undefined;
    if (skipped !== undefined) {
      shadow.skip(skipped);
      return;
    }
    const legacy = this.legacy.sample();
    const candidate = this.#candidate.sample();
    const result = compareResponses(legacy, candidate, shadow.compiled);
    shadow.results.record(
      {
        method: this.#request.method,
        url: this.#request.url,
        requestHeaders: this.#request.requestHeaders,
        legacy,
        candidate,
        legacyMs: this.legacy.ms,
        candidateMs: this.#candidate.ms,
      },
      result,
    );
    shadow.compared(result.match);
  }
}
