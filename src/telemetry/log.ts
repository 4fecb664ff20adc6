// pino JSON logs. The access log is one line per request; it goes through an
// asynchronous destination with a small buffer so a busy gateway makes few
// write(2) calls (pino's own advice for throughput, docs/asynchronous.md).
import { pino } from 'pino';

export type Logger = pino.Logger;

export interface LoggerOptions {
  level: string;
  /** File descriptor or path; stdout when absent. */
  destination?: number | string;
  /** Synchronous writes (tests and CLI one-shots); the gateway uses async. */
  sync?: boolean;
}

export function createLogger(options: LoggerOptions): Logger {
  const destination = pino.destination({
    dest: options.destination ?? 1,
    sync: options.sync ?? false,
    minLength: options.sync ? 0 : 4096,
    // A quiet gateway still shows its lines within a second.
    periodicFlush: options.sync ? 0 : 1000,
  });
  const logger = pino(
    {
      level: options.level,
      base: { pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    destination,
  );
  return logger;
}

/** Flush buffered log lines; call before exit. */
export function flushLogger(logger: Logger): void {
  try {
    logger.flush();
  } catch {
    // a destination that is not ready yet has nothing to flush
  }
}
