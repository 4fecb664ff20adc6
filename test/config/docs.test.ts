// docs/config.md must describe every field of the schema, and the messages it
// shows must be the ones the loader really prints.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { z } from 'zod';
import { configSchema, parseConfigText } from '../../src/config/index.ts';
import { ConfigError, formatConfigIssue } from '../../src/errors.ts';

const DOC = readFileSync(new URL('../../docs/config.md', import.meta.url), 'utf8');

function unwrap(schema: z.core.$ZodType): z.core.$ZodType {
  let s = schema;
  for (;;) {
    if (s instanceof z.ZodOptional) s = s.unwrap();
    else if (s instanceof z.ZodPipe) s = s.in;
    else return s;
  }
}

/** `routes[].split.stickyKey`, `backends.<name>.health.path`, … for every field. */
function fieldPaths(schema: z.core.$ZodType, prefix: string): string[] {
  const s = unwrap(schema);
  if (s instanceof z.ZodObject) {
    return Object.entries(s.shape).flatMap(([key, value]) => {
      const path = prefix ? `${prefix}.${key}` : key;
      return [path, ...fieldPaths(value, path)];
    });
  }
  if (s instanceof z.ZodArray) return fieldPaths(s.element, `${prefix}[]`);
  // A guard block is `false` or a mapping: walk the mapping.
  if (s instanceof z.ZodUnion) return s.options.flatMap((o) => fieldPaths(o, prefix));
  if (s instanceof z.ZodRecord) {
    const value = unwrap(s.valueType);
    return value instanceof z.ZodObject ? fieldPaths(value, `${prefix}.<name>`) : [];
  }
  return [];
}

test('docs/config.md lists every field of the schema', () => {
  const paths = fieldPaths(configSchema, '');
  assert.ok(paths.includes('routes[].retry.maxBackoff'), 'the walk misses guard blocks');
  assert.ok(paths.length > 50, `only ${paths.length} fields found; the walk is broken`);
  const missing = paths.filter((p) => !DOC.includes(`\`${p}\``));
  assert.deepEqual(missing, []);
});

const BACKENDS = `backends:
  legacy: { url: "http://127.0.0.1:9001" }
  rewrite: { url: "http://127.0.0.1:9002" }
`;
const ROUTE = `${BACKENDS}routes:
  - name: users
    match: { path: /users }
    legacy: legacy
    candidate: rewrite
`;

// The examples behind the table of messages in docs/config.md.
const EXAMPLES = [
  `${BACKENDS}routes: []\nfoo: 1\n`,
  `${BACKENDS}routes: []\nlisten: 1.2.3.4:80\nlisen: x\n`,
  `${BACKENDS}routes:\n  - name: a\n    match: { path: /a }\n`,
  `${BACKENDS}routes: []\nlog: { access: "no" }\n`,
  `${BACKENDS}routes: {}\n`,
  `backends:\n  a: { url: "http://x", connections: 2.5 }\nroutes: []\n`,
  `backends:\n  a: { url: "http://x", connections: 20000 }\nroutes: []\n`,
  `${BACKENDS}routes:\n  - { name: a, match: { path: /a, host: "" }, legacy: legacy }\n`,
  `${BACKENDS}routes:\n  - { name: a, match: { path: /a, methods: [] }, legacy: legacy }\n`,
  `${BACKENDS}routes: []\nlog: { level: loud }\n`,
  `${BACKENDS}log: { level: info }\nroutes:\n  - { name: users, match: { path: /users, methods: [GET, FETCH] }, legacy: legacy }\n`,
  `${ROUTE}    timeout: 3\n`,
  `${ROUTE}    maxBodyBytes: 1.5GB!\n`,
  `${BACKENDS}routes: []\nlisten: localhost\n`,
  `${BACKENDS}routes: []\nstate: mysql://127.0.0.1:3306\n`,
  `${BACKENDS}routes: []\nstate: redis://127.0.0.1:6379/x\n`,
  `${BACKENDS}routes: []\nstate: { url: "redis://h", tokenTimeout: 50 }\n`,
  `backends:\n  a: { url: "ftp://x" }\nroutes: []\n`,
  `backends:\n  a: { url: "http://x/?a=1" }\nroutes: []\n`,
  `backends:\n  a: { urls: [] }\nroutes: []\n`,
  `backends:\n  a: {}\nroutes: []\n`,
  `backends:\n  a: { url: "http://x", urls: ["http://y"] }\nroutes: []\n`,
  `backends:\n  a: { url: "http://x", health: { path: healthz } }\nroutes: []\n`,
  `backends:\n  my backend: { url: "http://x" }\nroutes: []\n`,
  `${BACKENDS}routes:\n  - { name: "my route", match: { path: /a }, legacy: legacy }\n`,
  `${BACKENDS}routes:\n  - { name: a, match: { path: api }, legacy: legacy }\n`,
  `${BACKENDS}routes:\n  - { name: a, match: { path: /api/*/x }, legacy: legacy }\n`,
  `${BACKENDS}routes:\n  - { name: a, match: { path: /api* }, legacy: legacy }\n`,
  `${BACKENDS}routes:\n  - { name: a, match: { path: /u/:user-id }, legacy: legacy }\n`,
  `${BACKENDS}routes:\n  - { name: a, match: { path: /a, headers: { x-v: 2 } }, legacy: legacy }\n`,
  `${ROUTE}    split: { stickyKey: user }\n`,
  `${ROUTE}    split: { override: x-release-stage }\n`,
  `${ROUTE}    weight: 120\n`,
  `${ROUTE}    weight: 0.125\n`,
  `${BACKENDS}routes:\n  - { name: a, match: { path: /a }, legacy: legacy, weight: 5 }\n`,
  `${BACKENDS}routes:\n  - { name: a, match: { path: /a }, legacy: old }\n`,
  `${BACKENDS}routes:\n  - { name: a, match: { path: /a }, legacy: legacy, candidate: legacy }\n`,
  `${BACKENDS}routes:\n  - { name: a, match: { path: /a }, legacy: legacy }\n  - { name: a, match: { path: /b }, legacy: legacy }\n`,
  `${BACKENDS}routes:\n  - { name: a, match: { path: /u/:id }, legacy: legacy }\n  - { name: b, match: { path: /u/:uid }, legacy: legacy }\n`,
  `${BACKENDS}routes: []\nadmin:\n  token: \${ADMIN_TOKEN}\n`,
  `${BACKENDS}routes: []\nadmin:\n  token: \${ADMIN TOKEN}\n`,
  `${BACKENDS}routes: []\nadmin:\n  token: abc\${X\n`,
  `backends:\n  a: { url: "http://x", breaker: { errorRatio: 2 } }\nroutes: []\n`,
  `backends:\n  a: { url: "http://x", breaker: { window: 10 } }\nroutes: []\n`,
  `backends:\n  a: { url: "http://x", breaker: { probes: 0 } }\nroutes: []\n`,
  `backends:\n  a: { url: "http://x", breaker: { threshold: 5 } }\nroutes: []\n`,
  `backends:\n  a: { url: "http://x", breaker: true }\nroutes: []\n`,
  `backends:\n  a: { url: "http://x", outlier: { maxEjectedPercent: 150 } }\nroutes: []\n`,
  `${ROUTE}    fallback: { on: [oops] }\n`,
  `${ROUTE}    fallback: { methods: [FETCH] }\n`,
  `${ROUTE}    fallback: { maxBodyBytes: lots }\n`,
  `${ROUTE}    retry: { attempts: 20 }\n`,
  `${ROUTE}    retry: { budget: 1.5 }\n`,
  `${ROUTE}    retry: { backoff: 25 }\n`,
  `${ROUTE}    grpc: { failureCodes: [UNAVAILABEL] }\n`,
  `${ROUTE}    retry: { grpcCodes: [RESOURCE_EXHAUSTED] }\n`,
  `${ROUTE}    limit: { rps: 0 }\n`,
  `${ROUTE}    limit: { key: user }\n`,
  `${ROUTE}    concurrency: { max: 0 }\n`,
  `${ROUTE}    concurrency: { tolerance: 0.5 }\n`,
  `${ROUTE}    concurrency: { adaptive: yes }\n`,
  `${BACKENDS}routes: [\n`,
  `${BACKENDS}routes: []\nroutes: []\n`,
  `${BACKENDS}routes: *nope\n`,
  '',
  '- a\n',
];

function messagesOf(text: string): string[] {
  try {
    parseConfigText(text, 'cutover.yaml', {});
  } catch (err) {
    if (err instanceof ConfigError) return err.issues.map(formatConfigIssue);
    throw err;
  }
  assert.fail(`expected this config to be refused:\n${text}`);
}

test('every example message in docs/config.md is what the loader prints', () => {
  for (const text of EXAMPLES) {
    const lines = messagesOf(text);
    assert.equal(lines.length, 1, `one message expected for:\n${text}\ngot ${lines.join('\n')}`);
    assert.ok(DOC.includes(`\`${lines[0]}\``), `docs/config.md does not show: ${lines[0]}`);
  }
});
