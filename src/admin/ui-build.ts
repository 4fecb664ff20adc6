// Builds the dashboard's files in memory, once: the TypeScript sources in
// ui/ with their types stripped (Node's own stripper, no bundler), the vendor
// ES modules (Preact, its hooks, htm, uPlot) copied from node_modules, every
// import rewritten to a content-hashed URL so that assets can be cached for a
// year and a new build is a new URL. Nothing is written to disk, so a fresh
// `npm ci` serves the dashboard with no build step.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { stripTypeScriptTypes } from 'node:module';
import { gzipSync } from 'node:zlib';

/** Where the built files are served from (also the prefix of every rewritten import). */
export const ASSET_PREFIX = '/ui/assets/';

export interface UiAsset {
  readonly body: Buffer;
  /** The same body gzipped (level 9, built once), sent to clients that accept gzip. */
  readonly gzip: Buffer;
  readonly type: string;
}

export interface UiBundle {
  /** index.html, which names the hashed entry files. */
  readonly index: UiAsset;
  /** By URL path (`/ui/assets/app.1a2b3c4d.js`). */
  readonly assets: ReadonlyMap<string, UiAsset>;
}

const JS = 'text/javascript; charset=utf-8';
const CSS = 'text/css; charset=utf-8';

const ui = (name: string): URL => new URL(`../../ui/${name}`, import.meta.url);
const vendor = (name: string): URL => new URL(`../../node_modules/${name}`, import.meta.url);

/**
 * The bare imports the sources may use and the ES module file of each.
 * uPlot ships its ESM build unminified (145 kB); its minified IIFE (51 kB)
 * defines a `var uPlot`, which a module turns into an export with one line.
 */
const VENDOR: Readonly<Record<string, { file: URL; name: string; wrap?: string }>> = {
  preact: { file: vendor('preact/dist/preact.mjs'), name: 'preact' },
  'preact/hooks': { file: vendor('preact/hooks/dist/hooks.mjs'), name: 'preact-hooks' },
  htm: { file: vendor('htm/dist/htm.module.js'), name: 'htm' },
  uplot: {
    file: vendor('uplot/dist/uPlot.iife.min.js'),
    name: 'uplot',
    wrap: '\nexport default uPlot;\n',
  },
};

/** The stylesheets, in the order index.html links them (ours last, so it wins). */
const STYLES: readonly { file: URL; name: string }[] = [
  { file: vendor('uplot/dist/uPlot.min.css'), name: 'uplot' },
  { file: ui('app.css'), name: 'app' },
];

/**
 * `import … from '…'`, `export … from '…'` and `import '…'` (minified too:
 * `from"preact"`). Dynamic `import()` is not used by the sources nor the vendors.
 */
const IMPORT_SPECIFIER = /(\bfrom\s*|\bimport\s*)(["'])([^"']+)\2/g;

/** A build source map's trailing comment: the .map files are not served. */
const SOURCE_MAP = /\n\/\/# sourceMappingURL=\S+\s*$/;

function hash8(body: string | Buffer): string {
  return createHash('sha256').update(body).digest('hex').slice(0, 8);
}

function asset(body: string | Buffer, type: string): UiAsset {
  const b = typeof body === 'string' ? Buffer.from(body) : body;
  return { body: b, gzip: gzipSync(b, { level: 9 }), type };
}

/**
 * Node's own type stripper, without its one ExperimentalWarning: a line
 * printed to stderr at the first dashboard visit, outside the JSON log, that
 * tells an operator nothing they can act on (the same stripper runs every
 * .ts file of the gateway). Only that warning is held back.
 */
function stripTypes(source: string): string {
  const emit = process.emitWarning;
  process.emitWarning = ((warning: string | Error, ...rest: unknown[]) => {
    const text = typeof warning === 'string' ? warning : warning.message;
    if (text.startsWith('stripTypeScriptTypes')) return;
    (emit as (...args: unknown[]) => void).call(process, warning, ...rest);
  }) as typeof process.emitWarning;
  try {
    return stripTypeScriptTypes(source, { mode: 'strip' });
  } finally {
    process.emitWarning = emit;
  }
}

class Builder {
  readonly assets = new Map<string, UiAsset>();
  /** Module key (a bare name or a ui/ URL) → its hashed URL path; also marks modules in progress. */
  readonly #built = new Map<string, string>();
  readonly #inProgress = new Set<string>();

  /** The hashed URL of a module, building it (and its imports, first) when needed. */
  module(key: string): string {
    const done = this.#built.get(key);
    if (done) return done;
    // A cycle would need the URL of a module not yet hashed: the sources keep their imports a tree.
    if (this.#inProgress.has(key)) throw new Error(`dashboard sources import in a cycle at ${key}`);
    this.#inProgress.add(key);
    const v = VENDOR[key];
    const file = v ? v.file : new URL(key);
    const raw = readFileSync(file, 'utf8').replace(SOURCE_MAP, '\n');
    const code = v ? raw + (v.wrap ?? '') : stripTypes(raw);
    const rewritten = code.replace(
      IMPORT_SPECIFIER,
      (_all, lead: string, q: string, spec: string) => {
        return `${lead}${q}${this.module(this.#resolve(spec, file))}${q}`;
      },
    );
    const name = v ? v.name : (file.pathname.split('/').pop() ?? 'module').replace(/\.ts$/, '');
    const path = `${ASSET_PREFIX}${name}.${hash8(rewritten)}.js`;
    this.assets.set(path, asset(rewritten, JS));
    this.#inProgress.delete(key);
    this.#built.set(key, path);
    return path;
  }

  #resolve(spec: string, from: URL): string {
    if (VENDOR[spec]) return spec;
    if (spec.startsWith('./') && spec.endsWith('.ts') && from.href.startsWith(ui('').href)) {
      return new URL(spec, from).href;
    }
    throw new Error(
      `dashboard module ${from.pathname} imports ${spec}: not a ui/ file nor a vendor`,
    );
  }

  style(file: URL, name: string): string {
    const body = readFileSync(file);
    const path = `${ASSET_PREFIX}${name}.${hash8(body)}.css`;
    this.assets.set(path, asset(body, CSS));
    return path;
  }

  file(file: URL, name: string, ext: string, type: string): string {
    const body = readFileSync(file);
    const path = `${ASSET_PREFIX}${name}.${hash8(body)}.${ext}`;
    this.assets.set(path, asset(body, type));
    return path;
  }
}

/** Throws when a source is missing or imports something it may not (a bug of ours, met at first /ui). */
export function buildUi(): UiBundle {
  const b = new Builder();
  const entry = b.module(ui('app.ts').href);
  const styles = STYLES.map((s) => b.style(s.file, s.name));
  const icon = b.file(ui('icon.svg'), 'icon', 'svg', 'image/svg+xml');
  // Preload every module: the browser fetches them in parallel instead of one import level at a time.
  const preloads = [...b.assets.keys()].filter((p) => p.endsWith('.js') && p !== entry);
  const html = readFileSync(ui('index.html'), 'utf8').replace(
    '<!--head-->',
    [
      `<link rel="icon" href="${icon}">`,
      ...styles.map((s) => `<link rel="stylesheet" href="${s}">`),
      ...preloads.map((p) => `<link rel="modulepreload" href="${p}">`),
      `<script type="module" src="${entry}"></script>`,
    ].join('\n    '),
  );
  return { index: asset(html, 'text/html; charset=utf-8'), assets: b.assets };
}

/** Bytes the browser downloads for a first visit: every asset and index.html, raw and gzipped. */
export function bundleSize(bundle: UiBundle): { bytes: number; gzip: number } {
  let bytes = bundle.index.body.length;
  let gzip = bundle.index.gzip.length;
  for (const a of bundle.assets.values()) {
    bytes += a.body.length;
    gzip += a.gzip.length;
  }
  return { bytes, gzip };
}
