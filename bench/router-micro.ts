// Router and split in isolation: N find() calls over a table of ROUTES routes
// (exact, param, prefix and method-constrained, a quarter each), then the
// split's sticky hash and side choice. Prints ns/op per case, best and median
// of ROUNDS rounds.
// N=1000000 ROUTES=1000 ROUNDS=5 node bench/router-micro.ts
import type { IncomingHttpHeaders } from 'node:http';
import type { RouteMatch, SplitConfig } from '../src/config/index.ts';
import { Router } from '../src/gateway/router.ts';
import { chooseSide, type SplitInput, stickyBucket } from '../src/gateway/split.ts';

const N = Number(process.env.N ?? 1_000_000);
const ROUTES = Number(process.env.ROUTES ?? 1_000);
const ROUNDS = Number(process.env.ROUNDS ?? 5);

interface BenchRoute {
  readonly name: string;
  readonly match: RouteMatch;
}

function route(name: string, path: string, methods?: RouteMatch['methods']): BenchRoute {
  return { name, match: { path, host: undefined, methods, headers: undefined } };
}

const routes: BenchRoute[] = [];
for (let i = 0; routes.length < ROUTES; i++) {
  routes.push(route(`exact-${i}`, `/api/v1/svc${i}/items`));
  routes.push(route(`param-${i}`, `/api/v1/svc${i}/items/:id`));
  routes.push(route(`prefix-${i}`, `/api/v1/svc${i}/*`));
  routes.push(route(`write-${i}`, `/api/v1/svc${i}/orders/:id`, ['POST', 'PUT']));
}
routes.length = ROUTES;
const router = new Router(routes);
const groups = Math.ceil(ROUTES / 4);

// A fixed mix of requests, one per kind per group, walked round robin.
const paths: string[] = [];
const methods: string[] = [];
for (let i = 0; i < 1_024; i++) {
  const g = (i * 7919) % groups;
  const kind = i % 4;
  paths.push(
    kind === 0
      ? `/api/v1/svc${g}/items`
      : kind === 1
        ? `/api/v1/svc${g}/items/${i}`
        : kind === 2
          ? `/api/v1/svc${g}/other/deep/path`
          : `/api/v1/svc${g}/orders/${i}`,
  );
  methods.push(kind === 3 ? 'POST' : 'GET');
}
const headers: IncomingHttpHeaders = { host: 'example.test', 'user-agent': 'bench' };

/** Best and median of ROUNDS timed rounds: the best is the least disturbed by other work. */
function time(label: string, run: (i: number) => unknown): void {
  for (let i = 0; i < 100_000; i++) run(i); // warm up the JIT
  const perOp: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    let sink = 0;
    const start = process.hrtime.bigint();
    for (let i = 0; i < N; i++) if (run(i) !== undefined) sink++;
    perOp.push(Number(process.hrtime.bigint() - start) / N);
    if (sink === 0) throw new Error(`${label}: nothing matched`);
  }
  perOp.sort((a, b) => a - b);
  const best = perOp[0].toFixed(1).padStart(7);
  const median = perOp[Math.floor(perOp.length / 2)].toFixed(1).padStart(7);
  console.log(`${label.padEnd(48)} best ${best} ns/op   median ${median} ns/op`);
}

console.log(`node ${process.version}, ${ROUNDS} rounds of ${N} ops, ${ROUTES} routes`);
time('router.find (mixed: exact/param/prefix/method)', (i) =>
  router.find(methods[i & 1023], 'example.test', paths[i & 1023], headers),
);
time('router.find (exact, no params)', (i) =>
  router.find('GET', 'example.test', paths[(i & 255) * 4], headers),
);
time('router.find (miss)', (i) =>
  router.find('GET', 'example.test', '/nope/x', headers) === undefined ? i : undefined,
);

const users: string[] = [];
for (let i = 0; i < 1_024; i++) users.push(`user-${i}`);
time('stickyBucket', (i) => stickyBucket(users[i & 1023]));
const split: SplitConfig = {
  stickyKey: [{ kind: 'header', name: 'x-user-id' }],
  overrideHeader: 'x-release-stage',
  overrideCandidate: 'canary',
  overrideLegacy: 'stable',
};
const inputs: SplitInput[] = users.map((id) => ({
  headers: { ...headers, 'x-user-id': id },
  query: '',
  ip: '127.0.0.1',
}));
time('chooseSide (header sticky key, weight 25)', (i) =>
  chooseSide(split, true, 2_500, inputs[i & 1023]),
);
