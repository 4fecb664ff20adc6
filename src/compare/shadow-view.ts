// How shadow results are shown to people: values redacted and cut, a kept
// mismatch turned into a sample with its unified body diff. Counting
// (results.ts) never builds any of this; it asks for a field's shown value
// when it keeps one, and for a sample's view when someone reads it.
import { grpcDocuments, isGrpcMediaType } from './grpc-answer.ts';
import { type Difference, normalizedJsonText } from './json-diff.ts';
import { type PathStep, parsePath } from './path.ts';
import type { ProtoSchema } from './proto-schema.ts';
import { REDACTED, Redactor } from './redact.ts';
import { isJsonMediaType, mediaType, parseJsonBody } from './response.ts';
import type { ShadowPair } from './results.ts';
import type { CompiledCompareRules } from './rules.ts';
import { unifiedDiff } from './unified-diff.ts';

/** One kept mismatch, as shown to people: redacted and size-bounded. */
export interface ShadowSample {
  /** ISO 8601 time of `record()`. */
  readonly at: string;
  readonly method: string;
  readonly url: string;
  readonly legacyStatus: number;
  readonly candidateStatus: number;
  /** The first SAMPLE_DIFFERENCES differences, values redacted and cut. */
  readonly differences: readonly Difference[];
  /** Unified diff of the normalised JSON bodies, or a note on non-JSON bodies; '' when equal. */
  readonly diff: string;
  readonly requestHeaders: Readonly<Record<string, string | string[] | number>>;
  readonly legacyMs: number;
  readonly candidateMs: number;
}

/** Longest JSON text of a value kept in field statistics and samples. */
const FIELD_VALUE_CHARS = 200;
/** Longest sample diff text. */
const SAMPLE_DIFF_CHARS = 4000;

/** A value small enough to show and store: cut JSON text past `FIELD_VALUE_CHARS`. */
function smallValue(value: unknown): unknown {
  if (value === undefined || value === null || typeof value === 'number') return value;
  if (typeof value === 'boolean') return value;
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  if (text === undefined) return undefined;
  if (text.length <= FIELD_VALUE_CHARS) return value;
  return `${text.slice(0, FIELD_VALUE_CHARS - 1)}…`;
}

export class ShadowView {
  readonly #redactor: Redactor;
  readonly #compiled: CompiledCompareRules;
  /** Whether the redactor has JSON path rules (it returns its input untouched otherwise). */
  readonly #redactsJson: boolean;
  /** The route's protobuf types: gRPC samples show their messages as JSON. */
  readonly #schema: ProtoSchema | undefined;

  constructor(
    compiled: CompiledCompareRules,
    redactor: Redactor = new Redactor(),
    schema?: ProtoSchema,
  ) {
    this.#redactor = redactor;
    this.#compiled = compiled;
    this.#schema = schema;
    const probe = {};
    this.#redactsJson = redactor.json(probe) !== probe;
  }

  /** A difference's value as shown: redacted when its path or header is, then cut. */
  fieldValue(path: string, value: unknown): unknown {
    if (value === undefined) return undefined;
    if (path.startsWith('header:')) {
      const name = path.slice('header:'.length);
      return smallValue(this.#redactor.headers({ [name]: value as string })[name]);
    }
    if (path[0] === '$' && this.#redactsJson) return smallValue(this.#redactAt(path, value));
    return smallValue(value);
  }

  /** A kept pair as a sample: request headers and values redacted, the body diff built. */
  sample(at: number, pair: ShadowPair, differences: readonly Difference[]): ShadowSample {
    const headers: Record<string, string | string[] | number> = {};
    for (const [name, v] of Object.entries(this.#redactor.headers(pair.requestHeaders))) {
      if (v !== undefined) headers[name] = v;
    }
    return {
      at: new Date(at).toISOString(),
      method: pair.method,
      url: pair.url,
      legacyStatus: pair.legacy.status,
      candidateStatus: pair.candidate.status,
      differences: differences.map((d) => this.#shownDifference(d)),
      diff: this.#bodyDiff(pair),
      requestHeaders: headers,
      legacyMs: pair.legacyMs,
      candidateMs: pair.candidateMs,
    };
  }

  /**
   * Redact a value found at `path` of a body: wrap it in a skeleton document
   * with the same path, so the redactor's path rules apply to it as they
   * would to the whole body.
   */
  #redactAt(path: string, value: unknown): unknown {
    let steps: PathStep[];
    try {
      steps = parsePath(path);
    } catch {
      // A key that path syntax cannot spell back (a quote in it): hide rather than leak.
      return REDACTED;
    }
    let doc = value;
    for (let i = steps.length - 1; i >= 0; i--) {
      const step = steps[i];
      if (typeof step === 'number') {
        const arr: unknown[] = [];
        arr[step] = doc;
        doc = arr;
      } else {
        doc = { [step as string]: doc };
      }
    }
    let out = this.#redactor.json(doc);
    for (const step of steps) out = (out as Record<string | number, unknown>)[step as string];
    return out;
  }

  #shownDifference(d: Difference): Difference {
    const legacy = this.fieldValue(d.path, d.legacy);
    const candidate = this.fieldValue(d.path, d.candidate);
    const out: { -readonly [K in keyof Difference]: Difference[K] } = {
      path: d.path,
      pattern: d.pattern,
      kind: d.kind,
    };
    if (legacy !== undefined) out.legacy = legacy;
    if (candidate !== undefined) out.candidate = candidate;
    if (d.noise) out.noise = true;
    return out;
  }

  /** Diff of the normalised, redacted JSON bodies (or decoded gRPC messages); a note otherwise. */
  #bodyDiff(pair: ShadowPair): string {
    const { legacy, candidate } = pair;
    const type = mediaType(legacy.headers) || mediaType(candidate.headers);
    if (isGrpcMediaType(type)) {
      const path = pair.url.split('?', 1)[0];
      const docs = grpcDocuments(type, legacy, candidate, { schema: this.#schema, path });
      if (!('why' in docs)) return this.#jsonDiff(docs.legacy, docs.candidate);
      if (sameBytes(legacy.body, candidate.body)) return '';
      return `gRPC messages compared byte for byte (${docs.why}): legacy ${legacy.body.byteLength} bytes, candidate ${candidate.body.byteLength} bytes`;
    }
    const a = isJsonMediaType(type) ? parseJsonBody(legacy.body) : undefined;
    const b = a === undefined ? undefined : parseJsonBody(candidate.body);
    if (a === undefined || b === undefined) {
      if (sameBytes(legacy.body, candidate.body)) return '';
      return `body not compared as JSON (${type || 'no content type'}): legacy ${legacy.body.byteLength} bytes, candidate ${candidate.body.byteLength} bytes`;
    }
    return this.#jsonDiff(a.value, b.value);
  }

  #jsonDiff(legacy: unknown, candidate: unknown): string {
    const rules = this.#compiled;
    return unifiedDiff(
      normalizedJsonText(this.#redactor.json(legacy), rules),
      normalizedJsonText(this.#redactor.json(candidate), rules),
      SAMPLE_DIFF_CHARS,
    );
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(b);
}

/**
 * Samples read back from the state store (written by an earlier process):
 * the ones with the shape of a ShadowSample, the rest dropped.
 */
export function restoredSamples(value: unknown): ShadowSample[] {
  if (!Array.isArray(value)) return [];
  return value.filter(isShadowSample);
}

function isShadowSample(v: unknown): v is ShadowSample {
  if (v === null || typeof v !== 'object') return false;
  const s = v as Record<string, unknown>;
  return (
    typeof s.at === 'string' &&
    typeof s.method === 'string' &&
    typeof s.url === 'string' &&
    typeof s.legacyStatus === 'number' &&
    typeof s.candidateStatus === 'number' &&
    typeof s.diff === 'string' &&
    Array.isArray(s.differences) &&
    s.requestHeaders !== null &&
    typeof s.requestHeaders === 'object' &&
    typeof s.legacyMs === 'number' &&
    typeof s.candidateMs === 'number'
  );
}
