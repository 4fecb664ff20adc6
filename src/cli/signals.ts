// How a running Cutover process (one process, or one worker of several)
// answers SIGTERM and SIGINT: finish what is in flight, then exit.
import { DEFAULTS } from '../config/index.ts';
import type { Running } from './run.ts';

/** Usage errors (unknown flag, missing file) exit 2; failures of the operation exit 1. */
export const EXIT_USAGE = 2;
export const EXIT_FAILURE = 1;

/** After shutdownGrace, this much more for the rest of shutdown (state store, logs) before a hard exit. */
export const HARD_EXIT_AFTER_GRACE_MS = 1_000;

/** What still holds the process open, for the hard-exit message: `TCPSocketWrap×3, Timeout×1`. */
function openResources(): string {
  const counts = new Map<string, number>();
  for (const r of process.getActiveResourcesInfo()) counts.set(r, (counts.get(r) ?? 0) + 1);
  return [...counts].map(([r, n]) => `${r}×${n}`).join(', ') || 'nothing';
}

export interface SignalOptions {
  /**
   * A worker of `server.workers`: a repeated signal does not end it at once.
   * A worker shares its process group (Ctrl-C) and its cgroup (systemd's
   * KillMode=control-group) with the primary, so it gets the user's signal
   * and the one the primary forwards: two signals are one request to stop.
   * Forcing is the primary's job (it SIGKILLs workers on a second signal).
   */
  readonly worker?: boolean;
}

/**
 * SIGTERM and SIGINT stop gracefully; whatever happens, the process ends
 * within shutdownGrace + 1 s (an unref'd timer, so it never delays a clean
 * exit), and a second signal ends it at once. A process that ignores SIGTERM
 * only gets SIGKILLed later by its supervisor (issue 9).
 */
export function onSignals(
  running: Running | undefined,
  stop: () => Promise<void>,
  options: SignalOptions = {},
): void {
  let stopping = false;
  const handler = (signal: string) => {
    if (stopping) {
      if (options.worker) return;
      process.stderr.write(`received ${signal} again, exiting now\n`);
      process.exit(EXIT_FAILURE);
    }
    stopping = true;
    process.stderr.write(`received ${signal}, finishing requests in flight\n`);
    const graceMs = running?.gateway.config.server.shutdownGrace ?? DEFAULTS.shutdownGrace;
    setTimeout(() => {
      process.stderr.write(
        `cutover: shutdown took longer than server.shutdownGrace (${graceMs} ms) + ${HARD_EXIT_AFTER_GRACE_MS} ms; ` +
          `exiting with ${running?.gateway.inFlight ?? 0} requests in flight; still open: ${openResources()}\n`,
      );
      process.exit(EXIT_FAILURE);
    }, graceMs + HARD_EXIT_AFTER_GRACE_MS).unref();
    stop().then(
      () => process.exit(0),
      (e: unknown) => {
        process.stderr.write(`cutover: ${(e as Error).message}\n`);
        process.exit(EXIT_FAILURE);
      },
    );
  };
  process.on('SIGTERM', () => handler('SIGTERM'));
  process.on('SIGINT', () => handler('SIGINT'));
}
