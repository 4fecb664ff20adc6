// The config file's shape, checked once at load (zod). Every default lives in
// defaults.ts; this file only says what a field may hold.
import { isIP } from 'node:net';
import { z } from 'zod';
import { parseDuration, parseListen, parseSize } from './units.ts';
import { hasAtMostTwoDecimals } from './weight.ts';

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

const overrideHeader = z.union([z.boolean(), z.string()]).transform((value, ctx) => {
  if (value === false) return false as const;
  const m = typeof value === 'string' ? /^header:([A-Za-z0-9!#$%&'*.^_`|~-]+)$/.exec(value) : null;
  if (!m) {
    ctx.addIssue({
      code: 'custom',
      message: `expected header:NAME or false, got ${JSON.stringify(value)}`,
    });
    return z.NEVER;
  }
  return m[1].toLowerCase();
});

const HTTP_METHODS = [
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

const backendUrl = z.string().transform((value, ctx) => {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    ctx.addIssue({
      code: 'custom',
      message: `expected an http:// or https:// URL, got ${JSON.stringify(value)}`,
    });
    return z.NEVER;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    ctx.addIssue({
      code: 'custom',
      message: `expected an http:// or https:// URL, got ${JSON.stringify(value)}`,
    });
    return z.NEVER;
  }
  if (url.search || url.hash || url.username) {
    ctx.addIssue({
      code: 'custom',
      message: `a backend URL may not carry a query, fragment or credentials, got ${JSON.stringify(value)}`,
    });
    return z.NEVER;
  }
  return url.href;
});

const ratioMessage = (issue: { input?: unknown }): string =>
  `expected a ratio from 0 to 1, got ${typeof issue.input === 'number' ? issue.input : JSON.stringify(issue.input)}`;

const ratio = z
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
 * A guard block: `false`, or a mapping of its settings. zod reports a mapping
 * with a wrong-typed field as a failed union ("a mapping is not allowed here")
 * at the block; this names each bad field and what it expected instead. Other
 * inputs (`true`, a string) keep the loader's `expected false or a mapping`.
 */
function offOr<T extends z.core.$ZodType>(block: T) {
  return z.union([z.literal(false), block], {
    error: (issue) => {
      if (issue.code !== 'invalid_union') return undefined;
      const input = issue.input;
      if (input === null || typeof input !== 'object' || Array.isArray(input)) return undefined;
      const inner = issue.errors[1] ?? [];
      if (inner.length === 0) return undefined;
      return inner
        .flatMap((i) =>
          i.code === 'unrecognized_keys'
            ? i.keys.map((key) => `unknown field "${key}"`)
            : [`${innerPath(i.path)}: ${i.message}`],
        )
        .join('; ');
    },
  });
}

export const breakerSchema = offOr(
  z.strictObject({
    errorRatio: ratio.optional(),
    slowCall: duration.optional(),
    slowRatio: ratio.optional(),
    minRequests: z.number().int().min(1).optional(),
    window: duration.optional(),
    openFor: duration.optional(),
    probes: z.number().int().min(1).max(100).optional(),
  }),
);

export const outlierSchema = offOr(
  z.strictObject({
    consecutiveErrors: z.number().int().min(1).optional(),
    ejectFor: duration.optional(),
    maxEjectFor: duration.optional(),
    maxEjectedPercent: z.number().min(0).max(100).optional(),
  }),
);

export const FALLBACK_REASONS = ['connect', 'timeout', 'reset', '5xx'] as const;

export const fallbackSchema = offOr(
  z.strictObject({
    on: z.array(z.enum(FALLBACK_REASONS)).optional(),
    methods: z.array(z.enum(HTTP_METHODS)).optional(),
    maxBodyBytes: size.optional(),
  }),
);

export const retrySchema = offOr(
  z.strictObject({
    attempts: z.number().int().min(1).max(10).optional(),
    budget: ratio.optional(),
    minConcurrent: z.number().int().min(0).optional(),
    backoff: duration.optional(),
    maxBackoff: duration.optional(),
  }),
);

export const limitSchema = offOr(
  z.strictObject({
    rps: z
      .number()
      .positive({ error: (issue) => `expected a rate above 0, got ${String(issue.input)}` })
      .optional(),
    burst: z.number().int().min(1).optional(),
    key: stickyKey.optional(),
    maxKeys: z.number().int().min(1).optional(),
  }),
);

export const concurrencySchema = offOr(
  z.strictObject({
    max: z.number().int().min(1).optional(),
    adaptive: z.boolean().optional(),
    minLimit: z.number().int().min(1).optional(),
    tolerance: z.number().min(1).optional(),
  }),
);

export const compareRulesSchema = z.strictObject({
  headers: z.array(z.string().min(1)).optional(),
  ignoreContentTypes: z.array(z.string().min(1)).optional(),
  ignore: z.array(z.string().min(1)).optional(),
  nullEqualsMissing: z.boolean().optional(),
  unordered: z.record(z.string(), z.union([z.string(), z.boolean(), z.null()])).optional(),
  timestamps: z.array(z.string().min(1)).optional(),
  floatPlaces: z.number().int().min(0).max(15).optional(),
});

export const shadowSchema = z.union([
  z.literal(false),
  z.strictObject({
    percent: z
      .number()
      .min(0, 'expected a percentage from 0 to 100')
      .max(100, 'expected a percentage from 0 to 100')
      .optional(),
    writes: z.boolean().optional(),
    maxBodyBytes: size.optional(),
    maxInFlight: z.number().int().min(1).optional(),
    samples: z.number().int().min(0).max(1000).optional(),
    learnNoise: z
      .union([
        z.boolean(),
        z.strictObject({
          sample: z.number().gt(0, 'expected a share above 0').max(1).optional(),
          first: z.number().int().min(0).max(100_000).optional(),
        }),
      ])
      .optional(),
    compare: compareRulesSchema.optional(),
    redact: z
      .strictObject({
        paths: z.array(z.string().min(1)).optional(),
        headers: z.array(z.string().min(1)).optional(),
      })
      .optional(),
  }),
]);

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

const webhookSchema = z.strictObject({
  url: z.string().refine((u) => /^https?:\/\/[^/]/.test(u), {
    error: (issue) => `expected an http:// or https:// URL, got ${JSON.stringify(issue.input)}`,
  }),
  kind: z.enum(['event', 'confirm']).optional(),
  timeout: duration.optional(),
  retries: z.number().int().min(0).max(10).optional(),
  headers: z.record(z.string(), z.string()).optional(),
});

const prometheusGateSchema = z.strictObject({
  name: z.string().regex(/^[A-Za-z][A-Za-z0-9_-]*$/, 'expected a name of letters, digits, _ and -'),
  query: z.string().min(1),
  max: z.number().optional(),
  min: z.number().optional(),
});

const gatesSchema = z.strictObject({
  errorRate: z.union([z.literal(false), share]).optional(),
  p95: z.union([z.literal(false), duration]).optional(),
  baseline: offOr(
    z.strictObject({
      errorRate: share.optional(),
      p99: share.optional(),
      errorRateFloor: share.optional(),
      p99Floor: duration.optional(),
    }),
  ).optional(),
  mismatchRate: z.union([z.literal(false), share]).optional(),
  prometheus: z.array(prometheusGateSchema).optional(),
});

const stepsMessage =
  'expected weights above 0 and at most 100, in increasing order, such as [1, 5, 25, 50, 100]';

export const rolloutSchema = z.strictObject({
  autoStart: z.boolean().optional(),
  steps: z
    .array(z.number({ error: stepsMessage }))
    .min(1, stepsMessage)
    .refine(
      (s) =>
        s.every(
          (w, i) => w > 0 && w <= 100 && hasAtMostTwoDecimals(w) && (i === 0 || w > s[i - 1]),
        ),
      { error: (issue) => `${stepsMessage}, got ${JSON.stringify(issue.input)}` },
    )
    .optional(),
  interval: duration.optional(),
  shadowFor: duration.optional(),
  minRequests: z.number().int().min(1).optional(),
  window: duration.optional(),
  failureLimit: z.number().int().min(1).optional(),
  onSuccess: z.enum(['done', 'pause']).optional(),
  gates: gatesSchema.optional(),
  webhooks: z.array(webhookSchema).optional(),
});

const healthSchema = z.strictObject({
  path: z.string().startsWith('/', 'expected a path starting with /').optional(),
  interval: duration.optional(),
  timeout: duration.optional(),
  healthy: z.number().int().min(1).optional(),
  unhealthy: z.number().int().min(1).optional(),
});

export const backendSchema = z.strictObject({
  url: backendUrl.optional(),
  urls: z.array(backendUrl).min(1, 'expected at least one URL').optional(),
  health: healthSchema.optional(),
  connectTimeout: duration.optional(),
  connections: z.number().int().min(1).max(10_000).optional(),
  keepAliveTimeout: duration.optional(),
  maxQueued: z.number().int().min(0).optional(),
  queueTimeout: duration.optional(),
  breaker: breakerSchema.optional(),
  outlier: outlierSchema.optional(),
  concurrency: concurrencySchema.optional(),
});

const splitSchema = z.strictObject({
  stickyKey: stickyKey.optional(),
  override: overrideHeader.optional(),
  overrideValues: z
    .strictObject({
      candidate: z.string().min(1).optional(),
      legacy: z.string().min(1).optional(),
    })
    .optional(),
});

const weightRange = (issue: { input?: unknown }): string =>
  `expected a number from 0 to 100, got ${typeof issue.input === 'number' ? issue.input : JSON.stringify(issue.input)}`;

const weight = z
  .number({ error: weightRange })
  .min(0, { error: weightRange })
  .max(100, { error: weightRange })
  .refine(hasAtMostTwoDecimals, {
    error: (issue) => `expected at most two decimals, got ${String(issue.input)}`,
  });

const matchSchema = z.strictObject({
  host: z.string().min(1).optional(),
  path: z
    .string()
    .refine(
      (p) => p.startsWith('/'),
      'expected a path starting with / (exact /a/b, param /users/:id, prefix /api/*)',
    ),
  methods: z.array(z.enum(HTTP_METHODS)).min(1).optional(),
  headers: z.record(z.string(), z.string()).optional(),
});

const UPGRADE_TOKEN = /^[A-Za-z0-9!#$%&'*+.^_`|~-]+(?:\/[A-Za-z0-9!#$%&'*+.^_`|~-]+)?$/;

/**
 * A protocol an Upgrade request may switch to (RFC 9110 §7.8: name["/"version]).
 * Not h2c: after its 101 the client speaks HTTP/2 straight to the backend, so
 * every later request on that connection would skip routes and guards
 * ("h2c smuggling", Bishop Fox 2020).
 */
const upgradeProtocol = z
  .string()
  .regex(UPGRADE_TOKEN, 'expected a protocol name such as websocket')
  .refine((p) => p.toLowerCase() !== 'h2c', {
    error:
      'h2c cannot be tunnelled: after the switch the client would send HTTP/2 requests straight to the backend, past routes and guards',
  });

/** Fields a route may set that otherwise come from `defaults`. */
const routeTunables = {
  timeout: duration.optional(),
  idleTimeout: duration.optional(),
  maxBodyBytes: size.optional(),
  preserveHost: z.boolean().optional(),
  backendHeader: z.boolean().optional(),
  upgrades: z.array(upgradeProtocol).optional(),
  tunnelIdleTimeout: duration.optional(),
  fallback: fallbackSchema.optional(),
  retry: retrySchema.optional(),
  limit: limitSchema.optional(),
  concurrency: concurrencySchema.optional(),
  shadow: shadowSchema.optional(),
};

export const routeSchema = z.strictObject({
  name: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'expected a name of letters, digits, ., _ and -'),
  match: matchSchema,
  legacy: z.string().min(1),
  candidate: z.string().min(1).optional(),
  split: splitSchema.optional(),
  weight: weight.optional(),
  rollout: rolloutSchema.optional(),
  ...routeTunables,
});

const defaultsSchema = z.strictObject({
  ...routeTunables,
  connectTimeout: duration.optional(),
  split: splitSchema.optional(),
  breaker: breakerSchema.optional(),
  outlier: outlierSchema.optional(),
});

/** `10.0.0.1`, `10.0.0.0/8`, `::1`, `fd00::/8`: an address or a CIDR block. */
const trustedProxy = z.string().refine(
  (text) => {
    const slash = text.indexOf('/');
    const address = slash === -1 ? text : text.slice(0, slash);
    const family = isIP(address);
    if (family === 0) return false;
    if (slash === -1) return true;
    const bits = text.slice(slash + 1);
    return /^\d{1,3}$/.test(bits) && Number(bits) <= (family === 4 ? 32 : 128);
  },
  { error: (issue) => `expected an IP address or CIDR block, got ${JSON.stringify(issue.input)}` },
);

export const configSchema = z.strictObject({
  listen: listen.optional(),
  admin: z
    .strictObject({
      listen: listen.optional(),
      token: z.string().optional(),
    })
    .optional(),
  state: z
    .string()
    .refine((s) => s.startsWith('sqlite:') || s === 'memory', {
      error: (issue) => `expected sqlite:PATH or memory, got ${JSON.stringify(issue.input)}`,
    })
    .optional(),
  server: z
    .strictObject({
      maxHeaderBytes: size.optional(),
      shutdownGrace: duration.optional(),
      keepAliveTimeout: duration.optional(),
      requestTimeout: duration.optional(),
      escapedSlashes: z.enum(['reject', 'keep']).optional(),
      trustedProxies: z.array(trustedProxy).optional(),
      headersTimeout: duration.optional(),
      maxConnections: z.number().int().min(1).optional(),
      requestBuffer: size.optional(),
      responseBuffer: size.optional(),
      bufferMemory: size.optional(),
      clientBodyTimeout: duration.optional(),
      sendTimeout: duration.optional(),
      shadowMemory: size.optional(),
    })
    .optional(),
  log: z
    .strictObject({
      level: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).optional(),
      access: z.boolean().optional(),
    })
    .optional(),
  tracing: z.strictObject({ enabled: z.boolean().optional() }).optional(),
  backends: z.record(
    z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'expected a name of letters, digits, ., _ and -'),
    backendSchema,
  ),
  defaults: defaultsSchema.optional(),
  rollouts: z
    .strictObject({
      checkEvery: duration.optional(),
      webhooks: z.array(webhookSchema).optional(),
      prometheus: z
        .strictObject({
          url: backendUrl,
          timeout: duration.optional(),
        })
        .optional(),
    })
    .optional(),
  routes: z.array(routeSchema),
});

export type RawConfig = z.output<typeof configSchema>;
export type HttpMethod = (typeof HTTP_METHODS)[number];
export { HTTP_METHODS };
