// The Local fleet (SQLite): the fleet contract with two handles (two
// connections) on one file, then what only the Local fleet does — several
// real processes on one file, the migration of a file from an earlier
// version, and waiting out another process's write lock.
import assert from 'node:assert/strict';
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { LocalFleet } from '../../src/state/index.ts';
import { eventually, fleetContract } from './fleet-contract.ts';

const CHILD = fileURLToPath(new URL('./fixtures/local-fleet-child.ts', import.meta.url));

function tempFile(): { file: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'cutover-local-'));
  return { file: join(dir, 'state.db'), remove: () => rmSync(dir, { recursive: true }) };
}

fleetContract('local', async () => {
  const { file, remove } = tempFile();
  const a = new LocalFleet(file);
  const b = new LocalFleet(file);
  return {
    a,
    b,
    close: async () => {
      await a.close();
      await b.close();
      remove();
    },
  };
});

/** A fleet process (fixtures/local-fleet-child.ts), ready and waiting for `go`. */
class Child {
  readonly #proc: ChildProcessWithoutNullStreams;
  readonly #lines: string[] = [];
  readonly #exit: Promise<number | null>;
  #wake: () => void = () => {};

  constructor(args: string[]) {
    this.#proc = spawn(process.execPath, [CHILD, ...args]);
    let partial = '';
    let stderr = '';
    this.#proc.stdout.setEncoding('utf8').on('data', (d: string) => {
      const parts = (partial + d).split('\n');
      partial = parts.pop() ?? '';
      this.#lines.push(...parts);
      this.#wake();
    });
    this.#proc.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    this.#exit = once(this.#proc, 'exit').then(([code]) => {
      if (code !== 0) throw new Error(`child exited with ${code}: ${stderr}`);
      return code as number;
    });
    // Surfaced by result(); kept from being an unhandled rejection meanwhile.
    this.#exit.catch(() => {});
  }

  /** The next line the child prints. */
  async line(): Promise<string> {
    while (this.#lines.length === 0) {
      const woken = new Promise<void>((resolve) => {
        this.#wake = resolve;
      });
      await Promise.race([woken, this.#exit]);
      if (this.#lines.length === 0 && this.#proc.exitCode !== null)
        throw new Error('child exited without printing a line');
    }
    return this.#lines.shift() as string;
  }

  go(): void {
    this.#proc.stdin.write('go\n');
  }

  async result<T>(): Promise<T> {
    const text = await this.line();
    await this.#exit;
    return JSON.parse(text) as T;
  }

  kill(): void {
    if (this.#proc.exitCode === null) this.#proc.kill();
  }
}

/** Starts children, waits until each has opened the file, then lets them all go at once. */
async function race(argsList: string[][]): Promise<Child[]> {
  const children = argsList.map((args) => new Child(args));
  try {
    for (const c of children) assert.equal(await c.line(), 'ready');
  } catch (err) {
    for (const c of children) c.kill();
    throw err;
  }
  for (const c of children) c.go();
  return children;
}

describe('local fleet: several processes on one file', () => {
  let file: string;
  let remove: () => void;
  let parent: LocalFleet;
  before(() => {
    ({ file, remove } = tempFile());
    parent = new LocalFleet(file);
  });
  after(async () => {
    await parent.close();
    remove();
  });

  it('sees another process’s commit through the hint and the change feed', async () => {
    const from = await parent.version();
    let hinted: () => void = () => {};
    const hint = new Promise<void>((resolve) => {
      hinted = resolve;
    });
    const off = parent.onChange(() => hinted());
    try {
      const [child] = await race([[file, 'set', 'weight', 'orders', '42']]);
      const result = await child.result<{ ok: boolean; version: number }>();
      assert.equal(result.ok, true);
      await hint;
    } finally {
      off();
    }
    const got = await parent.changesSince(from);
    assert.notEqual(got, 'reload');
    if (got === 'reload') return;
    assert.deepEqual(
      got.changes.map((c) => [c.ns, c.key, c.value]),
      [['weight', 'orders', 42]],
    );
    assert.equal(await parent.get('weight', 'orders'), 42);
  });

  it('refuses another process’s write made with a lease epoch it lost', async () => {
    const first = await parent.acquire('fence', 'A', 10_000);
    assert.ok(first);
    await parent.release('fence', 'A', first.epoch);
    const next = await parent.acquire('fence', 'B', 10_000);
    assert.ok(next && next.epoch > first.epoch);
    const [child] = await race([
      [file, 'set', 'weight', 'fenced', '99', 'fence', String(first.epoch)],
    ]);
    assert.deepEqual(await child.result(), { ok: false, reason: 'fenced' });
    assert.equal(await parent.get('weight', 'fenced'), undefined);
    await parent.release('fence', 'B', next.epoch);
  });

  it('gives each lease to exactly one of two processes acquiring it together', async () => {
    const names = Array.from({ length: 40 }, (_, i) => `leader-${i}`);
    const children = await race([
      [file, 'leases', 'P1', ...names],
      [file, 'leases', 'P2', ...names],
    ]);
    const [one, two] = await Promise.all(children.map((c) => c.result<string[]>()));
    assert.deepEqual([...one, ...two].sort(), [...names].sort(), 'each lease has one holder');
    for (const name of names) {
      const holder = (await parent.holder(name))?.holder;
      assert.equal(holder, one.includes(name) ? 'P1' : 'P2');
    }
  });

  it('grants exactly the burst to two processes taking from one bucket together', async () => {
    // rps is so low that less than one token comes back during the test.
    const args = [file, 'tokens', 'shared', '0.001', '300', '500'];
    const children = await race([args, args]);
    const granted = await Promise.all(children.map((c) => c.result<number>()));
    assert.equal(granted[0] + granted[1], 300);
  });
});

describe('local fleet: a state file from an earlier version', () => {
  it('is migrated in place: old keys keep their values at version 1', async () => {
    const { file, remove } = tempFile();
    try {
      // The schema and writes of the earlier SqliteStore, as they were.
      const old = new DatabaseSync(file);
      old.exec('PRAGMA journal_mode = WAL');
      old.exec(`CREATE TABLE IF NOT EXISTS kv (
        namespace TEXT NOT NULL,
        key TEXT NOT NULL,
        value TEXT NOT NULL,
        updated_at INTEGER NOT NULL,
        PRIMARY KEY (namespace, key)
      ) WITHOUT ROWID`);
      const put = old.prepare(
        'INSERT INTO kv (namespace, key, value, updated_at) VALUES (?, ?, ?, ?)',
      );
      put.run('weights', 'orders', '10', Date.now());
      put.run('breakers', 'legacy', '{"state":"open"}', Date.now());
      old.close();

      const fleet = new LocalFleet(file);
      try {
        assert.deepEqual(await fleet.getVersioned('weights', 'orders'), { value: 10, version: 1 });
        assert.deepEqual(await fleet.get('breakers', 'legacy'), { state: 'open' });
        assert.equal(await fleet.version(), 1);
        assert.equal(await fleet.changesSince(0), 'reload', 'old keys are not in the feed');
        assert.deepEqual(await fleet.changesSince(1), { version: 1, changes: [] });
        const ok = await fleet.commit([{ op: 'set', ns: 'weights', key: 'orders', value: 25 }]);
        assert.deepEqual(ok, { ok: true, version: 2, seqs: [] });
      } finally {
        await fleet.close();
      }
      // Opening a migrated file again changes nothing.
      const again = new LocalFleet(file);
      try {
        assert.equal(await again.version(), 2);
        assert.deepEqual([...(await again.list('weights')).entries()], [['orders', 25]]);
      } finally {
        await again.close();
      }
    } finally {
      remove();
    }
  });
});

describe('local fleet: another connection holding the write lock', () => {
  it('waits for the lock to be given back, then commits', async () => {
    const { file, remove } = tempFile();
    const fleet = new LocalFleet(file, { busyBudgetMs: 10_000 });
    const holder = new DatabaseSync(file);
    try {
      holder.exec('BEGIN IMMEDIATE');
      const write = fleet.set('weight', 'late', 7);
      setTimeout(() => holder.exec('COMMIT'), 50);
      await write;
      assert.equal(await fleet.get('weight', 'late'), 7);
    } finally {
      holder.close();
      await fleet.close();
      remove();
    }
  });

  it('fails with CUTOVER_ERR_STATE when the lock is held past the budget', async () => {
    const { file, remove } = tempFile();
    const fleet = new LocalFleet(file, { busyBudgetMs: 30 });
    const holder = new DatabaseSync(file);
    try {
      holder.exec('BEGIN IMMEDIATE');
      await assert.rejects(fleet.takeTokens('k', 10, 10, 1), { code: 'CUTOVER_ERR_STATE' });
      holder.exec('ROLLBACK');
      assert.equal((await fleet.takeTokens('k', 10, 10, 1)).granted, 1);
    } finally {
      holder.close();
      await fleet.close();
      remove();
    }
  });
});

describe('local fleet: the database file itself', () => {
  it('receives the commits from the write-ahead log without a commit paying for it', async () => {
    const { file, remove } = tempFile();
    const fleet = new LocalFleet(file, { checkpointMs: 20 });
    // `immutable` reads the database file alone, as a copy of it would hold
    // it (a backup), ignoring the log.
    const url = pathToFileURL(file);
    url.searchParams.set('immutable', '1');
    const onDisk = () => {
      const db = new DatabaseSync(url, { readOnly: true });
      try {
        const row = db
          .prepare("SELECT value FROM kv WHERE namespace = 'weight' AND key = 'disk'")
          .get() as { value: string } | undefined;
        return row?.value;
      } catch {
        return undefined; // not even the tables are in the file yet
      } finally {
        db.close();
      }
    };
    try {
      // Three commits are far below the 1,000 pages at which a commit would
      // checkpoint by itself: only the checkpointer thread moves them.
      for (const w of [1, 2, 3]) await fleet.set('weight', 'disk', w);
      await eventually(async () => onDisk() === '3');
    } finally {
      await fleet.close();
      remove();
    }
  });
});
