// Zipkin's `GET /api/v2/traces` answers a list of traces, each a list of
// spans (`[[span, …], …]`), while the trace readers take Zipkin's flat list of
// spans. This transform drops the inner brackets as the bytes stream past, so
// the answer is never held whole: `[[a, b], [], [c]]` → `[a,b,c]`. A flat
// list (`[a, b]`) passes through unchanged. Only JSON structure is looked at
// (strings are skipped with their escapes); anything malformed reaches the
// reader, which names where it broke.
import { Transform, type TransformCallback } from 'node:stream';

const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const COMMA = 0x2c;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

export class ZipkinTracesFlattener extends Transform {
  /** 0 before the outer `[`, 1 inside it, 2 inside a trace's list, 3+ inside a span. */
  #depth = 0;
  #inString = false;
  #escaped = false;
  /** A flat list was seen: everything passes as is. */
  #passThrough = false;
  #spansOut = 0;

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    if (this.#passThrough) {
      done(null, chunk);
      return;
    }
    const out: number[] = [];
    for (let i = 0; i < chunk.length; i++) {
      const b = chunk[i];
      if (this.#passThrough) {
        this.push(Buffer.from(out));
        done(null, chunk.subarray(i));
        return;
      }
      if (this.#depth >= 3) {
        out.push(b);
        if (this.#inString) {
          if (this.#escaped) this.#escaped = false;
          else if (b === BACKSLASH) this.#escaped = true;
          else if (b === QUOTE) this.#inString = false;
        } else if (b === QUOTE) this.#inString = true;
        else if (b === OPEN_OBJECT || b === OPEN_ARRAY) this.#depth++;
        else if (b === CLOSE_OBJECT || b === CLOSE_ARRAY) this.#depth--;
        continue;
      }
      if (this.#depth === 0) {
        out.push(b);
        if (b === OPEN_ARRAY) this.#depth = 1;
      } else if (this.#depth === 1) {
        if (b === OPEN_ARRAY) this.#depth = 2;
        else if (b === CLOSE_ARRAY) {
          out.push(b);
          this.#depth = 0;
        } else if (b === OPEN_OBJECT) {
          // Not a list of traces after all: the rest goes through untouched.
          out.push(b);
          this.#passThrough = true;
        } else if (b !== COMMA && !isSpace(b)) out.push(b);
      } else {
        // Between the spans of one trace.
        if (b === CLOSE_ARRAY) this.#depth = 1;
        else if (b === OPEN_OBJECT) {
          if (this.#spansOut++ > 0) out.push(COMMA);
          out.push(b);
          this.#depth = 3;
        } else if (b !== COMMA && !isSpace(b)) out.push(b);
      }
    }
    done(null, Buffer.from(out));
  }
}

function isSpace(b: number): boolean {
  return b === 0x20 || b === 0x0a || b === 0x0d || b === 0x09;
}
