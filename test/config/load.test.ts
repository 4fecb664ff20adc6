// The loader as a user meets it: a YAML text in, a frozen Config or the exact
// file:line:column messages out.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { loadConfigFile, parseConfigText } from '../../src/config/index.ts';
import { ConfigError, ConfigFileError, formatConfigIssue } from '../../src/errors.ts';
import { CONFIG_FILE, problems } from '../helpers/config.ts';

const FILE = CONFIG_FILE;

// Two backends and one route; each bad case below changes a few lines of it.
const BACKENDS = `backends:
  legacy: { url: "http://127.0.0.1:9001" }
  rewrite: { url: "http://127.0.0.1:9002" }
`;

interface BadCase {
  name: string;
  yaml: string;
  env?: Record<string, string>;
  expected: string[];
}

const BAD: BadCase[] = [
  {
    name: 'unknown field at the top level',
    yaml: `${BACKENDS}routes: []
foo: 1
`,
    expected: ['cutover.yaml:5:1 foo: unknown field "foo"'],
  },
  {
    name: 'unknown field at the top level, close to a known one',
    yaml: `${BACKENDS}routes: []
defualts: { timeout: 1s }
`,
    expected: ['cutover.yaml:5:1 defualts: unknown field "defualts"; did you mean "defaults"?'],
  },
  {
    name: 'unknown field in a route, with a hint',
    yaml: `${BACKENDS}routes:
  - name: users
    match: { path: /users }
    legacy: legacy
    candidate: rewrite
    split: { stickykey: header:x-user-id }
`,
    expected: [
      'cutover.yaml:9:14 routes[0].split.stickykey: unknown field "stickykey"; did you mean "stickyKey"?',
    ],
  },
  {
    name: 'unknown field in a backend, no key close to it',
    yaml: `backends:
  legacy:
    url: http://127.0.0.1:9001
    timeout: 3s
routes: []
`,
    expected: ['cutover.yaml:4:5 backends.legacy.timeout: unknown field "timeout"'],
  },
  {
    name: 'route naming a backend that does not exist',
    yaml: `${BACKENDS}routes:
  - name: users
    match: { path: /users }
    legacy: legacy
    candidate: rewirte
`,
    expected: [
      'cutover.yaml:8:16 routes[0].candidate: backend "rewirte" is not defined (defined: legacy, rewrite)',
    ],
  },
  {
    name: 'duplicate route names',
    yaml: `${BACKENDS}routes:
  - name: users
    match: { path: /users }
    legacy: legacy
  - name: users
    match: { path: /accounts }
    legacy: legacy
`,
    expected: [
      'cutover.yaml:8:11 routes[1].name: duplicate route name "users" (first used at routes[0])',
    ],
  },
  {
    name: 'two routes with the same match (parameter names and method order do not matter)',
    yaml: `${BACKENDS}routes:
  - name: one
    match: { path: /users/:id, methods: [GET, HEAD] }
    legacy: legacy
  - name: two
    match: { path: /users/:uid, methods: [HEAD, GET] }
    legacy: rewrite
`,
    expected: [
      'cutover.yaml:9:12 routes[1].match: same match as routes[0] (one); one of them could never be chosen',
    ],
  },
  {
    name: 'weight above 100, below 0, with 3 decimals, not a number',
    yaml: `${BACKENDS}routes:
  - { name: a, match: { path: /a }, legacy: legacy, candidate: rewrite, weight: 100.5 }
  - { name: b, match: { path: /b }, legacy: legacy, candidate: rewrite, weight: -1 }
  - { name: c, match: { path: /c }, legacy: legacy, candidate: rewrite, weight: 12.345 }
  - { name: d, match: { path: /d }, legacy: legacy, candidate: rewrite, weight: 10% }
`,
    expected: [
      'cutover.yaml:5:81 routes[0].weight: expected a number from 0 to 100, got 100.5',
      'cutover.yaml:6:81 routes[1].weight: expected a number from 0 to 100, got -1',
      'cutover.yaml:7:81 routes[2].weight: expected at most two decimals, got 12.345',
      'cutover.yaml:8:81 routes[3].weight: expected a number from 0 to 100, got "10%"',
    ],
  },
  {
    name: 'a weight without a candidate',
    yaml: `${BACKENDS}routes:
  - { name: a, match: { path: /a }, legacy: legacy, weight: 5 }
`,
    expected: [
      'cutover.yaml:5:61 routes[0].weight: a weight above 0 needs a candidate backend, got 5',
    ],
  },
  {
    name: 'bad backend URLs',
    yaml: `backends:
  a: { url: not a url }
  b: { url: "ftp://files.example/" }
  c: { urls: ["http://127.0.0.1:1", "http://u:p@127.0.0.1:2"] }
routes: []
`,
    expected: [
      'cutover.yaml:2:13 backends.a.url: expected an http:// or https:// URL, got "not a url"',
      'cutover.yaml:3:13 backends.b.url: expected an http:// or https:// URL, got "ftp://files.example/"',
      'cutover.yaml:4:37 backends.c.urls[1]: a backend URL may not carry a query, fragment or credentials, got "http://u:p@127.0.0.1:2"',
    ],
  },
  {
    name: 'a backend without url or urls, and one with both',
    yaml: `backends:
  a: { health: { path: /healthz } }
  b:
    url: http://127.0.0.1:1
    urls: [http://127.0.0.1:2]
routes: []
`,
    expected: [
      'cutover.yaml:2:6 backends.a: expected url (one instance) or urls (several)',
      'cutover.yaml:4:5 backends.b: expected url or urls, not both',
    ],
  },
  {
    name: 'bad sticky key and override',
    yaml: `${BACKENDS}defaults:
  split: { stickyKey: "header:x-user-id+session", override: x-release-stage }
routes: []
`,
    expected: [
      'cutover.yaml:5:23 defaults.split.stickyKey: expected header:NAME, cookie:NAME, query:NAME or ip (joined with + for a composite key), got "header:x-user-id+session"',
      'cutover.yaml:5:61 defaults.split.override: expected header:NAME or false, got "x-release-stage"',
    ],
  },
  {
    name: 'bad durations and sizes',
    yaml: `${BACKENDS}defaults:
  timeout: 5 sec
  idleTimeout: 30
  maxBodyBytes: 10 megs
server:
  shutdownGrace: true
routes: []
`,
    expected: [
      'cutover.yaml:5:12 defaults.timeout: expected a duration such as 250ms, 5s or 1m, got "5 sec"',
      'cutover.yaml:6:16 defaults.idleTimeout: expected a duration such as 250ms, 5s or 1m, got 30',
      'cutover.yaml:7:17 defaults.maxBodyBytes: expected a size such as 512, 64KiB or 10MB, got "10 megs"',
      'cutover.yaml:9:18 server.shutdownGrace: expected a duration such as 250ms, 5s or 1m, got true',
    ],
  },
  {
    name: 'missing required fields point at their parent mapping',
    yaml: `${BACKENDS}routes:
  - name: users
    match:
      methods: [GET]
`,
    expected: [
      'cutover.yaml:5:5 routes[0].legacy: required field is missing',
      'cutover.yaml:7:7 routes[0].match.path: required field is missing',
    ],
  },
  {
    name: 'missing top-level routes',
    yaml: BACKENDS,
    expected: ['cutover.yaml:1:1 routes: required field is missing'],
  },
  {
    name: 'wrong types',
    yaml: `listen: 8080
backends:
  legacy: { url: "http://127.0.0.1:9001", connections: many }
routes:
  - name: users
    match: { path: /users, methods: GET }
    legacy: legacy
    preserveHost: "yes"
tracing: on
`,
    expected: [
      'cutover.yaml:1:9 listen: expected a string or a list, got a number',
      'cutover.yaml:3:56 backends.legacy.connections: expected a number, got a string',
      'cutover.yaml:6:37 routes[0].match.methods: expected a list, got a string',
      'cutover.yaml:8:19 routes[0].preserveHost: expected true or false, got a string',
      'cutover.yaml:9:10 tracing: expected a mapping, got a string',
    ],
  },
  {
    name: 'numbers out of range',
    yaml: `backends:
  legacy:
    url: http://127.0.0.1:9001
    connections: 0
    health: { healthy: 1.5 }
routes: []
`,
    expected: [
      'cutover.yaml:4:18 backends.legacy.connections: expected at least 1, got 0',
      'cutover.yaml:5:24 backends.legacy.health.healthy: expected an integer, got 1.5',
    ],
  },
  {
    name: 'values outside an enum',
    yaml: `${BACKENDS}log: { level: verbose }
routes:
  - { name: users, match: { path: /users, methods: [GET, FETCH] }, legacy: legacy }
`,
    expected: [
      'cutover.yaml:4:15 log.level: expected one of trace, debug, info, warn, error, fatal, silent, got "verbose"',
      'cutover.yaml:6:58 routes[0].match.methods[1]: expected one of GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS, TRACE, CONNECT, got "FETCH"',
    ],
  },
  {
    name: 'bad path patterns',
    yaml: `${BACKENDS}routes:
  - { name: a, match: { path: /api/*/users }, legacy: legacy }
  - { name: b, match: { path: /files/*.txt }, legacy: legacy }
  - { name: c, match: { path: /users/:1d }, legacy: legacy }
`,
    expected: [
      'cutover.yaml:5:31 routes[0].match.path: a * is allowed only as the last segment (/api/*)',
      'cutover.yaml:6:31 routes[1].match.path: a * must be a whole segment, got "*.txt"',
      'cutover.yaml:7:31 routes[2].match.path: bad parameter ":1d"; expected :name',
    ],
  },
  {
    name: 'a path without its leading slash',
    yaml: `${BACKENDS}routes:
  - { name: d, match: { path: users }, legacy: legacy }
`,
    expected: [
      'cutover.yaml:5:31 routes[0].match.path: expected a path starting with / (exact /a/b, param /users/:id, prefix /api/*)',
    ],
  },
  {
    name: 'bad names',
    yaml: `backends:
  legacy v1: { url: "http://127.0.0.1:9001" }
routes:
  - { name: "-users", match: { path: /users }, legacy: "legacy v1" }
`,
    expected: [
      'cutover.yaml:2:3 backends["legacy v1"]: invalid name "legacy v1": expected a name of letters, digits, ., _ and -',
      'cutover.yaml:4:13 routes[0].name: expected a name of letters, digits, ., _ and -',
    ],
  },
  {
    name: 'environment variable not set',
    yaml: `admin: { token: "\${CUTOVER_ADMIN_TOKEN}" }
${BACKENDS}routes: []
`,
    expected: [
      'cutover.yaml:1:17 admin.token: environment variable CUTOVER_ADMIN_TOKEN is not set',
    ],
  },
  {
    name: 'environment variable not set inside a URL (no second message about the URL)',
    yaml: `backends:
  legacy: { url: "http://\${LEGACY_HOST}:9001" }
routes: []
`,
    expected: [
      'cutover.yaml:2:18 backends.legacy.url: environment variable LEGACY_HOST is not set',
    ],
  },
  {
    name: 'malformed references',
    yaml: `${BACKENDS}state: "sqlite:\${STATE DIR}/db"
admin: { token: "\${TOKEN" }
routes: []
`,
    expected: [
      // biome-ignore lint/suspicious/noTemplateCurlyInString: a literal ${...} reference is what is tested
      'cutover.yaml:4:8 state: expected ${NAME} or ${NAME:-default}, got "${STATE DIR}"',
      'cutover.yaml:5:17 admin.token: "${" is not closed; write $${ for a literal ${',
    ],
  },
  {
    name: 'guard fields out of range',
    yaml: `backends:
  legacy:
    url: http://127.0.0.1:9001
    breaker: { errorRatio: 2, probes: 0 }
    outlier: { maxEjectedPercent: 150 }
  rewrite: { url: "http://127.0.0.1:9002" }
defaults:
  retry: { attempts: 20, budget: -0.5 }
routes:
  - name: users
    match: { path: /users }
    legacy: legacy
    candidate: rewrite
    limit: { rps: 0, burst: 0 }
    concurrency: { max: 0, tolerance: 0.5 }
`,
    expected: [
      'cutover.yaml:4:28 backends.legacy.breaker.errorRatio: expected a ratio from 0 to 1, got 2',
      'cutover.yaml:4:39 backends.legacy.breaker.probes: expected at least 1, got 0',
      'cutover.yaml:5:35 backends.legacy.outlier.maxEjectedPercent: expected at most 100, got 150',
      'cutover.yaml:8:22 defaults.retry.attempts: expected at most 10, got 20',
      'cutover.yaml:8:34 defaults.retry.budget: expected a ratio from 0 to 1, got -0.5',
      'cutover.yaml:14:19 routes[0].limit.rps: expected a rate above 0, got 0',
      'cutover.yaml:14:29 routes[0].limit.burst: expected at least 1, got 0',
      'cutover.yaml:15:25 routes[0].concurrency.max: expected at least 1, got 0',
      'cutover.yaml:15:39 routes[0].concurrency.tolerance: expected at least 1, got 0.5',
    ],
  },
  {
    name: 'guard fields of the wrong form name the field inside the block',
    yaml: `backends:
  legacy:
    url: http://127.0.0.1:9001
    breaker: { window: 10, errorRatio: half }
  rewrite: { url: "http://127.0.0.1:9002" }
routes:
  - name: users
    match: { path: /users }
    legacy: legacy
    candidate: rewrite
    fallback: { on: [connect, oops] }
    retry: { backoff: 25 }
    limit: { key: user }
    concurrency: { adaptive: yes }
`,
    expected: [
      'cutover.yaml:4:14 backends.legacy.breaker: errorRatio: expected a ratio from 0 to 1, got "half"; window: expected a duration such as 250ms, 5s or 1m, got 10',
      'cutover.yaml:11:15 routes[0].fallback: on[1]: expected one of connect, timeout, reset, 5xx, grpc, got "oops"',
      'cutover.yaml:12:12 routes[0].retry: backoff: expected a duration such as 250ms, 5s or 1m, got 25',
      'cutover.yaml:13:12 routes[0].limit: key: expected header:NAME, cookie:NAME, query:NAME or ip (joined with + for a composite key), got "user"',
      'cutover.yaml:14:18 routes[0].concurrency: adaptive: expected true or false, got a string',
    ],
  },
  {
    name: 'a guard block is false or a mapping',
    yaml: `backends:
  legacy: { url: "http://127.0.0.1:9001", breaker: true }
  rewrite: { url: "http://127.0.0.1:9002", outlier: off }
defaults:
  limit: 100
routes: []
`,
    expected: [
      'cutover.yaml:2:52 backends.legacy.breaker: expected false or a mapping, got true',
      'cutover.yaml:3:53 backends.rewrite.outlier: expected false or a mapping, got a string',
      'cutover.yaml:5:10 defaults.limit: expected false or a mapping, got a number',
    ],
  },
  {
    name: 'unknown fields inside guard blocks',
    yaml: `backends:
  legacy:
    url: http://127.0.0.1:9001
    breaker: { threshold: 5 }
  rewrite: { url: "http://127.0.0.1:9002" }
routes:
  - name: users
    match: { path: /users }
    legacy: legacy
    limit: { rate: 10 }
`,
    expected: [
      'cutover.yaml:4:16 backends.legacy.breaker.threshold: unknown field "threshold"',
      'cutover.yaml:10:14 routes[0].limit.rate: unknown field "rate"',
    ],
  },
  {
    name: 'YAML syntax error',
    yaml: `backends:
  legacy: { url: "http://127.0.0.1:9001"
routes: []
`,
    expected: [
      'cutover.yaml:3:1 invalid YAML: Flow map in block collection must be sufficiently indented and end with a }',
    ],
  },
  {
    name: 'a headersTimeout above requestTimeout',
    yaml: `${BACKENDS}routes: []
server: { requestTimeout: 5s, headersTimeout: 6s }
`,
    expected: [
      'cutover.yaml:5:47 server.headersTimeout: expected at most server.requestTimeout (5000 ms), got 6000 ms',
    ],
  },
  {
    name: 'a key given twice',
    yaml: `${BACKENDS}routes: []
backends: {}
`,
    expected: ['cutover.yaml:5:1 invalid YAML: Map keys must be unique'],
  },
  {
    name: 'an empty file',
    yaml: '# nothing yet\n',
    expected: ['cutover.yaml:1:1 the file is empty; expected a mapping with backends and routes'],
  },
  {
    name: 'a list at the top level',
    yaml: '- listen: 0.0.0.0:8080\n',
    expected: ['cutover.yaml:1:1 expected a mapping at the top level, got a list'],
  },
];

for (const c of BAD) {
  test(`bad config: ${c.name}`, () => {
    assert.deepEqual(problems(c.yaml, c.env), c.expected);
  });
}

test('a config with several errors lists all of them, in file order', () => {
  const yaml = `listen: 0.0.0.0:80800
backends:
  legacy: { url: "ftp://127.0.0.1:9001" }
routes:
  - name: users
    match: { path: /users, methods: [GET] }
    legacy: legacy
    candidate: rewrite
    weight: 150
    split: { stickyKey: "user" }
  - name: orders
    legacy: legacy
    timout: 3s
`;
  assert.deepEqual(problems(yaml), [
    'cutover.yaml:1:9 listen: expected host:port such as 127.0.0.1:8080, got "0.0.0.0:80800"',
    'cutover.yaml:3:18 backends.legacy.url: expected an http:// or https:// URL, got "ftp://127.0.0.1:9001"',
    'cutover.yaml:8:16 routes[0].candidate: backend "rewrite" is not defined (defined: legacy)',
    'cutover.yaml:9:13 routes[0].weight: expected a number from 0 to 100, got 150',
    'cutover.yaml:10:25 routes[0].split.stickyKey: expected header:NAME, cookie:NAME, query:NAME or ip (joined with + for a composite key), got "user"',
    'cutover.yaml:11:5 routes[1].match: required field is missing',
    'cutover.yaml:13:5 routes[1].timout: unknown field "timout"; did you mean "timeout"?',
  ]);
});

test('the checks across the file run when the schema passes, and list every problem', () => {
  const yaml = `${BACKENDS}routes:
  - { name: a, match: { path: /a }, legacy: old }
  - { name: a, match: { path: /b }, legacy: legacy, candidate: legacy }
`;
  assert.deepEqual(problems(yaml), [
    'cutover.yaml:5:45 routes[0].legacy: backend "old" is not defined (defined: legacy, rewrite)',
    'cutover.yaml:6:13 routes[1].name: duplicate route name "a" (first used at routes[0])',
    'cutover.yaml:6:64 routes[1].candidate: the candidate must be another backend than legacy',
  ]);
});

test('schema errors and the checks across the file are listed together', () => {
  // A weight of 140 (schema), an undefined backend, a duplicate name and a
  // duplicate match: before, only the weight was reported.
  const yaml = `${BACKENDS}routes:
  - { name: a, match: { path: /a }, legacy: legacy, candidate: rewrite, weight: 140 }
  - { name: a, match: { path: /b }, legacy: old }
  - { name: c, match: { path: /a }, legacy: legacy, timout: 1s }
`;
  assert.deepEqual(problems(yaml), [
    'cutover.yaml:5:81 routes[0].weight: expected a number from 0 to 100, got 140',
    'cutover.yaml:6:13 routes[1].name: duplicate route name "a" (first used at routes[0])',
    'cutover.yaml:6:45 routes[1].legacy: backend "old" is not defined (defined: legacy, rewrite)',
    'cutover.yaml:7:23 routes[2].match: same match as routes[0] (a); one of them could never be chosen',
    'cutover.yaml:7:53 routes[2].timout: unknown field "timout"; did you mean "timeout"?',
  ]);
});

test('the error message names the count and every issue', () => {
  assert.throws(() => parseConfigText('routes: 5\n', FILE, {}), {
    name: 'ConfigError',
    code: 'CUTOVER_ERR_CONFIG',
    message:
      'invalid config (2 errors):\n' +
      '  cutover.yaml:1:1 backends: required field is missing\n' +
      '  cutover.yaml:1:9 routes: expected a list, got a number',
  });
});

test('env interpolation: set, default, empty with default, escape', () => {
  const yaml = `admin:
  listen: "\${ADMIN_ADDR:-127.0.0.1:9191}"
  token: \${TOKEN}
state: "sqlite:\${STATE_DIR:-/var/lib/cutover}/state.db"
backends:
  legacy: { url: "http://\${LEGACY_HOST}:9001" }
routes:
  - name: price
    match: { path: /price, headers: { x-template: "$\${not.a.var}" } }
    legacy: legacy
`;
  const config = parseConfigText(yaml, FILE, {
    TOKEN: 's3cret',
    STATE_DIR: '',
    LEGACY_HOST: 'legacy.internal',
  });
  assert.deepEqual(config.admin, {
    listen: { host: '127.0.0.1', port: 9191 },
    token: 's3cret',
    viewerToken: undefined,
    workerListen: undefined,
    tls: undefined,
  });
  assert.equal(config.state, 'sqlite:/var/lib/cutover/state.db');
  assert.deepEqual(config.backends.get('legacy')?.urls, ['http://legacy.internal:9001/']);
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a literal ${...} reference is what is tested
  assert.deepEqual(config.routes[0].match.headers, { 'x-template': '${not.a.var}' });
});

test('env interpolation: a set variable wins over the default', () => {
  const yaml = `admin: { listen: "\${ADMIN_ADDR:-127.0.0.1:9191}" }
${BACKENDS}routes: []
`;
  const config = parseConfigText(yaml, FILE, { ADMIN_ADDR: '127.0.0.1:7000' });
  assert.deepEqual(config.admin.listen, { host: '127.0.0.1', port: 7000 });
});

test('env interpolation keeps the positions of later fields exact', () => {
  const yaml = `admin: { token: "\${T}", listen: nowhere }
${BACKENDS}routes: []
`;
  assert.deepEqual(problems(yaml, { T: 'a-much-longer-value-than-the-reference' }), [
    'cutover.yaml:1:33 admin.listen: expected host:port such as 127.0.0.1:8080, got "nowhere"',
  ]);
});

test('env interpolation leaves keys alone', () => {
  const yaml = `${BACKENDS}routes: []
\${EXTRA}: 1
`;
  assert.deepEqual(problems(yaml, { EXTRA: 'log' }), [
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a literal ${...} reference is what is tested
    'cutover.yaml:5:1 ["${EXTRA}"]: unknown field "${EXTRA}"',
  ]);
});

/** The breaker and outlier settings every backend gets when nothing is configured. */
const BREAKER_DEFAULTS = {
  errorRatio: 0.5,
  slowCall: 1000,
  slowRatio: 1,
  minRequests: 20,
  window: 10000,
  openFor: 5000,
  probes: 3,
};
const OUTLIER_DEFAULTS = {
  consecutiveErrors: 5,
  ejectFor: 30000,
  maxEjectFor: 300000,
  maxEjectedPercent: 50,
};

test('a good config loads, with every default applied, frozen', () => {
  const yaml = `backends:
  legacy: { url: "http://127.0.0.1:9001" }
  rewrite:
    urls: ["http://127.0.0.1:9002", "http://127.0.0.1:9003/base"]
    health: { path: /ready }
routes:
  - name: users
    match: { path: /api/users/*, methods: [GET, GET, HEAD], host: API.example.com }
    legacy: legacy
    candidate: rewrite
    split: { stickyKey: "header:X-User-Id+cookie:sid" }
    weight: 12.5
`;
  const config = parseConfigText(yaml, FILE, {});
  const expected = {
    source: resolve(FILE),
    listen: { host: '0.0.0.0', port: 8080 },
    listeners: [{ address: { host: '0.0.0.0', port: 8080 }, protocols: ['http1'], tls: undefined }],
    admin: {
      listen: { host: '127.0.0.1', port: 9090 },
      token: undefined,
      viewerToken: undefined,
      workerListen: undefined,
      tls: undefined,
    },
    state: 'sqlite:.cutover/state.db',
    server: {
      maxHeaderBytes: 16384,
      shutdownGrace: 10000,
      keepAliveTimeout: 75000,
      requestTimeout: 300000,
      escapedSlashes: 'reject',
      trustedProxies: [],
      headersTimeout: 10000,
      maxConnections: 10000,
      requestBuffer: 1048576,
      responseBuffer: 1048576,
      bufferMemory: 268435456,
      clientBodyTimeout: 60000,
      sendTimeout: 60000,
      shadowMemory: 64 * 1024 * 1024,
      http2: {
        maxConcurrentStreams: 100,
        maxHeaderListBytes: 16384,
        maxSessionMemoryMB: 10,
        idleTimeout: 75000,
        streamResetBurst: 1000,
        streamResetRate: 33,
      },
      workers: 1,
    },
    log: { level: 'info', access: true },
    tracing: { enabled: false },
    report: { retention: 30 * 86_400_000 },
    rollouts: { checkEvery: 1000, webhooks: [], prometheus: undefined },
    backends: new Map([
      [
        'legacy',
        {
          name: 'legacy',
          urls: ['http://127.0.0.1:9001/'],
          health: undefined,
          connectTimeout: 1000,
          connections: 256,
          keepAliveTimeout: 4000,
          protocol: 'http1',
          maxConcurrentStreams: 100,
          maxStreamsPerSession: 1_000_000,
          tls: undefined,
          maxQueued: 1024,
          queueTimeout: 3000,
          breaker: BREAKER_DEFAULTS,
          outlier: OUTLIER_DEFAULTS,
          concurrency: undefined,
        },
      ],
      [
        'rewrite',
        {
          name: 'rewrite',
          urls: ['http://127.0.0.1:9002/', 'http://127.0.0.1:9003/base'],
          health: {
            path: '/ready',
            grpc: undefined,
            interval: 5000,
            timeout: 1000,
            healthy: 2,
            unhealthy: 3,
          },
          connectTimeout: 1000,
          connections: 256,
          keepAliveTimeout: 4000,
          protocol: 'http1',
          maxConcurrentStreams: 100,
          maxStreamsPerSession: 1_000_000,
          tls: undefined,
          maxQueued: 1024,
          queueTimeout: 3000,
          breaker: BREAKER_DEFAULTS,
          outlier: OUTLIER_DEFAULTS,
          concurrency: undefined,
        },
      ],
    ]),
    routes: [
      {
        name: 'users',
        index: 0,
        match: {
          host: 'api.example.com',
          path: '/api/users/*',
          methods: ['GET', 'HEAD'],
          headers: undefined,
          grpc: undefined,
        },
        legacy: 'legacy',
        candidate: 'rewrite',
        split: {
          stickyKey: [
            { kind: 'header', name: 'x-user-id' },
            { kind: 'cookie', name: 'sid' },
          ],
          overrideHeader: 'x-release-stage',
          overrideCandidate: 'canary',
          overrideLegacy: 'stable',
        },
        weight: 12.5,
        timeout: 3000,
        idleTimeout: 30000,
        maxBodyBytes: 10485760,
        preserveHost: false,
        backendHeader: true,
        upgrades: new Set(['websocket']),
        tunnelIdleTimeout: 60000,
        fallback: {
          on: new Set(['connect', 'timeout', 'reset', '5xx', 'grpc']),
          methods: new Set(['GET', 'HEAD', 'OPTIONS']),
          maxBodyBytes: 65536,
        },
        retry: undefined,
        grpc: { failureCodes: [2, 4, 13, 14, 15] },
        limit: undefined,
        concurrency: undefined,
        shadow: undefined,
        rollout: undefined,
      },
    ],
  };
  assert.deepEqual(config, expected);
  assert.ok(Object.isFrozen(config));
  assert.ok(Object.isFrozen(config.routes));
  assert.ok(Object.isFrozen(config.routes[0].split));
  assert.ok(Object.isFrozen(config.routes[0].match.methods));
  assert.ok(Object.isFrozen(config.backends.get('rewrite')?.urls));
  assert.ok(Object.isFrozen(config.backends.get('rewrite')?.breaker));
  assert.ok(Object.isFrozen(config.routes[0].fallback));
  assert.throws(() => {
    (config.routes[0] as { weight: number }).weight = 100;
  }, TypeError);
});

test('defaults: route fields fall back to the defaults section, then to the built-in defaults', () => {
  const yaml = `${BACKENDS}defaults:
  timeout: 250ms
  connectTimeout: 2s
  maxBodyBytes: 64KiB
  split: { stickyKey: ip, override: false }
routes:
  - { name: a, match: { path: /a }, legacy: legacy, timeout: 1m, split: { stickyKey: "query:uid" } }
  - { name: b, match: { path: /b }, legacy: legacy }
`;
  const config = parseConfigText(yaml, FILE, {});
  const [a, b] = config.routes;
  assert.equal(a.timeout, 60_000);
  assert.equal(b.timeout, 250);
  assert.equal(b.maxBodyBytes, 65_536);
  assert.equal(b.idleTimeout, 30_000);
  assert.deepEqual(a.split.stickyKey, [{ kind: 'query', name: 'uid' }]);
  assert.equal(a.split.overrideHeader, false);
  assert.deepEqual(b.split.stickyKey, [{ kind: 'ip' }]);
  assert.equal(config.backends.get('legacy')?.connectTimeout, 2_000);
});

test('upgrades: websocket by default, defaults.upgrades for every route, a route list wins, lower-cased', () => {
  const yaml = `${BACKENDS}defaults:
  upgrades: []
routes:
  - { name: a, match: { path: /a }, legacy: legacy, upgrades: [WebSocket, my-proto/2] }
  - { name: b, match: { path: /b }, legacy: legacy }
`;
  const [a, b] = parseConfigText(yaml, FILE, {}).routes;
  assert.deepEqual(a.upgrades, new Set(['websocket', 'my-proto/2']));
  assert.deepEqual(b.upgrades, new Set());
  const plain = parseConfigText(
    `${BACKENDS}routes:\n  - { name: c, match: { path: /c }, legacy: legacy }\n`,
    FILE,
    {},
  );
  assert.deepEqual(plain.routes[0].upgrades, new Set(['websocket']));
});

test('upgrades: h2c is refused (h2c smuggling), and so is a name that is not a token', () => {
  const yaml = `${BACKENDS}routes:
  - { name: a, match: { path: /a }, legacy: legacy, upgrades: [websocket, H2C, "web socket"] }
`;
  assert.deepEqual(problems(yaml), [
    'cutover.yaml:5:75 routes[0].upgrades[1]: h2c cannot be tunnelled: after the switch the client would send HTTP/2 requests straight to the backend, past routes and guards',
    'cutover.yaml:5:80 routes[0].upgrades[2]: expected a protocol name such as websocket',
  ]);
});

test('guards: defaults.breaker applies to every backend, field by field; breaker: false turns it off', () => {
  const yaml = `backends:
  legacy: { url: "http://127.0.0.1:9001", breaker: false, outlier: false }
  rewrite: { url: "http://127.0.0.1:9002", breaker: { openFor: 1s } }
  other: { url: "http://127.0.0.1:9003" }
defaults:
  breaker: { errorRatio: 0.2, window: 30s }
  outlier: { consecutiveErrors: 3 }
routes: []
`;
  const backends = parseConfigText(yaml, FILE, {}).backends;
  assert.equal(backends.get('legacy')?.breaker, undefined);
  assert.equal(backends.get('legacy')?.outlier, undefined);
  assert.deepEqual(backends.get('rewrite')?.breaker, {
    ...BREAKER_DEFAULTS,
    errorRatio: 0.2,
    window: 30_000,
    openFor: 1_000,
  });
  assert.deepEqual(backends.get('other')?.breaker, {
    ...BREAKER_DEFAULTS,
    errorRatio: 0.2,
    window: 30_000,
  });
  assert.deepEqual(backends.get('other')?.outlier, { ...OUTLIER_DEFAULTS, consecutiveErrors: 3 });
});

test('guards: defaults.breaker: false turns breakers off, a backend block turns its own back on', () => {
  const yaml = `backends:
  legacy: { url: "http://127.0.0.1:9001" }
  rewrite: { url: "http://127.0.0.1:9002", breaker: { probes: 1 } }
defaults:
  breaker: false
routes: []
`;
  const backends = parseConfigText(yaml, FILE, {}).backends;
  assert.equal(backends.get('legacy')?.breaker, undefined);
  assert.deepEqual(backends.get('rewrite')?.breaker, { ...BREAKER_DEFAULTS, probes: 1 });
  // Outlier ejection is still on by default.
  assert.deepEqual(backends.get('legacy')?.outlier, OUTLIER_DEFAULTS);
});

test('guards: retry, limit and concurrency are off unless configured', () => {
  const config = parseConfigText(
    `${BACKENDS}routes:\n  - { name: a, match: { path: /a }, legacy: legacy, candidate: rewrite }\n`,
    FILE,
    {},
  );
  const [a] = config.routes;
  assert.equal(a.retry, undefined);
  assert.equal(a.limit, undefined);
  assert.equal(a.concurrency, undefined);
});

test('guards: defaults.retry turns retries on for every route; a route retry: false turns them off', () => {
  const yaml = `${BACKENDS}defaults:
  retry: { attempts: 3 }
routes:
  - { name: a, match: { path: /a }, legacy: legacy }
  - { name: b, match: { path: /b }, legacy: legacy, retry: false }
  - { name: c, match: { path: /c }, legacy: legacy, retry: { backoff: 100ms } }
`;
  const [a, b, c] = parseConfigText(yaml, FILE, {}).routes;
  const retryDefaults = {
    attempts: 2,
    budget: 0.2,
    minConcurrent: 3,
    backoff: 25,
    maxBackoff: 250,
    grpcCodes: [14],
  };
  assert.deepEqual(a.retry, { ...retryDefaults, attempts: 3 });
  assert.equal(b.retry, undefined);
  assert.deepEqual(c.retry, { ...retryDefaults, attempts: 3, backoff: 100 });
});

test('guards: fallback only on routes with a candidate; false turns it off, a route block back on', () => {
  const yaml = `${BACKENDS}defaults:
  fallback: false
routes:
  - { name: a, match: { path: /a }, legacy: legacy, candidate: rewrite }
  - { name: b, match: { path: /b }, legacy: legacy, candidate: rewrite, fallback: { methods: [GET, PUT] } }
  - { name: c, match: { path: /c }, legacy: legacy, fallback: { on: [connect] } }
`;
  const [a, b, c] = parseConfigText(yaml, FILE, {}).routes;
  assert.equal(a.fallback, undefined);
  assert.deepEqual(b.fallback, {
    on: new Set(['connect', 'timeout', 'reset', '5xx', 'grpc']),
    methods: new Set(['GET', 'PUT']),
    maxBodyBytes: 65_536,
  });
  // No candidate, nothing to fall back from.
  assert.equal(c.fallback, undefined);

  const onByDefault = parseConfigText(
    `${BACKENDS}routes:
  - { name: a, match: { path: /a }, legacy: legacy }
  - { name: b, match: { path: /b }, legacy: legacy, candidate: rewrite, fallback: { on: [connect, timeout], maxBodyBytes: 1KiB } }
`,
    FILE,
    {},
  ).routes;
  assert.equal(onByDefault[0].fallback, undefined);
  assert.deepEqual(onByDefault[1].fallback, {
    on: new Set(['connect', 'timeout']),
    methods: new Set(['GET', 'HEAD', 'OPTIONS']),
    maxBodyBytes: 1024,
  });
});

test('guards: defaults.limit and a route limit merge field by field', () => {
  const yaml = `${BACKENDS}defaults:
  limit: { rps: 50, scope: cluster }
  concurrency: { adaptive: true }
routes:
  - { name: a, match: { path: /a }, legacy: legacy, limit: { burst: 5, key: "header:X-Api-Key", onStoreDown: closed } }
  - { name: b, match: { path: /b }, legacy: legacy, limit: false, concurrency: { max: 64 } }
  - { name: c, match: { path: /c }, legacy: legacy }
`;
  const [a, b, c] = parseConfigText(yaml, FILE, {}).routes;
  assert.deepEqual(a.limit, {
    rps: 50,
    burst: 5,
    key: [{ kind: 'header', name: 'x-api-key' }],
    maxKeys: 10_000,
    scope: 'cluster',
    onStoreDown: 'closed',
  });
  assert.equal(b.limit, undefined);
  assert.deepEqual(c.limit, {
    rps: 50,
    burst: 1000,
    key: [],
    maxKeys: 10_000,
    scope: 'cluster',
    onStoreDown: 'local',
  });
  assert.deepEqual(b.concurrency, { max: 64, adaptive: true, minLimit: 10, tolerance: 2 });
  assert.deepEqual(c.concurrency, { max: 500, adaptive: true, minLimit: 10, tolerance: 2 });
  assert.ok(Object.isFrozen(a.limit));
  assert.ok(Object.isFrozen(a.limit?.key));
});

test('guards: a limit is per instance unless scope: cluster; onStoreDown names one of three fallbacks', () => {
  const route = (limit: string) =>
    `${BACKENDS}routes:\n  - { name: a, match: { path: /a }, legacy: legacy, limit: ${limit} }\n`;
  const [a] = parseConfigText(route('{ rps: 5 }'), FILE, {}).routes;
  assert.equal(a.limit?.scope, 'instance');
  assert.equal(a.limit?.onStoreDown, 'local');
  assert.throws(
    () => parseConfigText(route('{ scope: fleet }'), FILE, {}),
    (e: ConfigError) =>
      e.issues.some(
        (i) =>
          i.path === 'routes[0].limit' &&
          i.message.includes('scope: expected one of instance, cluster, got "fleet"'),
      ),
  );
  assert.throws(
    () => parseConfigText(route('{ scope: cluster, onStoreDown: ignore }'), FILE, {}),
    (e: ConfigError) =>
      e.issues.some((i) =>
        i.message.includes('onStoreDown: expected one of local, open, closed, got "ignore"'),
      ),
  );
});

test('the example config shipped in the fixtures loads from a file', async () => {
  const file = fileURLToPath(new URL('../fixtures/config/cutover.yaml', import.meta.url));
  const config = await loadConfigFile(file, { CUTOVER_ADMIN_TOKEN: 'fixture-token' });
  assert.equal(config.source, file);
  assert.equal(config.admin.token, 'fixture-token');
  assert.deepEqual(
    config.routes.map((r) => [r.name, r.weight]),
    [
      ['user-profile', 10],
      ['orders', 0],
    ],
  );
});

test('loadConfigFile (parsed in a worker thread) gives the same Config as parseConfigText, frozen', async () => {
  const file = fileURLToPath(new URL('../fixtures/config/cutover.yaml', import.meta.url));
  const env = { CUTOVER_ADMIN_TOKEN: 'fixture-token' };
  const here = parseConfigText(await readFile(file, 'utf8'), file, env);
  const loaded = await loadConfigFile(file, env);
  assert.deepStrictEqual(loaded, here);
  const unfrozen: string[] = [];
  const walk = (value: unknown, path: string): void => {
    if (value === null || typeof value !== 'object') return;
    if (!(value instanceof Map) && !(value instanceof Set) && !Object.isFrozen(value))
      unfrozen.push(path);
    const entries = value instanceof Map ? [...value] : Object.entries(value);
    if (!(value instanceof Set)) for (const [k, v] of entries) walk(v, `${path}.${String(k)}`);
  };
  walk(loaded, 'config');
  assert.deepEqual(unfrozen, []);
});

test('a big file loaded at start-up is parsed in a child process: the same Config, frozen', async () => {
  const file = fileURLToPath(new URL('../fixtures/config/cutover.yaml', import.meta.url));
  const env = { CUTOVER_ADMIN_TOKEN: 'fixture-token' };
  const here = parseConfigText(await readFile(file, 'utf8'), file, env);
  // ownProcessBytes: 1 sends even this small fixture through the child process.
  const loaded = await loadConfigFile(file, env, { inThread: true, ownProcessBytes: 1 });
  assert.deepStrictEqual(loaded, here);
  assert.ok(Object.isFrozen(loaded) && Object.isFrozen(loaded.routes[0]));
});

test('loadConfigFile names the file as given in every issue (worker thread and child process)', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'cutover-config-'));
  try {
    const file = join(dir, 'bad.yaml');
    await writeFile(file, 'backends: {}\nroutes: []\nlisten: nowhere\n');
    for (const options of [{}, { inThread: true, ownProcessBytes: 1 }]) {
      await assert.rejects(loadConfigFile(file, {}, options), (err: unknown) => {
        assert.ok(err instanceof ConfigError);
        assert.deepEqual(err.issues.map(formatConfigIssue), [
          `${file}:3:9 listen: expected host:port such as 127.0.0.1:8080, got "nowhere"`,
        ]);
        return true;
      });
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('loadConfigFile on a missing file throws ConfigFileError', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'cutover-config-'));
  try {
    const file = join(dir, 'missing.yaml');
    await assert.rejects(loadConfigFile(file, {}), (err: unknown) => {
      assert.ok(err instanceof ConfigFileError);
      assert.equal(err.code, 'CUTOVER_ERR_CONFIG_FILE');
      assert.equal(err.message, `cannot read config ${file}: no such file`);
      return true;
    });
    await assert.rejects(loadConfigFile(dir, {}), {
      name: 'ConfigFileError',
      message: `cannot read config ${dir}: it is a directory`,
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('YAML anchors and merge keys (<<) share settings between routes', () => {
  const yaml = `${BACKENDS}routes:
  - &base { name: a, match: { path: /a }, legacy: legacy, candidate: rewrite, timeout: 1s }
  - <<: *base
    name: b
    match: { path: /b }
`;
  const config = parseConfigText(yaml, FILE, {});
  assert.deepEqual(
    config.routes.map((r) => [r.name, r.match.path, r.candidate, r.timeout]),
    [
      ['a', '/a', 'rewrite', 1000],
      ['b', '/b', 'rewrite', 1000],
    ],
  );
  assert.deepEqual(problems(`${yaml}    tiemout: 2s\n`), [
    'cutover.yaml:9:5 routes[1].tiemout: unknown field "tiemout"; did you mean "timeout"?',
  ]);
});

test('server.trustedProxies takes addresses and CIDR blocks; anything else names the entry', () => {
  const yaml = (list: string) => `server: { trustedProxies: ${list}, escapedSlashes: keep }
backends:
  legacy: { url: "http://127.0.0.1:9001" }
routes:
  - name: r
    match: { path: /r }
    legacy: legacy
`;
  const config = parseConfigText(
    yaml('[10.0.0.1, 10.0.0.0/8, "::1", "fd00::/8"]'),
    CONFIG_FILE,
    {},
  );
  assert.deepEqual(config.server.trustedProxies, ['10.0.0.1', '10.0.0.0/8', '::1', 'fd00::/8']);
  assert.equal(config.server.escapedSlashes, 'keep');
  assert.deepEqual(problems(yaml('[10.0.0.0/33, lb.internal]')), [
    'cutover.yaml:1:28 server.trustedProxies[0]: expected an IP address or CIDR block, got "10.0.0.0/33"',
    'cutover.yaml:1:41 server.trustedProxies[1]: expected an IP address or CIDR block, got "lb.internal"',
  ]);
});

test('grpc.failureCodes and retry.grpcCodes: names in any case or numbers, from the route, then defaults, then the built-in list', () => {
  const yaml = `${BACKENDS}defaults:
  grpc: { failureCodes: [unavailable, 13, INTERNAL] }
  retry: { grpcCodes: [UNAVAILABLE] }
routes:
  - { name: a, match: { path: /a }, legacy: legacy }
  - { name: b, match: { path: /b }, legacy: legacy, grpc: { failureCodes: [UNIMPLEMENTED, UNAVAILABLE] }, retry: { grpcCodes: [12] } }
`;
  const [a, b] = parseConfigText(yaml, FILE, {}).routes;
  assert.deepEqual(a.grpc.failureCodes, [14, 13]);
  assert.deepEqual(a.retry?.grpcCodes, [14]);
  assert.deepEqual(b.grpc.failureCodes, [12, 14]);
  assert.deepEqual(b.retry?.grpcCodes, [12]);
  const plain = parseConfigText(
    `${BACKENDS}routes:\n  - { name: c, match: { path: /c }, legacy: legacy, retry: { attempts: 2 } }\n`,
    FILE,
    {},
  ).routes[0];
  // UNKNOWN, DEADLINE_EXCEEDED, INTERNAL, UNAVAILABLE, DATA_LOSS; retries on UNAVAILABLE.
  assert.deepEqual(plain.grpc.failureCodes, [2, 4, 13, 14, 15]);
  assert.deepEqual(plain.retry?.grpcCodes, [14]);
  assert.ok(Object.isFrozen(plain.grpc.failureCodes));
});

test('admin.viewerToken: read-only token; refused equal to admin.token or without it', () => {
  const route = `${BACKENDS}routes:\n  - { name: a, match: { path: /a }, legacy: legacy }\n`;
  const config = parseConfigText(`admin: { token: op, viewerToken: look }\n${route}`, FILE, {});
  assert.equal(config.admin.token, 'op');
  assert.equal(config.admin.viewerToken, 'look');
  const same = problems(`admin: { token: op, viewerToken: op }\n${route}`);
  assert.equal(same.length, 1);
  assert.match(same[0], /admin\.viewerToken/);
  assert.match(same[0], /different from admin\.token/);
  const alone = problems(`admin: { viewerToken: look }\n${route}`);
  assert.equal(alone.length, 1);
  assert.match(alone[0], /admin\.viewerToken/);
  assert.match(alone[0], /admin\.token to be set/);
});
