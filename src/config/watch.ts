// STUB — being written: watch the file (and SIGHUP) and hand over each new valid Config.
import type { Config } from './types.ts';

export interface ConfigWatcher {
  close(): void;
}

export function watchConfig(
  file: string,
  onConfig: (config: Config) => void,
  onError: (error: Error) => void,
): ConfigWatcher {
  void file;
  void onConfig;
  void onError;
  return { close() {} };
}
