// Protobuf descriptors for shadow diffs of gRPC answers (issue 12), read when
// the config is loaded: a FileDescriptorSet as `protoc --descriptor_set_out`
// writes it (`shadow.compare.protoset`), or .proto files parsed by protobufjs
// (`shadow.compare.protos`, imports found beside the importing file, then in
// `shadow.compare.protoPaths` like protoc's --proto_path). Reading them here,
// in the loader, makes a missing or broken file a config error naming its
// line in the YAML (and `cutover validate` reports it); the result is plain
// data — protobufjs' own JSON form of the types, which it reads back without
// loss — so it crosses to the compare workers as a string, not as objects.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import protobuf from 'protobufjs';
import descriptor from 'protobufjs/ext/descriptor.js';
import type { FieldPath, PathIssue } from './normalize.ts';
import type { CompareRulesConfig, ProtoDescriptors, ShadowConfig } from './types.ts';

/** A problem with one of the proto fields: which field (and list index), and why. */
export interface ProtoProblem {
  readonly field: 'protoset' | 'protos' | 'protoPaths';
  readonly index?: number;
  readonly message: string;
}

export type ProtoLoad =
  | { readonly descriptors: ProtoDescriptors | undefined }
  | { readonly problem: ProtoProblem };

/**
 * The well-known types protobufjs bundles. A set written without
 * --include_imports lacks the ones its files import; they are added from
 * here, since their definitions never change.
 */
const BUNDLED_FILES = [
  'any',
  'duration',
  'empty',
  'field_mask',
  'struct',
  'timestamp',
  'wrappers',
].map((n) => `google/protobuf/${n}.proto`);

/**
 * Descriptors read once per file set, however many routes name it (each
 * route's rules come from its own block or, whole, from `defaults:`); a
 * problem is reported once, at the block that names the files.
 */
export class ProtoFiles {
  readonly #baseDir: string;
  readonly #loads = new Map<string, ProtoLoad>();
  readonly #reported = new Set<string>();

  /** `source`: the config file, whose directory relative proto paths start from. */
  constructor(source: string) {
    this.#baseDir = source.startsWith('<') ? process.cwd() : dirname(source);
  }

  /** The shadow config with its descriptors, or as it is when there are none or they failed. */
  attach(
    shadow: ShadowConfig | undefined,
    own: boolean,
    at: FieldPath,
    issues: PathIssue[],
  ): ShadowConfig | undefined {
    const rules = shadow?.compare;
    if (shadow === undefined || rules === undefined) return shadow;
    if (rules.protoset === undefined && rules.protos === undefined) return shadow;
    const key = JSON.stringify([rules.protoset, rules.protos, rules.protoPaths]);
    let load = this.#loads.get(key);
    if (load === undefined) {
      load = loadProtoDescriptors(rules, this.#baseDir);
      this.#loads.set(key, load);
    }
    if ('problem' in load) {
      const { field, index, message } = load.problem;
      const path = [...(own ? at : ['defaults', 'shadow']), 'compare', field];
      if (index !== undefined) path.push(index);
      const text = JSON.stringify(path);
      if (!this.#reported.has(text)) {
        this.#reported.add(text);
        issues.push({ path, message });
      }
      return shadow;
    }
    return Object.freeze({ ...shadow, proto: load.descriptors });
  }
}

/** Rules without proto fields have no descriptors; rules with both are refused. */
export function loadProtoDescriptors(rules: CompareRulesConfig, baseDir: string): ProtoLoad {
  const { protoset, protos } = rules;
  if (protoset !== undefined && protos !== undefined) {
    return { problem: { field: 'protos', message: 'expected protoset or protos, not both' } };
  }
  if (protoset === undefined && protos === undefined) return { descriptors: undefined };
  try {
    if (protoset !== undefined) return fromProtoset(resolve(baseDir, protoset));
    const includes = (rules.protoPaths ?? []).map((p) => resolve(baseDir, p));
    for (const [index, dir] of includes.entries()) {
      if (!existsSync(dir)) {
        return { problem: { field: 'protoPaths', index, message: `no such directory ${dir}` } };
      }
    }
    return fromProtos(
      (protos ?? []).map((p) => resolve(baseDir, p)),
      includes,
    );
  } catch (err) {
    return {
      problem: {
        field: protoset !== undefined ? 'protoset' : 'protos',
        message: (err as Error).message,
      },
    };
  }
}

function describe(root: protobuf.Root, files: readonly string[]): ProtoDescriptors {
  const json = JSON.stringify(root.toJSON());
  return Object.freeze({
    files: Object.freeze([...files]),
    key: createHash('sha256').update(json).digest('base64url'),
    json,
  });
}

function fromProtoset(file: string): ProtoLoad {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (err) {
    return { problem: { field: 'protoset', message: `cannot read ${file}: ${reason(err)}` } };
  }
  let set: descriptor.IFileDescriptorSet;
  try {
    set = descriptor.FileDescriptorSet.decode(bytes) as unknown as descriptor.IFileDescriptorSet;
  } catch (err) {
    return { problem: { field: 'protoset', message: notASet(file, reason(err)) } };
  }
  const files = set.file ?? [];
  if (files.length === 0 || files.some((f) => !f.name)) {
    return { problem: { field: 'protoset', message: notASet(file, 'it holds no named file') } };
  }
  const withBundled = { file: [...files, ...missingBundledFiles(files)] };
  let root: protobuf.Root;
  try {
    root = protobuf.Root.fromDescriptor(withBundled);
  } catch (err) {
    const why = reason(err);
    const hint = /^no such type/i.test(why)
      ? '; a file it imports is not in the set (write it with protoc --include_imports)'
      : '';
    return { problem: { field: 'protoset', message: `${file}: ${why}${hint}` } };
  }
  return { descriptors: describe(root, [file]) };
}

function notASet(file: string, why: string): string {
  return `${file} is not a FileDescriptorSet (as protoc --descriptor_set_out writes): ${why}`;
}

/** Bundled well-known files whose types no file of the set defines. */
function missingBundledFiles(
  files: readonly descriptor.IFileDescriptorProto[],
): descriptor.IFileDescriptorProto[] {
  const defined = new Set<string>();
  for (const f of files) {
    for (const m of f.messageType ?? []) defined.add(`${f.package ?? ''}.${m.name ?? ''}`);
  }
  const out: descriptor.IFileDescriptorProto[] = [];
  for (const name of BUNDLED_FILES) {
    const root = protobuf.Root.fromJSON(protobuf.common.get(name) as protobuf.INamespace);
    const set = root.toDescriptor('proto3');
    for (const f of set.file ?? []) {
      const types = (f.messageType ?? []).map((m) => `${f.package ?? ''}.${m.name ?? ''}`);
      if (types.some((t) => !defined.has(t))) out.push({ ...f, name });
    }
  }
  return out;
}

function fromProtos(files: readonly string[], includes: readonly string[]): ProtoLoad {
  for (const [index, file] of files.entries()) {
    if (!existsSync(file)) {
      return { problem: { field: 'protos', index, message: `cannot read ${file}: no such file` } };
    }
  }
  const root = new protobuf.Root();
  // The first load names an absolute file; an import is looked for beside
  // the importing file, then in each include directory, as protoc does.
  root.resolvePath = (origin: string, target: string): string => {
    if (origin === '' || isAbsolute(target)) return target;
    const dirs = [dirname(origin), ...includes];
    const found = dirs.map((d) => resolve(d, target)).find((p) => existsSync(p));
    if (found !== undefined) return found;
    throw new Error(
      `import "${target}" of ${origin} not found in ${dirs.join(', ')} (add its directory to protoPaths)`,
    );
  };
  try {
    root.loadSync([...files], { keepCase: false });
    root.resolveAll();
  } catch (err) {
    // protobufjs names the file and line of a parse error: "illegal id ';' (a.proto, line 3)".
    const message = `cannot load ${files.join(', ')}: ${reason(err)}`;
    return { problem: { field: 'protos', message } };
  }
  return { descriptors: describe(root, files) };
}

function reason(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
