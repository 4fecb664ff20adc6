// The field types the config schema is built from: durations, sizes,
// addresses, sticky keys, ratios and the `false`-or-mapping shape of a guard
// block. Each carries the message a config author reads when a value does
// not fit.
import { z } from 'zod';
import { GRPC_OK, grpcCodeOf } from './grpc-codes.ts';
import { parseDuration, parseListen, parseSize } from './units.ts';

/** Also used for a duration or size of the wrong type (messages.ts), so both read alike. */
export function durationMessage(value: unknown): string {
  return `expected a duration such as 250ms, 5s or 1m, got ${JSON.stringify(value)}`;
}

export function sizeMessage(value: unknown): string {
  return `expected a size such as 512, 64KiB or 10MB, got ${JSON.stringify(value)}`;
}

export const duration = z.union([z.string(), z.number()]).transform((value, ctx) => {
  const ms = typeof value === 'string' ? parseDuration(value) : undefined;
  if (ms === undefined) {
    ctx.addIssue({
      code: 'custom',
      message: durationMessage(value),
    });
    return z.NEVER;
  }
  return ms;
});

export const size = z.union([z.string(), z.number()]).transform((value, ctx) => {
  const bytes =
    typeof value === 'number' ? (Number.isInteger(value) ? value : undefined) : parseSize(value);
  if (bytes === undefined || bytes < 0) {
    ctx.addIssue({
      code: 'custom',
      message: sizeMessage(value),
    });
    return z.NEVER;
  }
  return bytes;
});

export const listen = z.string().transform((value, ctx) => {
  const parsed = parseListen(value);
  if (!parsed) {
    ctx.addIssue({
      code: 'custom',
      message: `expected host:port such as 127.0.0.1:8080, got ${JSON.stringify(value)}`,
    });
    return z.NEVER;
  }
  return parsed;
});

export type KeyPart =
  | { kind: 'header'; name: string }
  | { kind: 'cookie'; name: string }
  | { kind: 'query'; name: string }
  | { kind: 'ip' };

const KEY_PART = /^(header|cookie|query):([A-Za-z0-9!#$%&'*.^_`|~-]+)$/;

/** `header:x-user-id+cookie:sid`, `query:uid`, `ip`; header names are lower-cased. */
export function parseKeySpec(text: string): KeyPart[] | undefined {
  const parts: KeyPart[] = [];
  for (const raw of text.split('+')) {
    const part = raw.trim();
    if (part === 'ip') {
      parts.push({ kind: 'ip' });
      continue;
    }
    const m = KEY_PART.exec(part);
    if (!m) return undefined;
    const kind = m[1] as 'header' | 'cookie' | 'query';
    parts.push({ kind, name: kind === 'header' ? m[2].toLowerCase() : m[2] });
  }
  return parts.length > 0 ? parts : undefined;
}

export const stickyKey = z.string().transform((value, ctx) => {
  const parts = parseKeySpec(value);
  if (!parts) {
    ctx.addIssue({
      code: 'custom',
      message: `expected header:NAME, cookie:NAME, query:NAME or ip (joined with + for a composite key), got ${JSON.stringify(value)}`,
    });
    return z.NEVER;
  }
  return parts;
});

export const HTTP_METHODS = [
  'GET',
  'HEAD',
  'POST',
  'PUT',
  'PATCH',
  'DELETE',
  'OPTIONS',
  'TRACE',
  'CONNECT',
] as const;
export type HttpMethod = (typeof HTTP_METHODS)[number];

const ratioMessage = (issue: { input?: unknown }): string =>
  `expected a ratio from 0 to 1, got ${typeof issue.input === 'number' ? issue.input : JSON.stringify(issue.input)}`;

export const ratio = z
  .number({ error: ratioMessage })
  .min(0, { error: ratioMessage })
  .max(1, { error: ratioMessage });

/** `on[0]`, `window`: where inside a guard block a problem is. */
function innerPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else out += out === '' ? String(seg) : `.${String(seg)}`;
  }
  return out;
}

/**
 * The error of a union with a mapping branch (at `index`): zod reports a
 * mapping with a wrong-typed field as a failed union ("a mapping is not
 * allowed here") at the union; this names each bad field and what it
 * expected instead. Other inputs keep the loader's `expected … or a mapping`.
 */
export function mappingBranchError(index: number) {
  return (issue: z.core.$ZodRawIssue): string | undefined => {
    if (issue.code !== 'invalid_union') return undefined;
    const input = issue.input;
    if (input === null || typeof input !== 'object' || Array.isArray(input)) return undefined;
    const inner = issue.errors[index] ?? [];
    if (inner.length === 0) return undefined;
    return inner
      .flatMap((i) =>
        i.code === 'unrecognized_keys'
          ? i.keys.map((key) => `unknown field "${key}"`)
          : [`${innerPath(i.path)}: ${i.message}`],
      )
      .join('; ');
  };
}

/** A guard block: `false`, or a mapping of its settings. */
export function offOr<T extends z.core.$ZodType>(block: T) {
  return z.union([z.literal(false), block], { error: mappingBranchError(1) });
}

const percentMessage = (value: unknown): string =>
  `expected a ratio from 0 to 1 or a percentage such as 0.3%, got ${JSON.stringify(value)}`;

/** A share as a ratio (0.003) or a percentage string ("0.3%"); the result is a ratio. */
export const share = z.union([z.number(), z.string()]).transform((value, ctx) => {
  let r: number | undefined;
  if (typeof value === 'number') r = value;
  else {
    const m = /^\s*(\d+(?:\.\d+)?)\s*%\s*$/.exec(value);
    if (m) r = Number(m[1]) / 100;
  }
  if (r === undefined || !Number.isFinite(r) || r < 0 || r > 1) {
    ctx.addIssue({ code: 'custom', message: percentMessage(value) });
    return z.NEVER;
  }
  return r;
});

/**
 * A gRPC status that counts as a failure: a name such as UNAVAILABLE (any
 * case) or its code, 1–16; the result is the code. OK is refused: a call
 * that succeeded cannot be failed by configuration.
 */
export const grpcFailureCode = z.union([z.string(), z.number()]).transform((value, ctx) => {
  const code = grpcCodeOf(value);
  if (code === undefined || code === GRPC_OK) {
    ctx.addIssue({
      code: 'custom',
      message: `expected a gRPC status name such as UNAVAILABLE or DEADLINE_EXCEEDED, or a code from 1 to 16 (OK is never a failure), got ${JSON.stringify(value)}`,
    });
    return z.NEVER;
  }
  return code;
});
