// Hot reload: a change to the file or a SIGHUP loads the file again; a valid
// config is handed over, an invalid one is reported and the running one kept.
// Reading and parsing never block the event loop (read.ts, load-file.ts), and
// a path that is not a readable regular file is reported without ending the
// watch: the next good save reloads.
import { createHash } from 'node:crypto';
import { type FSWatcher, watch } from 'node:fs';
import { basename, dirname } from 'node:path';
import type { Env } from './interpolate.ts';
import { type LoadLimits, loadLimits, parseConfigOffThread } from './load-file.ts';
import { readConfigBytes, readConfigBytesSync } from './read.ts';
import type { Config } from './types.ts';

export interface ConfigWatcher {
  close(): void;
}

export interface WatchOptions {
  /** Called when a changed file starts being parsed and checked, with its size. */
  readonly onLoadStart?: (bytes: number) => void;
  /**
   * Called when a change was looked at and the file holds what was loaded
   * last, so nothing is loaded: the end of a quiet period that a caller (or
   * a test) can wait for instead of sleeping.
   */
  readonly onUnchanged?: () => void;
  /** Instead of the limits from the environment. */
  readonly limits?: LoadLimits;
}

/** Editors save in bursts (write, chmod, rename); one reload per burst. */
const DEBOUNCE_MS = 100;
/** A file replaced by rename is briefly absent; look again this many times before reporting it. */
const ABSENT_RETRIES = 10;

function hashOf(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

function isAbsent(err: unknown): boolean {
  return (
    (err as Error).cause !== undefined &&
    (err as { cause: NodeJS.ErrnoException }).cause.code === 'ENOENT'
  );
}

export function watchConfig(
  file: string,
  onConfig: (config: Config) => void,
  onError: (error: Error) => void,
  env: Env = process.env,
  options: WatchOptions = {},
): ConfigWatcher {
  const stopping = new AbortController();
  let limits: LoadLimits | undefined = options.limits;
  const limitsNow = (): LoadLimits => {
    limits ??= loadLimits(file, env);
    return limits;
  };
  // The content the caller loaded before watching counts as the last load.
  // Read before returning: a change made right after this call must count as one.
  let lastHash: string | undefined;
  try {
    lastHash = hashOf(readConfigBytesSync(file, limitsNow().maxBytes));
  } catch {
    lastHash = undefined;
  }
  let closed = false;
  let timer: NodeJS.Timeout | undefined;
  let running = false;
  let pending = false;
  let pendingForced = false;
  let absentTries = 0;
  let absentReported = false;

  const schedule = (delay: number): void => {
    if (closed) return;
    clearTimeout(timer);
    timer = setTimeout(() => {
      timer = undefined;
      request(false);
    }, delay);
  };

  const reload = async (forced: boolean): Promise<void> => {
    let bytes: Buffer;
    try {
      bytes = await readConfigBytes(file, limitsNow().maxBytes);
    } catch (err) {
      if (closed) return;
      if (isAbsent(err) && absentTries < ABSENT_RETRIES) {
        absentTries++;
        schedule(DEBOUNCE_MS);
        return;
      }
      absentTries = 0;
      // A file that stays absent is reported once; its return is a change like any other.
      if (!isAbsent(err) || !absentReported) onError(err as Error);
      absentReported = isAbsent(err);
      // A refused file (a FIFO, a directory, too large) is not a load: fixing it reloads.
      lastHash = undefined;
      return;
    }
    absentTries = 0;
    absentReported = false;
    const hash = hashOf(bytes);
    if (closed) return;
    if (!forced && hash === lastHash) {
      options.onUnchanged?.();
      return;
    }
    lastHash = hash;
    options.onLoadStart?.(bytes.length);
    let config: Config;
    try {
      config = await parseConfigOffThread(bytes, file, env, {
        limits: limitsNow(),
        signal: stopping.signal,
      });
    } catch (err) {
      if (!closed) onError(err as Error);
      return;
    }
    if (!closed) onConfig(config);
  };

  // One reload at a time; requests that arrive meanwhile fold into one more run.
  const request = (forced: boolean): void => {
    if (closed) return;
    if (running) {
      pending = true;
      pendingForced ||= forced;
      return;
    }
    running = true;
    reload(forced)
      .catch((err: unknown) => {
        if (!closed) onError(err as Error);
      })
      .finally(() => {
        running = false;
        if (pending) {
          const again = pendingForced;
          pending = false;
          pendingForced = false;
          request(again);
        }
      });
  };

  // Watch the directory, not the file: many editors save by renaming a new file
  // over the old one, which ends a watch on the old inode.
  const name = basename(file);
  const watcher: FSWatcher = watch(dirname(file), (_event, changed) => {
    if (changed === null || changed === name) schedule(DEBOUNCE_MS);
  });
  watcher.on('error', (err) => {
    if (!closed) onError(err);
  });

  // SIGHUP always reloads, even when the file is unchanged (the environment may have changed).
  const onSighup = (): void => {
    clearTimeout(timer);
    timer = undefined;
    request(true);
  };
  process.on('SIGHUP', onSighup);

  return {
    close() {
      if (closed) return;
      closed = true;
      clearTimeout(timer);
      watcher.close();
      process.off('SIGHUP', onSighup);
      // A parse in progress is stopped: shutdown never waits for a config.
      stopping.abort(new Error('the config watcher was closed'));
    },
  };
}
