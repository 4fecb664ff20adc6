// Hot reload: a change to the file or a SIGHUP loads the file again; a valid
// config is handed over, an invalid one is reported and the running one kept.
import { createHash } from 'node:crypto';
import { type FSWatcher, readFileSync, watch } from 'node:fs';
import { basename, dirname } from 'node:path';
import { parseConfigText, readConfigText } from './load.ts';
import type { Config } from './types.ts';

export interface ConfigWatcher {
  close(): void;
}

/** Editors save in bursts (write, chmod, rename); one reload per burst. */
const DEBOUNCE_MS = 100;
/** A file replaced by rename is briefly absent; look again this many times before reporting it. */
const ABSENT_RETRIES = 10;

function hashOf(text: string): string {
  return createHash('sha256').update(text).digest('hex');
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
  env: Readonly<Record<string, string | undefined>> = process.env,
): ConfigWatcher {
  // The content the caller loaded before watching counts as the last load.
  let lastHash: string | undefined;
  try {
    lastHash = hashOf(readFileSync(file, 'utf8'));
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
    let text: string;
    try {
      text = await readConfigText(file);
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
      return;
    }
    absentTries = 0;
    absentReported = false;
    const hash = hashOf(text);
    if (closed || (!forced && hash === lastHash)) return;
    lastHash = hash;
    let config: Config;
    try {
      config = parseConfigText(text, file, env);
    } catch (err) {
      onError(err as Error);
      return;
    }
    onConfig(config);
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
    },
  };
}
