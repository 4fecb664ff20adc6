// Two small services for `cutover demo`: a "legacy Java" service and its "Go
// rewrite". They answer the same API from the same deterministic data, except
// for one planted bug the shadow comparison should find: the rewrite's
// GET /api/v1/orders serialises each order's `total` as a string ("19.90")
// where the legacy service sends a number (19.9). Each answer carries noise
// (`meta.requestId`, `meta.servedAt`) that the comparison must learn to ignore.
// They log nothing: the gateway in front of them does.
import { createHash, randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface DemoBackendsOptions {
  /** 9001 by default (examples/demo.yaml); 0 picks a free port. */
  legacyPort?: number;
  /** 9002 by default (examples/demo.yaml); 0 picks a free port. */
  rewritePort?: number;
  host?: '127.0.0.1';
}

export interface DemoBackend {
  /** `http://HOST:PORT` */
  readonly url: string;
  close(): Promise<void>;
}

export interface DemoBackends {
  readonly legacy: DemoBackend;
  readonly rewrite: DemoBackend;
  /** Whether the rewrite is broken (POST /__demo/break): its gRPC side fails too (demo-grpc.ts). */
  rewriteBroken(): boolean;
  close(): Promise<void>;
}

/** The switch POST /__demo/break and /__demo/heal flip. */
interface Breakage {
  broken: boolean;
}

type Flavor = 'legacy' | 'rewrite';

interface Profile {
  readonly servedBy: string;
  /** Simulated processing time of an ordinary endpoint, in ms: [min, max). */
  readonly latency: readonly [number, number];
  /** Processing time of GET /api/v1/slow, in ms. */
  readonly slowMs: number;
  /** Whether order totals are sent as strings (the rewrite's planted bug). */
  readonly totalAsString: boolean;
  /** Whether POST /__demo/break and /__demo/heal exist. */
  readonly breakable: boolean;
}

const PROFILES: Record<Flavor, Profile> = {
  legacy: {
    servedBy: 'legacy-java',
    latency: [20, 40],
    slowMs: 100,
    totalAsString: false,
    breakable: false,
  },
  rewrite: {
    servedBy: 'rewrite-go',
    latency: [3, 8],
    slowMs: 50,
    totalAsString: true,
    breakable: true,
  },
};

/** Largest POST body the demo accepts; orders are small. */
const MAX_BODY_BYTES = 64 * 1024;

const FIRST_NAMES = ['Ada', 'Grace', 'Linus', 'Barbara', 'Ken', 'Margaret', 'Dennis', 'Radia'];
const LAST_NAMES = ['Lovelace', 'Hopper', 'Torvalds', 'Liskov', 'Thompson', 'Hamilton', 'Ritchie'];
const PLANS = ['free', 'pro', 'team', 'enterprise'];
const PRODUCTS = [
  'Mechanical keyboard',
  'USB-C hub',
  'Desk lamp',
  'Standing mat',
  'Webcam',
  'Headset',
];
const ID = /^[A-Za-z0-9_-]{1,64}$/;
/** 2020-01-01T00:00:00Z: every generated date is a whole number of days after it. */
const EPOCH_MS = Date.UTC(2020, 0, 1);

/** A stable unsigned 32-bit number for `text` (and a salt), so data depends only on ids. */
function seed(text: string, salt = ''): number {
  return createHash('sha256').update(`${salt}:${text}`).digest().readUInt32BE(0);
}

function pick<T>(list: readonly T[], n: number): T {
  return list[n % list.length];
}

function userProfile(id: string): Record<string, unknown> {
  const s = seed(id, 'user');
  const first = pick(FIRST_NAMES, s);
  const last = pick(LAST_NAMES, s >>> 8);
  return {
    id,
    name: `${first} ${last}`,
    email: `${first}.${last}.${id}@example.com`.toLowerCase(),
    plan: pick(PLANS, s >>> 16),
    createdAt: new Date(EPOCH_MS + (s % 1500) * 86_400_000).toISOString(),
  };
}

/** Prices are whole cents so that totals never carry float noise. */
function productCents(sku: string): number {
  return 499 + (seed(sku, 'price') % 20_000);
}

function product(sku: string): Record<string, unknown> {
  const s = seed(sku, 'product');
  return {
    sku,
    name: pick(PRODUCTS, s),
    price: productCents(sku) / 100,
    currency: 'EUR',
    stock: s % 250,
  };
}

interface OrderLine {
  sku: string;
  qty: number;
}

function pricedItems(lines: readonly OrderLine[]): { items: unknown[]; cents: number } {
  let cents = 0;
  const items = lines.map(({ sku, qty }) => {
    const unit = productCents(sku);
    cents += unit * qty;
    return { sku, qty, price: unit / 100 };
  });
  return { items, cents };
}

function formatTotal(cents: number, profile: Profile): number | string {
  // The planted bug: Go's encoder was handed a pre-formatted string.
  return profile.totalAsString ? (cents / 100).toFixed(2) : cents / 100;
}

function ordersOf(user: string, profile: Profile): Record<string, unknown> {
  const s = seed(user, 'orders');
  const orders = Array.from({ length: 1 + (s % 4) }, (_, i) => {
    const o = seed(`${user}#${i}`, 'order');
    const lines = Array.from({ length: 1 + (o % 3) }, (_, j) => ({
      sku: `SKU-${1000 + (seed(`${user}#${i}#${j}`, 'sku') % 9000)}`,
      qty: 1 + ((o >>> (8 + j * 4)) % 3),
    }));
    const { items, cents } = pricedItems(lines);
    return {
      id: `ord-${(o % 1_000_000).toString().padStart(6, '0')}`,
      total: formatTotal(cents, profile),
      currency: 'EUR',
      items,
    };
  });
  return { user, orders };
}

/** A new order's id comes from its content, so both services agree on it. */
function createdOrder(body: unknown): Record<string, unknown> | string {
  if (typeof body !== 'object' || body === null) return 'expected a JSON object';
  const { user, items } = body as { user?: unknown; items?: unknown };
  if (typeof user !== 'string' || !ID.test(user)) return 'expected "user": a string id';
  if (!Array.isArray(items) || items.length === 0) return 'expected "items": a non-empty list';
  const lines: OrderLine[] = [];
  for (const item of items as unknown[]) {
    const { sku, qty } = (item ?? {}) as { sku?: unknown; qty?: unknown };
    if (typeof sku !== 'string' || !ID.test(sku) || !Number.isInteger(qty) || (qty as number) < 1) {
      return 'expected each item as { "sku": string, "qty": positive integer }';
    }
    lines.push({ sku, qty: qty as number });
  }
  const { items: priced, cents } = pricedItems(lines);
  const hash = seed(JSON.stringify({ user, lines }), 'new-order');
  return {
    id: `ord-${(hash % 1_000_000).toString().padStart(6, '0')}`,
    user,
    status: 'created',
    // Only the list endpoint carries the bug; created orders agree.
    total: cents / 100,
    currency: 'EUR',
    items: priced,
  };
}

function meta(): Record<string, string> {
  return { requestId: randomUUID(), servedAt: new Date().toISOString() };
}

function sendJson(
  res: ServerResponse,
  profile: Profile,
  status: number,
  body: Record<string, unknown>,
  extra: Record<string, string> = {},
): void {
  const text = JSON.stringify({ ...body, meta: meta() });
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'x-served-by': profile.servedBy,
    ...extra,
  });
  res.end(text);
}

function sendText(res: ServerResponse, profile: Profile, status: number, text: string): void {
  res.writeHead(status, {
    'content-type': 'text/plain; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'x-served-by': profile.servedBy,
  });
  res.end(text);
}

/** Runs `fn` after `ms`, unless the client has gone first. */
function after(res: ServerResponse, ms: number, fn: () => void): void {
  const timer = setTimeout(fn, ms);
  res.once('close', () => clearTimeout(timer));
}

function jitter([min, max]: readonly [number, number]): number {
  return min + Math.random() * (max - min);
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new RangeError('body too large');
    chunks.push(chunk as Buffer);
  }
  return JSON.parse(Buffer.concat(chunks).toString('utf8'));
}

type Answer = { status: number; body: Record<string, unknown>; headers?: Record<string, string> };

const notFound = (): Answer => ({ status: 404, body: { error: 'not found' } });
const notAllowed = (allow: string): Answer => ({
  status: 405,
  body: { error: 'method not allowed' },
  headers: { allow },
});

/** The answer to a GET under /api/v1, or undefined when the path is unknown. */
function apiGet(path: string, query: URLSearchParams, profile: Profile): Answer | undefined {
  const [, a, b, c, d, extra] = path.split('/');
  if (a !== 'api' || b !== 'v1' || extra !== undefined) return undefined;
  if (c === 'user' && d !== undefined) {
    return ID.test(d) ? { status: 200, body: userProfile(d) } : notFound();
  }
  if (c === 'catalog' && d !== undefined) {
    return ID.test(d) ? { status: 200, body: product(d) } : notFound();
  }
  if (c === 'orders' && d === undefined) {
    const user = query.get('user');
    if (user === null || !ID.test(user)) {
      return { status: 400, body: { error: 'expected query parameter user=ID' } };
    }
    return { status: 200, body: ordersOf(user, profile) };
  }
  return undefined;
}

function createHandler(
  profile: Profile,
  breakage: Breakage,
): (req: IncomingMessage, res: ServerResponse) => void {
  const answer = (res: ServerResponse, a: Answer): void =>
    sendJson(res, profile, a.status, a.body, a.headers);

  return (req, res) => {
    const url = new URL(req.url ?? '/', 'http://demo.invalid');
    const path = url.pathname;
    const method = req.method ?? 'GET';

    if (path === '/healthz') {
      req.resume();
      if (method !== 'GET' && method !== 'HEAD') return answer(res, notAllowed('GET, HEAD'));
      return sendText(res, profile, 200, 'ok');
    }
    if (profile.breakable && (path === '/__demo/break' || path === '/__demo/heal')) {
      req.resume();
      if (method !== 'POST') return answer(res, notAllowed('POST'));
      breakage.broken = path === '/__demo/break';
      return answer(res, { status: 200, body: { broken: breakage.broken } });
    }
    if (!path.startsWith('/api/')) {
      req.resume();
      return answer(res, notFound());
    }

    const delay = path === '/api/v1/slow' ? profile.slowMs : jitter(profile.latency);
    const reply = (a: Answer): void =>
      after(res, delay, () =>
        breakage.broken
          ? answer(res, {
              status: 500,
              body: { error: 'simulated failure (POST /__demo/heal to recover)' },
            })
          : answer(res, a),
      );

    if (path === '/api/v1/orders' && method === 'POST') {
      readJson(req).then(
        (body) => {
          const created = createdOrder(body);
          reply(
            typeof created === 'string'
              ? { status: 400, body: { error: created } }
              : {
                  status: 201,
                  body: created,
                  headers: { location: `/api/v1/orders/${created.id}` },
                },
          );
        },
        (err: unknown) =>
          reply(
            err instanceof RangeError
              ? { status: 413, body: { error: `body larger than ${MAX_BODY_BYTES} bytes` } }
              : { status: 400, body: { error: 'expected a JSON body' } },
          ),
      );
      return;
    }
    req.resume();
    if (path === '/api/v1/slow') {
      return method === 'GET'
        ? reply({ status: 200, body: { slow: true } })
        : answer(res, notAllowed('GET'));
    }
    const found = apiGet(path, url.searchParams, profile);
    if (found === undefined) return reply(notFound());
    if (method !== 'GET')
      return answer(res, notAllowed(path === '/api/v1/orders' ? 'GET, POST' : 'GET'));
    reply(found);
  };
}

async function startOne(
  flavor: Flavor,
  port: number,
  host: string,
  breakage: Breakage,
): Promise<DemoBackend> {
  const server: Server = createServer(createHandler(PROFILES[flavor], breakage));
  server.listen(port, host);
  await once(server, 'listening');
  const address = server.address() as AddressInfo;
  let closed: Promise<void> | undefined;
  return {
    url: `http://${host}:${address.port}`,
    close(): Promise<void> {
      closed ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closed;
    },
  };
}

/** Starts the legacy and rewrite demo services; resolves once both listen. */
export async function startDemoBackends(options: DemoBackendsOptions = {}): Promise<DemoBackends> {
  const host = options.host ?? '127.0.0.1';
  const legacy = await startOne('legacy', options.legacyPort ?? 9001, host, { broken: false });
  const breakage: Breakage = { broken: false };
  let rewrite: DemoBackend;
  try {
    rewrite = await startOne('rewrite', options.rewritePort ?? 9002, host, breakage);
  } catch (err) {
    await legacy.close();
    throw err;
  }
  return {
    legacy,
    rewrite,
    rewriteBroken: () => breakage.broken,
    async close(): Promise<void> {
      await Promise.all([legacy.close(), rewrite.close()]);
    },
  };
}
