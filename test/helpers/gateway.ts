// Starts a real Cutover (gateway + admin on 127.0.0.1:0) from YAML text, the
// way `cutover start` does, with its log in a file the test can read.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { type Running, startCutover } from '../../src/cli/run.ts';
import { createLogger } from '../../src/telemetry/index.ts';

export interface TestGateway {
  readonly url: string;
  readonly adminUrl: string;
  readonly running: Running;
  readonly dir: string;
  readonly file: string;
  readonly logFile: string;
  /** Parsed JSON log lines so far. */
  logs(): Record<string, unknown>[];
  /** Access-log lines so far. */
  accessLogs(): Record<string, unknown>[];
  close(): Promise<void>;
}

export interface StartOptions {
  env?: Record<string, string>;
  /** Reuse a directory (for restarts that keep the state file). */
  dir?: string;
  watch?: boolean;
}

export function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'cutover-test-'));
}

export async function startGateway(yaml: string, options: StartOptions = {}): Promise<TestGateway> {
  const dir = options.dir ?? tempDir();
  const file = join(dir, 'cutover.yaml');
  writeFileSync(file, yaml);
  const logFile = join(dir, `log-${Date.now()}-${Math.random().toString(36).slice(2)}.jsonl`);
  const logger = createLogger({ level: 'info', destination: logFile, sync: true });
  const running = await startCutover(file, {
    env: { ...process.env, ...options.env },
    logger,
    watch: options.watch ?? false,
  });
  const logs = () =>
    readFileSync(logFile, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  return {
    url: running.gatewayUrl,
    adminUrl: running.adminUrl,
    running,
    dir,
    file,
    logFile,
    logs,
    accessLogs: () => logs().filter((l) => l.msg === 'access'),
    close: () => running.close(),
  };
}

/** A minimal config: one route `/*` from legacy to candidate at `weight`. */
export function twoBackendYaml(
  legacyUrl: string,
  candidateUrl: string,
  extra: { weight?: number; route?: string; top?: string } = {},
): string {
  return `listen: 127.0.0.1:0
admin: { listen: 127.0.0.1:0 }
state: memory
${extra.top ?? ''}
backends:
  legacy: { url: ${legacyUrl} }
  rewrite: { url: ${candidateUrl} }
routes:
  - name: main
    match: { path: /* }
    legacy: legacy
    candidate: rewrite
    split: { stickyKey: header:x-user-id }
    weight: ${extra.weight ?? 0}
${extra.route ?? ''}
`;
}

/**
 * `n` requests one after another to `path`/0…`path`/n-1 of a gateway, each
 * as its own user, each telling the upstream how to answer (upstream.ts
 * `x-test-behavior`: `ok`, `status:503`, `slow:MS`…); bodies read and dropped.
 */
export async function sendRequests(
  gatewayUrl: string,
  n: number,
  behavior = 'ok',
  path = '/r',
): Promise<void> {
  for (let i = 0; i < n; i++) {
    const res = await request(`${gatewayUrl}${path}/${i}`, {
      headers: { 'x-user-id': `u${i}`, 'x-test-behavior': behavior },
    });
    await res.body.dump();
  }
}
