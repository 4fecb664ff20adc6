// Reads trace exports (files, folders, `-` for stdin) one chunk at a time and
// hands each normalised span to `onSpan`; awaiting a returned promise before
// the next chunk is read gives the caller backpressure.
import { createReadStream } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { TraceFileError } from '../../errors.ts';
import type { PlanSpan } from '../span.ts';
import { ElementScanner, ScanFault, type ScannedElement } from './element-scanner.ts';
import {
  fromJaegerTrace,
  fromOtlpResource,
  fromZipkin,
  type Normalised,
  type SkipReason,
} from './normalise.ts';

export type TraceFormat = 'zipkin' | 'jaeger' | 'otlp';

/** A span skipped for a missing field, reported as it is met. */
export interface SpanProblem {
  readonly file: string;
  readonly format: TraceFormat;
  readonly reason: SkipReason;
  /** Index of the element in its array (the span for Zipkin, the trace / resource for Jaeger / OTLP). */
  readonly index: number;
  readonly spanId: string | undefined;
}

export interface ReadOptions {
  readonly onSpan: (span: PlanSpan) => void | Promise<void>;
  readonly onProblem?: (problem: SpanProblem) => void;
  /** What `-` reads; process.stdin by default. */
  readonly stdin?: Readable;
}

export interface ReadSummary {
  readonly files: readonly {
    readonly file: string;
    readonly format: TraceFormat | undefined;
    readonly spans: number;
  }[];
  readonly spans: number;
  readonly skipped: Readonly<Partial<Record<SkipReason, number>>>;
  readonly elapsedMs: number;
}

const FORMAT_OF_KEY: Readonly<Record<string, TraceFormat>> = {
  '': 'zipkin',
  data: 'jaeger',
  resourceSpans: 'otlp',
};

/** Files and folders (every .json / .jsonl inside, sorted, recursively) → the files to read. */
async function expand(inputs: readonly string[]): Promise<string[]> {
  const files: string[] = [];
  for (const input of inputs) {
    if (input === '-') {
      files.push(input);
      continue;
    }
    let info: Awaited<ReturnType<typeof stat>>;
    try {
      info = await stat(input);
    } catch (err) {
      throw new TraceFileError(input, (err as Error).message, { cause: err });
    }
    if (!info.isDirectory()) {
      files.push(input);
      continue;
    }
    const names = (await readdir(input, { recursive: true }))
      .filter((n) => n.endsWith('.json') || n.endsWith('.jsonl'))
      .sort();
    for (const n of names) files.push(join(input, n));
  }
  return files;
}

function idIn(text: string): string | undefined {
  return /"(?:id|spanId|spanID)"\s*:\s*"([^"]*)"/.exec(text)?.[1];
}

function parseElement(file: string, e: ScannedElement): unknown {
  try {
    return JSON.parse(e.text);
  } catch (err) {
    const id = idIn(e.text);
    const what = e.key === '' ? 'span' : e.key === 'data' ? 'trace' : 'resourceSpans entry';
    throw new TraceFileError(
      file,
      `${what} ${e.index}${id ? ` (id ${id})` : ''} at byte ${e.offset} is malformed: ${(err as Error).message}`,
      { cause: err },
    );
  }
}

function normalise(format: TraceFormat, value: unknown): Normalised[] {
  // Zipkin's `GET /api/v2/traces` answers a list of traces, each a list of
  // spans: an element that is an array is one trace (held alone, as a Jaeger trace is).
  if (format === 'zipkin')
    return Array.isArray(value) ? value.map(fromZipkin) : [fromZipkin(value)];
  return format === 'jaeger' ? fromJaegerTrace(value) : fromOtlpResource(value);
}

export async function readSpans(
  inputs: readonly string[],
  options: ReadOptions,
): Promise<ReadSummary> {
  const started = performance.now();
  const files: { file: string; format: TraceFormat | undefined; spans: number }[] = [];
  const skipped: Partial<Record<SkipReason, number>> = {};
  let total = 0;
  for (const file of await expand(inputs)) {
    const entry: { file: string; format: TraceFormat | undefined; spans: number } = {
      file,
      format: undefined,
      spans: 0,
    };
    files.push(entry);
    const name = file === '-' ? '(stdin)' : file;
    const stream = file === '-' ? (options.stdin ?? process.stdin) : createReadStream(file);
    const scanner = new ElementScanner(['data', 'resourceSpans']);
    try {
      for await (const chunk of stream) {
        const buf = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
        for (const e of scanner.push(buf)) {
          const format = FORMAT_OF_KEY[e.key];
          if (entry.format !== undefined && entry.format !== format) {
            throw new TraceFileError(
              name,
              `mixes ${entry.format} and ${format} at byte ${e.offset}`,
            );
          }
          entry.format = format;
          for (const n of normalise(format, parseElement(name, e))) {
            if ('span' in n) {
              entry.spans++;
              total++;
              const pending = options.onSpan(n.span);
              if (pending) await pending;
            } else {
              skipped[n.skipped] = (skipped[n.skipped] ?? 0) + 1;
              options.onProblem?.({
                file: name,
                format,
                reason: n.skipped,
                index: e.index,
                spanId: n.id,
              });
            }
          }
        }
      }
      scanner.end();
      // An empty export (`[]`, `{"data":[]}`) is valid: its format comes from the array seen.
      const first = scanner.firstKey;
      if (entry.format === undefined && first !== undefined) entry.format = FORMAT_OF_KEY[first];
    } catch (err) {
      if (file !== '-') (stream as Readable).destroy();
      if (err instanceof TraceFileError) throw err;
      if (err instanceof ScanFault) {
        throw new TraceFileError(name, `${err.message} at byte ${err.offset}`, { cause: err });
      }
      throw new TraceFileError(name, (err as Error).message, { cause: err });
    }
    if (entry.format === undefined) {
      throw new TraceFileError(
        name,
        'not a trace export: expected a Zipkin v2 array, a Jaeger { "data": [...] } or an OTLP { "resourceSpans": [...] } document',
      );
    }
  }
  return { files, spans: total, skipped, elapsedMs: performance.now() - started };
}
