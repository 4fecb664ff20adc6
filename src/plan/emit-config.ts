// `cutover plan --emit-config FILE`: a Cutover config skeleton for the first
// stage (L1). One route per entry point the traces showed (HTTP method +
// http.route, or gRPC service/method), a legacy and a candidate backend per
// module with placeholder URLs, and a rollout block with the default steps.
// The output must pass Cutover's own loader (test/plan/emit-config.test.ts).

import { Document, isMap, isScalar, visit, type YAMLMap } from 'yaml';
import { DEFAULTS } from '../config/index.ts';
import type { EntryPoint, PlanModule, PlanResult } from './plan-result.ts';

export interface EmitConfigOptions {
  /** What the plan was read from, for the header comment (`traces/ (3 files)`). */
  readonly source?: string;
}

/** Backend names: letters, digits, `.`, `_`, `-`, starting with a letter or digit (src/config/schema.ts). */
function backendName(text: string): string {
  const s = text.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^[^A-Za-z0-9]+/, '');
  return s === '' ? 'module' : s;
}

/** Route names: letters, digits, `_`, `-`, starting with a letter (src/config/schema.ts). */
function routeName(text: string): string {
  const s = text
    .replace(/[^A-Za-z0-9_-]+/g, '-')
    .replace(/-+/g, '-')
    .replace(/^[^A-Za-z]+/, '')
    .replace(/-$/, '');
  return s === '' ? 'route' : s;
}

function paramName(raw: string, index: number): string {
  const s = raw.replace(/[^A-Za-z0-9_]/g, '_');
  return /^[A-Za-z_]/.test(s) ? s : `p${index}`;
}

/**
 * A framework's route template as a Cutover path pattern (docs/config.md,
 * "Route matching"): `{id}`, `{id:[0-9]+}` (OpenAPI, Spring, ASP.NET),
 * `<int:id>` (Flask) and `:id` (Express) become `:id`; a catch-all last
 * segment (`*`, `**`, `{*rest}`, `{rest...}`, `*path`) becomes `*`. A segment
 * mixing text and a parameter (`{name}.json`) becomes a whole-segment
 * parameter: Cutover's patterns have no partial segments, so the route
 * matches a little more than the template did. Undefined for what is not a
 * path (no leading `/`).
 */
export function toPathPattern(template: string): string | undefined {
  const path = template.split(/[?#]/, 1)[0].trim();
  if (!path.startsWith('/')) return undefined;
  const segments = path.split('/').slice(1);
  const out: string[] = [];
  segments.forEach((seg, i) => {
    const last = i === segments.length - 1;
    const catchAll = /^(\*\*?|\{\*[^}]*\}|\{[^}]*\.\.\.\}|\*[A-Za-z_]\w*)$/.test(seg);
    if (catchAll) {
      out.push(last ? '*' : `:${paramName('', i)}`);
      return;
    }
    const param = /\{([^}:]*)(?::[^}]*)?\}|<(?:[^:>]*:)?([^>]*)>|^:(\w+)$/.exec(seg);
    if (param) out.push(`:${paramName(param[1] ?? param[2] ?? param[3] ?? '', i)}`);
    else if (seg.includes('*')) out.push(last ? '*' : `:${paramName('', i)}`);
    else out.push(seg);
  });
  // `/a/` and `/a` route the same; an empty last segment is dropped, `/` stays.
  if (out.length > 1 && out[out.length - 1] === '') out.pop();
  return `/${out.join('/')}`;
}

interface EmittedRoute {
  readonly name: string;
  readonly match: Record<string, unknown>;
  readonly legacy: string;
  readonly candidate: string;
  readonly rollout: { readonly steps: number[] };
}

/** Names come from traces: a line break inside a YAML comment would end it and start YAML. */
function oneLine(text: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: that is the point
  return text.replace(/[\x00-\x1f\x7f-\x9f\u2028\u2029]/g, '?');
}

function placeholderUrl(module: string, side: 'legacy' | 'candidate'): string {
  // RFC 6761: `.invalid` never resolves, so a skeleton nobody filled in fails loudly.
  return `http://${backendName(module).toLowerCase()}.${side}.invalid:8080`;
}

export function emitConfig(result: PlanResult, options: EmitConfigOptions = {}): string {
  const first = result.modules.filter((m) => m.stage === 'L1');
  const held = result.modules.filter((m) => m.stage !== 'L1').map((m) => m.name);
  const backends: Record<string, Record<string, string>> = {};
  const routes: EmittedRoute[] = [];
  const seenMatch = new Set<string>();
  const usedNames = new Set<string>();
  const skipped: string[] = [];
  let hasGrpc = false;

  const unique = (base: string): string => {
    let name = base;
    for (let n = 2; usedNames.has(name); n++) name = `${base}-${n}`;
    usedNames.add(name);
    return name;
  };

  for (const m of first) {
    const byCalls = [...m.entryPoints].sort((a, b) => b.calls - a.calls);
    const sides = backendsOf(m, byCalls, backends);
    for (const e of byCalls) {
      const match = matchOf(e);
      if (match === undefined) {
        skipped.push(`${m.name}: ${e.name} (not a path)`);
        continue;
      }
      const key = JSON.stringify(match);
      // Two modules serving the same entry point (a shared library, a proxy): the busier keeps it.
      if (seenMatch.has(key)) {
        skipped.push(`${m.name}: ${e.name} (already routed)`);
        continue;
      }
      seenMatch.add(key);
      if (e.kind === 'grpc') hasGrpc = true;
      const side = e.kind === 'grpc' ? sides.grpc : sides.http;
      routes.push({
        name: unique(
          routeName(
            `${m.name}-${e.kind === 'grpc' ? e.method : `${e.method}-${e.path}`}`,
          ).toLowerCase(),
        ),
        match,
        legacy: side.legacy,
        candidate: side.candidate,
        rollout: { steps: [...DEFAULTS.rollout.steps] },
      });
    }
  }

  const doc = new Document({
    // gRPC clients speak HTTP/2 (h2c); one port takes both when the listener lists both.
    listen: [{ address: '0.0.0.0:8080', protocols: hasGrpc ? ['http1', 'h2'] : ['http1'] }],
    backends,
    routes,
  });
  // Small collections on one line (`match: { path, methods: [GET] }`), as docs/config.md writes them.
  visit(doc, {
    Pair(_, pair) {
      if (isScalar(pair.key) && pair.key.value === 'match' && isMap(pair.value))
        pair.value.flow = true;
    },
    Seq(_, seq) {
      if (seq.items.every((i) => isScalar(i))) seq.flow = true;
    },
  });
  doc.commentBefore = [
    ` Cutover config skeleton from \`cutover plan\`${options.source ? ` (${options.source})` : ''}.`,
    ` Stage L1 (move first): ${first.map((m) => oneLine(m.name)).join(', ') || 'no module'}.`,
    held.length > 0
      ? ` Held for later stages (L2, L3): ${held.map(oneLine).join(', ')}.`
      : undefined,
    ' Fill in every backend URL: the *.invalid placeholders never resolve (RFC 6761).',
    ' Each route starts its rollout at load: shadow, then the steps below (docs/config.md, "Rollouts").',
    ...skipped.map((s) => ` Not routed: ${oneLine(s)}`),
  ]
    .filter((l) => l !== undefined)
    .join('\n');
  const backendMap = doc.get('backends', true) as YAMLMap | undefined;
  if (backendMap)
    backendMap.commentBefore =
      ' Placeholders: replace each url with the module legacy service and its rewrite.';
  return doc.toString({ lineWidth: 0, flowCollectionPadding: false });
}

interface SidePair {
  readonly legacy: string;
  readonly candidate: string;
}

/** A legacy and a candidate backend for the module, plus an HTTP/2 (h2c) pair when it serves gRPC. */
function backendsOf(
  m: PlanModule,
  entries: readonly EntryPoint[],
  backends: Record<string, Record<string, string>>,
): { http: SidePair; grpc: SidePair } {
  const base = backendName(m.name);
  const add = (suffix: string, grpc: boolean): SidePair => {
    const legacy = `${base}${suffix}-legacy`;
    const candidate = `${base}${suffix}-candidate`;
    backends[legacy] = { url: placeholderUrl(`${m.name}${suffix}`, 'legacy') };
    backends[candidate] = { url: placeholderUrl(`${m.name}${suffix}`, 'candidate') };
    if (grpc) {
      backends[legacy].protocol = 'h2c';
      backends[candidate].protocol = 'h2c';
    }
    return { legacy, candidate };
  };
  const kinds = new Set(entries.map((e) => e.kind));
  const http = kinds.has('http') || !kinds.has('grpc') ? add('', false) : undefined;
  const grpc = kinds.has('grpc') ? add(http ? '-grpc' : '', true) : undefined;
  return { http: http ?? grpc!, grpc: grpc ?? http! };
}

function matchOf(e: EntryPoint): Record<string, unknown> | undefined {
  if (e.kind === 'grpc') {
    if (!/^[A-Za-z_]\w*(\.[A-Za-z_]\w*)*$/.test(e.path)) return undefined;
    return /^[A-Za-z_]\w*$/.test(e.method)
      ? { grpc: { service: e.path, method: e.method } }
      : { grpc: { service: e.path } };
  }
  const path = toPathPattern(e.path);
  if (path === undefined) return undefined;
  const method = e.method.toUpperCase();
  return /^[A-Z]+$/.test(method) ? { path, methods: [method] } : { path };
}
