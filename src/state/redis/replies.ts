// Turning the scripts' replies back into the fleet interface's shapes (and
// the ops into script arguments). Kept apart from fleet.ts so the wire format
// of scripts-store.ts and scripts-fleet.ts is read in one place.
import type {
  Change,
  ChangesSince,
  CommitGuard,
  CommitResult,
  FigureSlot,
  FleetOp,
  InstanceInfo,
  InstanceSeen,
  LeaseHold,
  TokenGrant,
  Versioned,
} from '../fleet.ts';
import { FEED_KEEP } from '../rules.ts';

/** JSON text of a value; `undefined` is stored as null (JSON has no undefined). */
export function jsonText(value: unknown): string {
  return JSON.stringify(value) ?? 'null';
}

/** `<number>:<json>` → its two parts. */
function split(text: string): { n: number; json: string } {
  const colon = text.indexOf(':');
  return { n: Number(text.slice(0, colon)), json: text.slice(colon + 1) };
}

export function versioned<T>(stored: string): Versioned<T> {
  const { n, json } = split(stored);
  return { value: JSON.parse(json) as T, version: n };
}

/** COMMIT's ARGV (see its comment in scripts-store.ts). */
export function commitArgs(ops: readonly FleetOp[], guard: CommitGuard): (string | number)[] {
  const args: (string | number)[] = [FEED_KEEP];
  args.push(guard.lease?.name ?? '', guard.lease?.epoch ?? 0);
  const expect = guard.expect ?? [];
  args.push(expect.length);
  for (const e of expect) args.push(e.ns, e.key, e.version);
  args.push(ops.length);
  for (const op of ops) {
    if (op.op === 'set') args.push('set', op.ns, op.key, jsonText(op.value));
    else if (op.op === 'delete') args.push('delete', op.ns, op.key, '');
    else args.push('append', op.ns, op.keep, jsonText(op.value));
  }
  return args;
}

export function commitResult(reply: unknown): CommitResult {
  const r = reply as [number, number | string, ...number[]];
  if (r[0] === 0) return { ok: false, reason: r[1] as 'fenced' | 'conflict' };
  return { ok: true, version: Number(r[1]), seqs: r.slice(2).map(Number) };
}

/** CHANGES's reply: 'reload', or the feed members after the version asked. */
export function changesSince(reply: unknown): ChangesSince | 'reload' {
  const [head, ...members] = reply as [number | string, ...string[]];
  if (head === 'reload') return 'reload';
  const entries = members.map((m) => {
    const [v, index, ns, key, text] = JSON.parse(m) as [
      string,
      number,
      string,
      string,
      string | false,
    ];
    return { version: Number(v), index, ns, key, text };
  });
  const byOrder = (a: { version: number; index: number }, b: { version: number; index: number }) =>
    a.version - b.version || a.index - b.index;
  entries.sort(byOrder);
  // Only the last write of each key, placed where that write happened.
  const last = new Map<string, (typeof entries)[number]>();
  for (const e of entries) {
    const id = `${e.ns}\u0000${e.key}`;
    last.delete(id);
    last.set(id, e);
  }
  const changes: Change[] = [...last.values()].map((e) => ({
    version: e.version,
    ns: e.ns,
    key: e.key,
    value: e.text === false ? undefined : JSON.parse(e.text),
  }));
  return { version: Number(head), changes };
}

export function logEntries<T>(members: readonly string[]): { seq: number; value: T }[] {
  return members.map((m) => {
    const { n, json } = split(m);
    return { seq: n, value: JSON.parse(json) as T };
  });
}

/** A Lua `false`: a null in RESP2, a boolean in RESP3. */
function none(reply: unknown): boolean {
  return reply === null || reply === false;
}

export function leaseHold(name: string, holder: string, reply: unknown): LeaseHold | undefined {
  if (none(reply)) return undefined;
  const [epoch, expiresAt] = reply as [number, number];
  return { name, holder, epoch: Number(epoch), expiresAt: Number(expiresAt) };
}

export function leaseHolder(name: string, reply: unknown): LeaseHold | undefined {
  if (none(reply)) return undefined;
  const [holder, epoch, expiresAt] = reply as [string, number, number];
  return { name, holder, epoch: Number(epoch), expiresAt: Number(expiresAt) };
}

/** INSTANCES's flat (id, "<lastSeen ms>:<info JSON>") list, oldest start first. */
export function instances(reply: unknown): InstanceSeen[] {
  const flat = reply as string[];
  const out: InstanceSeen[] = [];
  for (let i = 0; i < flat.length; i += 2) {
    const { n, json } = split(flat[i + 1]);
    out.push({ ...(JSON.parse(json) as InstanceInfo), lastSeen: new Date(n).toISOString() });
  }
  return out.sort((a, b) => a.startedAt.localeCompare(b.startedAt) || a.id.localeCompare(b.id));
}

/** READ_FIGURES's flat (second, instance, payload) list. */
export function figures(reply: unknown): FigureSlot[] {
  const flat = reply as string[];
  const out: FigureSlot[] = [];
  for (let i = 0; i < flat.length; i += 3)
    out.push({ second: Number(flat[i]), instance: flat[i + 1], payload: flat[i + 2] });
  return out.sort((a, b) => a.second - b.second || a.instance.localeCompare(b.instance));
}

export function tokenGrant(reply: unknown): TokenGrant {
  const [granted, remaining, fullInMs, nextInMs] = (reply as number[]).map(Number);
  return { granted, remaining, fullInMs, nextInMs };
}
