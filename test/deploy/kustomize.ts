// Reads a kustomization the way `kubectl apply -k` would, far enough for the
// tests: every document of every file in `resources` (directories are
// kustomizations of their own, read recursively) and the ConfigMaps of
// `configMapGenerator`. Anything else kustomize can do (patches, name
// prefixes, …) is refused with a message, so a new feature in
// deploy/kubernetes cannot slip past the tests half-read.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const KUBERNETES = join(ROOT, 'deploy/kubernetes');

export type KubeObject = Record<string, unknown> & {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string> };
};

export interface Manifest {
  /** Where it came from, relative to the repository: `deploy/kubernetes/base/pdb.yaml#0`. */
  readonly source: string;
  readonly object: KubeObject;
}

/**
 * Keys of kustomization.yaml this reader follows. `images` only changes
 * image names, which no test reads.
 */
const KNOWN_KEYS = new Set(['apiVersion', 'kind', 'resources', 'configMapGenerator', 'images']);

interface Generator {
  name: string;
  files?: string[];
  literals?: string[];
}

function where(path: string): string {
  return relative(ROOT, path);
}

/** Every YAML document of a file, in order; a syntax error fails with the file's name. */
export function readDocuments(file: string): Manifest[] {
  const out: Manifest[] = [];
  parseAllDocuments(readFileSync(file, 'utf8')).forEach((doc, i) => {
    if (doc.errors.length > 0) {
      throw new Error(`${where(file)}#${i}: ${doc.errors.map((e) => e.message).join('; ')}`);
    }
    const object = doc.toJS() as KubeObject | null;
    if (object !== null) out.push({ source: `${where(file)}#${i}`, object });
  });
  return out;
}

function generatedConfigMap(dir: string, g: Generator): Manifest {
  const data: Record<string, string> = {};
  for (const entry of g.files ?? []) {
    // `key=path` names the key; a bare path uses the file's name.
    const [key, path] = entry.includes('=') ? entry.split('=', 2) : [basename(entry), entry];
    data[key] = readFileSync(join(dir, path), 'utf8');
  }
  for (const literal of g.literals ?? []) {
    const eq = literal.indexOf('=');
    data[literal.slice(0, eq)] = literal.slice(eq + 1);
  }
  return {
    source: `${where(join(dir, 'kustomization.yaml'))} configMapGenerator ${g.name}`,
    // kustomize appends a hash of the content to the name and rewrites every
    // reference to it the same way; the name before the hash is what they name.
    object: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: g.name }, data },
  };
}

/** The objects a kustomization directory produces, in the order kustomize reads them. */
export function loadKustomization(dir: string, seen: Set<string> = new Set()): Manifest[] {
  const root = resolve(dir);
  if (seen.has(root)) throw new Error(`${where(root)}: included twice`);
  seen.add(root);
  const file = join(root, 'kustomization.yaml');
  if (!existsSync(file)) throw new Error(`${where(root)}: no kustomization.yaml`);
  const k = readDocuments(file)[0]?.object as Record<string, unknown> | undefined;
  if (k?.kind !== 'Kustomization') throw new Error(`${where(file)}: not a Kustomization`);
  for (const key of Object.keys(k)) {
    if (!KNOWN_KEYS.has(key)) {
      throw new Error(`${where(file)}: "${key}" is not read by test/deploy/kustomize.ts; teach it`);
    }
  }
  const out: Manifest[] = [];
  for (const entry of (k.resources ?? []) as string[]) {
    const path = join(root, entry);
    if (statSync(path).isDirectory()) out.push(...loadKustomization(path, seen));
    else out.push(...readDocuments(path));
  }
  for (const g of (k.configMapGenerator ?? []) as Generator[]) {
    out.push(generatedConfigMap(root, g));
  }
  return out;
}

/** The one object of a kind and name; fails when there is none or several. */
export function find(manifests: readonly Manifest[], kind: string, name: string): KubeObject {
  const found = manifests.filter((m) => m.object.kind === kind && m.object.metadata.name === name);
  if (found.length !== 1) {
    throw new Error(`expected one ${kind} ${name}, found ${found.length}`);
  }
  return found[0].object;
}
