// Loading a config text as a user would, for tests of its messages.
import assert from 'node:assert/strict';
import { parseConfigText, type RolloutConfig } from '../../src/config/index.ts';
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

/** The resolved `rollout` block of a one-route config whose rollout is `block` (YAML flow). */
export function rolloutOf(block = '{}', top = ''): RolloutConfig {
  const config = parseConfigText(
    `${top}backends:
  legacy: { url: "http://127.0.0.1:9001" }
  rewrite: { url: "http://127.0.0.1:9002" }
routes:
  - name: r
    match: { path: /r }
    legacy: legacy
    candidate: rewrite
    rollout: ${block}
`,
    CONFIG_FILE,
    {},
  );
  return config.routes[0].rollout as RolloutConfig;
}
