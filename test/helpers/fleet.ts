// Real `cutover start` processes for fleet tests: each listens on ports
// chosen by the OS and logs JSON lines, which the helper reads to learn its
// ports and id and to wait for what it says (a leader, a store down…).
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { childEnv, MAIN, ROOT } from './cli.ts';

export interface LogLine {
  readonly msg: string;
  readonly [field: string]: unknown;
}

export interface Instance {
  readonly pid: number;
  readonly id: string;
  readonly url: string;
  readonly adminUrl: string;
  readonly lines: LogLine[];
  /** Resolves with the first line (already seen or to come) that `match` accepts; fails after `ms`. */
  waitLine(what: string, match: (line: LogLine) => boolean, ms?: number): Promise<LogLine>;
  signal(sig: NodeJS.Signals): void;
  /** SIGTERM and wait for the exit; the exit code. */
  stop(): Promise<number | null>;
  /** SIGKILL and wait for the exit. */
  kill(): Promise<void>;
  readonly exited: Promise<number | null>;
}

export function writeConfig(path: string, text: string): string {
  writeFileSync(path, text);
  return path;
}

export async function startInstance(
  config: string,
  env: Record<string, string> = {},
): Promise<Instance> {
  const child: ChildProcess = spawn(process.execPath, [MAIN, 'start', '--config', config], {
    cwd: ROOT,
    env: childEnv(env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: LogLine[] = [];
  const waiters = new Set<{ match: (l: LogLine) => boolean; resolve: (l: LogLine) => void }>();
  let buffer = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    buffer += chunk;
    let nl = buffer.indexOf('\n');
    while (nl >= 0) {
      const text = buffer.slice(0, nl);
      buffer = buffer.slice(nl + 1);
      nl = buffer.indexOf('\n');
      let line: LogLine;
      try {
        line = JSON.parse(text) as LogLine;
      } catch {
        continue;
      }
      lines.push(line);
      for (const w of waiters) {
        if (w.match(line)) {
          waiters.delete(w);
          w.resolve(line);
        }
      }
    }
  });
  child.stderr?.setEncoding('utf8').on('data', (d: string) => {
    stderr += d;
  });
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => resolve(code)),
  );
  const waitLine = (what: string, match: (l: LogLine) => boolean, ms = 20_000) => {
    const seen = lines.find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise<LogLine>((resolve, reject) => {
      const w = { match, resolve };
      waiters.add(w);
      const timer = setTimeout(() => {
        waiters.delete(w);
        reject(new Error(`pid ${child.pid}: no log line "${what}" in ${ms} ms; stderr: ${stderr}`));
      }, ms);
      const done = w.resolve;
      w.resolve = (l) => {
        clearTimeout(timer);
        done(l);
      };
    });
  };
  const started = await Promise.race([
    waitLine('cutover listening', (l) => l.msg.startsWith('cutover listening')),
    exited.then((code) => {
      throw new Error(`cutover exited with ${code} before listening: ${stderr}`);
    }),
  ]);
  assert.ok(child.pid);
  const pid = child.pid;
  return {
    pid,
    id: started.instance as string,
    url: started.listen as string,
    adminUrl: started.admin as string,
    lines,
    waitLine,
    exited,
    signal: (sig) => {
      child.kill(sig);
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      return exited;
    },
    async kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}

/** An instance's description for in-process fleet members (tests that drive a FleetMember by hand). */
export const memberInfo = (id: string) => ({
  id,
  host: 'h',
  pid: 1,
  version: '0',
  startedAt: '2026-11-30T00:00:00Z',
});
