// Hot reload against a real file in a temp directory: edits in place, saves by
// rename, a file briefly gone, invalid edits, and SIGHUP.
import assert from 'node:assert/strict';
import { mkdtemp, rename, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { type Config, type ConfigWatcher, watchConfig } from '../../src/config/index.ts';
import { ConfigError, ConfigFileError, formatConfigIssue } from '../../src/errors.ts';

type Event = { kind: 'config'; config: Config } | { kind: 'error'; error: Error };

/** Collects the watcher's callbacks so a test can await them one by one. */
class Events {
  readonly #queue: Event[] = [];
  readonly #waiters: ((e: Event) => void)[] = [];
  readonly #signal: AbortSignal;
  constructor(signal: AbortSignal) {
    this.#signal = signal;
  }
  push(e: Event): void {
    const waiter = this.#waiters.shift();
    if (waiter) waiter(e);
    else this.#queue.push(e);
  }
  /** The next callback; rejects when the test times out, so the watcher is still closed. */
  next(): Promise<Event> {
    const queued = this.#queue.shift();
    if (queued) return Promise.resolve(queued);
    return new Promise((resolve, reject) => {
      this.#signal.throwIfAborted();
      this.#signal.addEventListener('abort', () => reject(this.#signal.reason), { once: true });
      this.#waiters.push(resolve);
    });
  }
  get pending(): number {
    return this.#queue.length;
  }
}

/** Counts the watcher's "looked, and nothing changed" reports; a test awaits the next one. */
class Unchanged {
  #count = 0;
  #waiters: { after: number; resolve: () => void }[] = [];
  readonly #signal: AbortSignal;
  constructor(signal: AbortSignal) {
    this.#signal = signal;
  }
  get count(): number {
    return this.#count;
  }
  report(): void {
    this.#count++;
    this.#waiters = this.#waiters.filter((w) => {
      if (this.#count <= w.after) return true;
      w.resolve();
      return false;
    });
  }
  /** Resolves once a report beyond `after` has come. */
  after(after: number): Promise<void> {
    if (this.#count > after) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.#signal.throwIfAborted();
      this.#signal.addEventListener('abort', () => reject(this.#signal.reason), { once: true });
      this.#waiters.push({ after, resolve });
    });
  }
}

function configText(weight: number, extra = ''): string {
  return `backends:
  legacy: { url: "http://127.0.0.1:9001" }
  rewrite: { url: "http://127.0.0.1:9002" }
routes:
  - name: users
    match: { path: /users/* }
    legacy: legacy
    candidate: rewrite
    weight: ${weight}
${extra}`;
}

async function withWatchedFile(
  t: TestContext,
  body: (
    file: string,
    events: Events,
    watcher: ConfigWatcher,
    unchanged: Unchanged,
  ) => Promise<void>,
): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'cutover-watch-'));
  const file = join(dir, 'cutover.yaml');
  await writeFile(file, configText(5));
  const events = new Events(t.signal);
  const unchanged = new Unchanged(t.signal);
  const watcher = watchConfig(
    file,
    (config) => events.push({ kind: 'config', config }),
    (error) => events.push({ kind: 'error', error }),
    process.env,
    { onUnchanged: () => unchanged.report() },
  );
  try {
    await body(file, events, watcher, unchanged);
  } finally {
    watcher.close();
    await rm(dir, { recursive: true, force: true });
  }
}

function weightOf(e: Event): number {
  assert.equal(e.kind, 'config', e.kind === 'error' ? e.error.message : '');
  return (e as { config: Config }).config.routes[0].weight;
}

const LIMIT = { timeout: 20_000 };

test(
  'edits in place and saves by rename are loaded; invalid edits are reported',
  LIMIT,
  async (t) => {
    await withWatchedFile(t, async (file, events, _watcher, unchanged) => {
      await writeFile(file, configText(20));
      assert.equal(weightOf(await events.next()), 20);

      // How many editors save: write a new file beside it, rename it over the old one.
      await writeFile(`${file}.tmp`, configText(30));
      await rename(`${file}.tmp`, file);
      assert.equal(weightOf(await events.next()), 30);

      await writeFile(file, configText(250));
      const bad = await events.next();
      assert.equal(bad.kind, 'error');
      const error = (bad as { error: Error }).error;
      assert.ok(error instanceof ConfigError);
      assert.deepEqual(error.issues.map(formatConfigIssue), [
        `${file}:9:13 routes[0].weight: expected a number from 0 to 100, got 250`,
      ]);

      // Saving the same invalid content again is not a new load (no second
      // error): the watcher says it looked and found it unchanged …
      const seen = unchanged.count;
      await writeFile(file, configText(250));
      await unchanged.after(seen);
      // … and the next valid edit is.
      await writeFile(file, configText(40));
      assert.equal(weightOf(await events.next()), 40);
      assert.equal(events.pending, 0);
    });
  },
);

test('saving the content already loaded is looked at, and nothing is loaded', LIMIT, async (t) => {
  await withWatchedFile(t, async (file, events, _watcher, unchanged) => {
    const seen = unchanged.count;
    await writeFile(file, configText(5));
    await unchanged.after(seen);
    assert.equal(events.pending, 0, 'no load and no error for the same content');
    await writeFile(file, configText(6));
    assert.equal(weightOf(await events.next()), 6);
  });
});

test(
  'SIGHUP reloads even when the file is unchanged, reading the environment again',
  LIMIT,
  async (t) => {
    const name = 'CUTOVER_WATCH_TEST_TOKEN';
    await withWatchedFile(t, async (file, events) => {
      process.env[name] = 'first';
      await writeFile(file, configText(5, `admin: { token: "\${${name}}" }\n`));
      assert.equal((await events.next()).kind, 'config');

      process.env[name] = 'second';
      assert.ok(process.listenerCount('SIGHUP') > 0, 'a SIGHUP listener must be installed');
      process.kill(process.pid, 'SIGHUP');
      const e = await events.next();
      assert.equal(e.kind, 'config');
      assert.equal((e as { config: Config }).config.admin.token, 'second');
    });
    delete process.env[name];
  },
);

test('a file that is briefly absent is loaded when it comes back', LIMIT, async (t) => {
  await withWatchedFile(t, async (file, events) => {
    await unlink(file);
    await writeFile(file, configText(60));
    assert.equal(weightOf(await events.next()), 60);
  });
});

test('a file that stays absent is reported once, and loaded when it returns', LIMIT, async (t) => {
  await withWatchedFile(t, async (file, events) => {
    await unlink(file);
    const e = await events.next();
    assert.equal(e.kind, 'error');
    assert.ok((e as { error: Error }).error instanceof ConfigFileError);
    await writeFile(file, configText(70));
    assert.equal(weightOf(await events.next()), 70);
  });
});

test('close() removes the SIGHUP listener', LIMIT, async (t) => {
  const before = process.listenerCount('SIGHUP');
  await withWatchedFile(t, async (_file, _events, watcher) => {
    assert.equal(process.listenerCount('SIGHUP'), before + 1);
    watcher.close();
    assert.equal(process.listenerCount('SIGHUP'), before);
  });
});
