// Loading a config text as a user would, for tests of its messages.
import assert from 'node:assert/strict';
import { parseConfigText } from '../../src/config/index.ts';
import { ConfigError, formatConfigIssue } from '../../src/errors.ts';

export const CONFIG_FILE = 'cutover.yaml';

/** The formatted issues a text produces, or [] when it loads. */
export function problems(text: string, env: Record<string, string> = {}): string[] {
  try {
    parseConfigText(text, CONFIG_FILE, env);
    return [];
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected a ConfigError, got ${String(err)}`);
    return err.issues.map(formatConfigIssue);
  }
}
