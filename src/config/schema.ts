// The config file's shape, checked once at load (zod). The field types are in
// fields.ts, the guard blocks (with their defaults) in guard-blocks.ts, every
// other default in defaults.ts; this file only says what a field may hold.
import { isIP } from 'node:net';
import { z } from 'zod';
import {
  duration,
  grpcFailureCode,
  HTTP_METHODS,
  listen,
  mappingBranchError,
  offOr,
  share,
  size,
  stickyKey,
} from './fields.ts';
import { GRPC_METHOD, GRPC_SERVICE, grpcPath } from './grpc-match.ts';
import { GUARD_BLOCKS } from './guard-blocks.ts';
import { MISSING } from './messages.ts';
import { isRedisUrl, parseRedisUrl } from './redis-url.ts';
import { hasAtMostTwoDecimals } from './weight.ts';

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

/** Why a Redis URL is refused, or undefined when it is fine. */
function redisUrlProblem(value: string): string | undefined {
  const target = parseRedisUrl(value);
  return 'error' in target ? target.error : undefined;
}

const redisUrl = z.string().superRefine((value, ctx) => {
  const message = redisUrlProblem(value);
  if (message) ctx.addIssue({ code: 'custom', message });
});

/** A fleet's key prefix: it becomes the `{prefix}` hash tag of its keys, so no braces. */
export const STATE_PREFIX = /^[A-Za-z0-9._:-]{1,64}$/;

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

/** How Cutover speaks to a backend: HTTP/1.1, HTTP/2 over TLS (ALPN), or HTTP/2 with prior knowledge over TCP. */
export const UPSTREAM_PROTOCOLS = ['http1', 'h2', 'h2c'] as const;

/** How Cutover checks an https backend's certificate. */
const backendTlsSchema = z.strictObject({
  ca: z.string().min(1, 'expected the path of a PEM CA certificate (bundle) file').optional(),
  servername: z.string().min(1, 'expected a host name').optional(),
  insecureSkipVerify: z.boolean().optional(),
});

export const backendSchema = z.strictObject({
  url: backendUrl.optional(),
  protocol: z.enum(UPSTREAM_PROTOCOLS).optional(),
  maxConcurrentStreams: z.number().int().min(1).max(10_000).optional(),
  maxStreamsPerSession: z.number().int().min(0).optional(),
  tls: backendTlsSchema.optional(),
  urls: z.array(backendUrl).min(1, 'expected at least one URL').optional(),
  health: GUARD_BLOCKS.health.schema.optional(),
  connectTimeout: duration.optional(),
  connections: z.number().int().min(1).max(10_000).optional(),
  keepAliveTimeout: duration.optional(),
  maxQueued: z.number().int().min(0).optional(),
  queueTimeout: duration.optional(),
  breaker: GUARD_BLOCKS.breaker.schema.optional(),
  outlier: GUARD_BLOCKS.outlier.schema.optional(),
  concurrency: GUARD_BLOCKS.concurrency.schema.optional(),
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

/** The gRPC calls a route takes: one service's (path /service/METHOD), or one method's. */
const grpcMatchSchema = z.strictObject({
  service: z
    .string()
    .regex(GRPC_SERVICE, 'expected a full service name such as shop.v1.Orders (package.Service)'),
  method: z.string().regex(GRPC_METHOD, 'expected a method name such as Get').optional(),
});

const matchSchema = z
  .strictObject({
    host: z.string().min(1).optional(),
    // One of path and grpc (checked below).
    path: z
      .string()
      .refine(
        (p) => p.startsWith('/'),
        'expected a path starting with / (exact /a/b, param /users/:id, prefix /api/*)',
      )
      .optional(),
    grpc: grpcMatchSchema.optional(),
    methods: z.array(z.enum(HTTP_METHODS)).min(1).optional(),
    headers: z.record(z.string(), z.string()).optional(),
  })
  .superRefine((m, ctx) => {
    if (m.grpc === undefined) {
      // path stays the field an HTTP route misses, as before match.grpc existed.
      if (m.path === undefined) ctx.addIssue({ code: 'custom', path: ['path'], message: MISSING });
      return;
    }
    if (m.path !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['grpc'],
        message: `path and grpc cannot be used together: grpc stands for the path ${grpcPath(m.grpc)}; keep one of them`,
      });
    }
    if (m.methods !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['methods'],
        message: 'a gRPC match takes only POST (every gRPC call is one); leave methods out',
      });
    }
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
  fallback: GUARD_BLOCKS.fallback.schema.optional(),
  retry: GUARD_BLOCKS.retry.schema.optional(),
  grpc: z.strictObject({ failureCodes: z.array(grpcFailureCode).optional() }).optional(),
  limit: GUARD_BLOCKS.limit.schema.optional(),
  concurrency: GUARD_BLOCKS.concurrency.schema.optional(),
  shadow: GUARD_BLOCKS.shadow.schema.optional(),
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
  breaker: GUARD_BLOCKS.breaker.schema.optional(),
  outlier: GUARD_BLOCKS.outlier.schema.optional(),
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

/**
 * Limits of the HTTP/2 server side (h2c and TLS listeners). The upper bounds
 * are what the protocol or Node can carry: SETTINGS values are 31-bit for
 * streams (RFC 9113 §5.1.2), nghttp2 refuses a header field over 64 KiB.
 */
const http2Schema = z.strictObject({
  maxConcurrentStreams: z.number().int().min(1).max(2_147_483_647).optional(),
  maxHeaderListBytes: size
    .refine((n) => n >= 1024 && n <= 16 * 1024 * 1024, {
      error: (issue) => `expected a size from 1KiB to 16MiB, got ${JSON.stringify(issue.input)}`,
    })
    .optional(),
  maxSessionMemoryMB: z.number().int().min(1).max(1024).optional(),
  idleTimeout: duration.optional(),
  streamResetBurst: z.number().int().min(1).optional(),
  streamResetRate: z.number().int().min(1).optional(),
});

/** What a listener speaks: HTTP/1.1, HTTP/2 (h2c by prior knowledge on plain TCP, by ALPN with TLS). */
export const LISTENER_PROTOCOLS = ['http1', 'h2'] as const;

const certificatePair = {
  cert: z.string().min(1, 'expected the path of a PEM certificate (chain) file'),
  key: z.string().min(1, 'expected the path of a PEM private key file'),
};

/** A CA bundle: for a listener, the issuers of the client certificates it requires (mutual TLS). */
const caFile = z.string().min(1, 'expected the path of a PEM CA bundle file');

export const tlsSchema = z.strictObject({
  ...certificatePair,
  ca: caFile.optional(),
  sni: z
    .array(
      z.strictObject({
        hosts: z.array(z.string().min(1)).min(1, 'expected at least one host name'),
        ...certificatePair,
      }),
    )
    .optional(),
});

/**
 * The admin listener's TLS: a listener's `tls` without `sni`. The admin API is
 * reached by one name (the CLI and the fleet use its address), so one
 * certificate serves it.
 */
const adminTlsSchema = z.strictObject({ ...certificatePair, ca: caFile.optional() });

const listenerSchema = z.strictObject({
  address: listen,
  tls: tlsSchema.optional(),
  protocols: z
    .array(z.enum(LISTENER_PROTOCOLS))
    .min(1, 'expected at least one of http1, h2')
    .optional(),
});

export const configSchema = z.strictObject({
  /** `host:port` (HTTP/1.1, as always) or a list of listeners. */
  listen: z
    .union([listen, z.array(listenerSchema).min(1, 'expected at least one listener')])
    .optional(),
  admin: z
    .strictObject({
      listen: listen.optional(),
      token: z.string().optional(),
      viewerToken: z.string().optional(),
      workerListen: listen.optional(),
      tls: adminTlsSchema.optional(),
    })
    .optional(),
  state: z
    .union(
      [
        z.string().superRefine((value, ctx) => {
          if (value === 'memory' || value.startsWith('sqlite:')) return;
          const message = isRedisUrl(value)
            ? redisUrlProblem(value)
            : `expected sqlite:PATH, memory or a redis:// URL, got ${JSON.stringify(value)}`;
          if (message) ctx.addIssue({ code: 'custom', message });
        }),
        z.strictObject({
          url: redisUrl,
          prefix: z
            .string()
            .regex(
              STATE_PREFIX,
              'expected 1 to 64 letters, digits, ".", "_", ":" or "-" (no braces: they are the hash tag)',
            )
            .optional(),
          commandTimeout: duration.optional(),
          tokenTimeout: duration.optional(),
        }),
      ],
      { error: mappingBranchError(1) },
    )
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
      http2: http2Schema.optional(),
      workers: z
        .union([z.number().int().min(1), z.literal('auto')], {
          error: (issue) =>
            `expected a whole number ≥ 1 or auto, got ${JSON.stringify(issue.input)}`,
        })
        .optional(),
    })
    .optional(),
  log: z
    .strictObject({
      level: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).optional(),
      access: z.boolean().optional(),
    })
    .optional(),
  tracing: z.strictObject({ enabled: z.boolean().optional() }).optional(),
  report: z
    .strictObject({
      retention: duration
        .refine((ms) => ms >= 60_000, 'expected a retention of at least 1m (one minute of history)')
        .optional(),
      plan: z.string().min(1).optional(),
      incidents: z.string().min(1).optional(),
      // One object with both forms' fields, so a typo is named at its field;
      // which fields go together is checked in normalize.ts (reportInstances).
      instances: z
        .strictObject({
          legacy: z.number().int().min(1, 'expected a whole number above 0').optional(),
          candidate: z.number().int().min(1, 'expected a whole number above 0').optional(),
          prometheus: backendUrl.optional(),
          legacyJob: z.string().min(1).optional(),
          candidateJob: z.string().min(1).optional(),
          timeout: duration.optional(),
        })
        .optional(),
    })
    .optional(),
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
