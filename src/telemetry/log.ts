// pino JSON logs, written through a batching LineWriter (see line-writer.ts
// for why not pino's default destination). The access log has its own,
// cheaper line builder (access-log.ts) that writes into the same writer.
import { pino } from 'pino';
import { LineWriter } from './line-writer.ts';

export type Logger = pino.Logger;

export interface LoggerOptions {
  level: string;
  /** File descriptor or path; stdout when absent. */
  destination?: number | string;
  /** Other processes write to the same destination (workers): keep lines whole (line-writer.ts). */
  sharedDestination?: boolean;
  /** Synchronous writes (tests and CLI one-shots); the gateway uses async. */
  sync?: boolean;
}

export function createLogger(options: LoggerOptions): Logger {
  const destination = new LineWriter(options.destination ?? 1, {
    sync: options.sync ?? false,
    atomicLines: options.sharedDestination ?? false,
  });
  return pino(
    {
      level: options.level,
      base: { pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    destination,
  );
}

function destinationOf(logger: Logger): LineWriter | undefined {
  const d = (logger as unknown as Record<symbol, unknown>)[pino.symbols.streamSym];
  return d instanceof LineWriter ? d : undefined;
}

/** Write out buffered log lines now (synchronously); call before exit. */
export function flushLogger(logger: Logger): void {
  destinationOf(logger)?.flushSync();
}
