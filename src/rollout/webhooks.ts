// Rollout webhooks: `event` hooks are told of every state change (retried,
// never blocking: a rollback must not wait for a slow receiver), `confirm`
// hooks must all answer 2xx before a step up (asked once; the controller asks
// again at its next interval).
import { setTimeout as sleep } from 'node:timers/promises';
import { Agent, request } from 'undici';
import { WebhookError } from '../errors.ts';
import type { Logger } from '../telemetry/index.ts';
import type { ConfirmRequest, RolloutEvent, WebhookConfig } from './types.ts';

export interface WebhooksOptions {
  /** First pause between event attempts, doubled after each; tests make it small. */
  readonly backoffMs?: number;
}

export interface ConfirmOutcome {
  readonly approved: boolean;
  /** The hook that refused (absent when approved). */
  readonly url?: string;
  readonly reason: string;
}

// 200, 400, 800 ms...: enough for a receiver's restart blip, short next to a
// rollout interval.
const DEFAULT_BACKOFF_MS = 200;

export class Webhooks {
  #logger: Logger;
  #backoffMs: number;
  #agent: Agent | undefined;
  #inFlight: Set<Promise<unknown>>;
  /** Aborts backoff pauses on close(): no retry starts after shutdown begins. */
  #closing: AbortController;

  constructor(logger: Logger, options: WebhooksOptions = {}) {
    this.#logger = logger;
    this.#backoffMs = options.backoffMs ?? DEFAULT_BACKOFF_MS;
    this.#agent = undefined;
    this.#inFlight = new Set();
    this.#closing = new AbortController();
  }

  /** Posts `event` to every `event` hook at once; never throws, failures are logged. */
  notify(hooks: readonly WebhookConfig[], event: RolloutEvent): Promise<void> {
    const targets = hooks.filter((h) => h.kind === 'event');
    if (targets.length === 0) return Promise.resolve();
    const body = JSON.stringify(event);
    return this.#track(Promise.all(targets.map((hook) => this.#deliver(hook, event, body)))).then(
      () => undefined,
    );
  }

  /** Approved only when every `confirm` hook answers 2xx within its timeout. */
  async confirm(hooks: readonly WebhookConfig[], ask: ConfirmRequest): Promise<ConfirmOutcome> {
    const targets = hooks.filter((h) => h.kind === 'confirm');
    if (targets.length === 0) return { approved: true, reason: 'no confirm webhook' };
    if (this.#closing.signal.aborted) {
      return { approved: false, reason: 'webhooks are shut down' };
    }
    const body = JSON.stringify(ask);
    const failures = await this.#track(Promise.all(targets.map((hook) => this.#post(hook, body))));
    const index = failures.findIndex((f) => f !== undefined);
    if (index >= 0)
      return { approved: false, url: targets[index].url, reason: failures[index]!.message };
    return { approved: true, reason: `approved by ${targets.map((h) => h.url).join(', ')}` };
  }

  /** Stops further retries and waits for the posts in flight (each bounded by its timeout). */
  async close(): Promise<void> {
    this.#closing.abort();
    while (this.#inFlight.size > 0) await Promise.allSettled([...this.#inFlight]);
    await this.#agent?.close();
  }

  async #deliver(hook: WebhookConfig, event: RolloutEvent, body: string): Promise<void> {
    if (this.#closing.signal.aborted) {
      this.#warn(hook, event, 'not sent: webhooks are shut down', 0);
      return;
    }
    let backoff = this.#backoffMs;
    for (let attempt = 1; ; attempt++) {
      const failure = await this.#post(hook, body);
      if (failure === undefined) return;
      if (attempt > hook.retries) {
        this.#warn(hook, event, failure.message, attempt);
        return;
      }
      try {
        await sleep(backoff, undefined, { signal: this.#closing.signal });
      } catch {
        this.#warn(hook, event, `${failure.message} (not retried: shutting down)`, attempt);
        return;
      }
      backoff *= 2;
    }
  }

  /** One POST: undefined on a 2xx answer, else why not (it never throws). */
  async #post(hook: WebhookConfig, body: string): Promise<WebhookError | undefined> {
    this.#agent ??= new Agent();
    const timeout = AbortSignal.timeout(hook.timeoutMs);
    let status: number;
    try {
      const res = await request(hook.url, {
        method: 'POST',
        dispatcher: this.#agent,
        headers: headersFor(hook),
        body,
        signal: timeout,
      });
      status = res.statusCode;
      // Drained so the socket is reused; past dump()'s limit (128 KiB) undici
      // closes the socket instead. A failed dump only costs the socket: the
      // status already decided.
      await res.body.dump().catch(() => {});
    } catch (error) {
      const reason = timeout.aborted
        ? `timed out after ${hook.timeoutMs} ms`
        : networkReason(error);
      return new WebhookError(hook.url, reason, { cause: error });
    }
    return status >= 200 && status <= 299
      ? undefined
      : new WebhookError(hook.url, `answered ${status}`);
  }

  #warn(hook: WebhookConfig, event: RolloutEvent, reason: string, attempts: number): void {
    this.#logger.warn(
      { webhook: hook.url, route: event.route, from: event.from, to: event.to, attempts },
      `rollout event ${event.route} ${event.from}→${event.to} not delivered: ${reason}`,
    );
  }

  #track<T>(work: Promise<T>): Promise<T> {
    this.#inFlight.add(work);
    const untrack = () => this.#inFlight.delete(work);
    work.then(untrack, untrack);
    return work;
  }
}

// The body is always JSON: a configured content-type (in any case) would
// otherwise be sent beside ours.
function headersFor(hook: WebhookConfig): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(hook.headers)) {
    if (name.toLowerCase() !== 'content-type') headers[name] = value;
  }
  headers['content-type'] = 'application/json';
  return headers;
}

function networkReason(error: unknown): string {
  const code = (error as { code?: unknown }).code;
  if (code === 'ECONNREFUSED') return 'connection refused';
  if (code === 'ECONNRESET' || code === 'UND_ERR_SOCKET') return 'connection reset';
  if (code === 'ENOTFOUND') return 'host not found';
  return error instanceof Error ? error.message : String(error);
}
