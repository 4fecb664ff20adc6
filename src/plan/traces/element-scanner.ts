// A streaming scanner over JSON bytes that cuts out the elements of one
// array (the root array, or the array under a named root key) so each can be
// parsed alone: a trace export of a million spans is never held whole.
// It checks the structure it walks (brackets, strings, end of input); each
// element's own syntax is left to JSON.parse on that element. Scanning bytes
// is safe for UTF-8: a multi-byte character never contains `"`, `\`, or a
// bracket. Several root values in a row (JSON lines) are accepted.

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const COMMA = 0x2c;
const COLON = 0x3a;

/** One element cut out of the array: where the array sits and the element's text. */
export interface ScannedElement {
  /** `''` for the root array, otherwise the root key holding the array. */
  readonly key: string;
  /** Index in its array. */
  readonly index: number;
  /** Byte offset of the element's first byte in the input. */
  readonly offset: number;
  readonly text: string;
}

/** A structural fault, with the byte offset where it was seen. */
export class ScanFault extends Error {
  readonly offset: number;
  constructor(message: string, offset: number) {
    super(message);
    this.offset = offset;
  }
}

function isSpace(b: number): boolean {
  return b === 0x20 || b === 0x0a || b === 0x0d || b === 0x09;
}

export class ElementScanner {
  readonly #keys: ReadonlySet<string>;
  /** Open containers, `{` or `[` bytes. */
  readonly #stack: number[];
  #offset: number;
  #inString: boolean;
  #escape: boolean;
  /** The string being read is a key of the root object. */
  #capturingKey: boolean;
  #keyParts: Buffer[];
  #keyStart: number;
  #expectKey: boolean;
  #lastKey: string;
  /** Stack depth of the array whose elements are cut out; 0 when none is open. */
  #arrayDepth: number;
  #arrayKey: string;
  /** The key of the first array opened, so an empty one still tells the format. */
  #firstKey: string | undefined;
  #index: number;
  #elementParts: Buffer[];
  #elementStart: number;
  #elementOffset: number;

  constructor(keys: readonly string[]) {
    this.#keys = new Set(keys);
    this.#stack = [];
    this.#offset = 0;
    this.#inString = false;
    this.#escape = false;
    this.#capturingKey = false;
    this.#keyParts = [];
    this.#keyStart = -1;
    this.#expectKey = false;
    this.#lastKey = '';
    this.#arrayDepth = 0;
    this.#arrayKey = '';
    this.#firstKey = undefined;
    this.#index = 0;
    this.#elementParts = [];
    this.#elementStart = -1;
    this.#elementOffset = 0;
  }

  /** Bytes read so far. */
  get offset(): number {
    return this.#offset;
  }

  /** Scans one chunk; returns the elements it completed. Throws ScanFault. */
  push(chunk: Buffer): ScannedElement[] {
    const out: ScannedElement[] = [];
    const stack = this.#stack;
    const base = this.#offset;
    if (this.#elementStart === -2) this.#elementStart = 0;
    if (this.#keyStart === -2) this.#keyStart = 0;
    for (let i = 0; i < chunk.length; i++) {
      const b = chunk[i];
      if (this.#inString) {
        if (this.#escape) this.#escape = false;
        else if (b === BACKSLASH) this.#escape = true;
        else if (b === QUOTE) {
          this.#inString = false;
          if (this.#capturingKey) {
            this.#keyParts.push(chunk.subarray(this.#keyStart, i));
            this.#lastKey = Buffer.concat(this.#keyParts).toString('utf8');
            this.#keyParts = [];
            this.#keyStart = -1;
            this.#capturingKey = false;
          }
        }
        continue;
      }
      if (isSpace(b)) continue;
      const depth = stack.length;
      if (this.#arrayDepth !== 0 && depth === this.#arrayDepth) {
        if (b === COMMA || b === CLOSE_ARRAY) {
          if (this.#elementStart !== -1) {
            this.#endElement(chunk, i, out);
          } else if (b === COMMA) {
            throw new ScanFault('a comma where an array element was expected', base + i);
          }
          if (b === CLOSE_ARRAY) {
            stack.pop();
            this.#arrayDepth = 0;
          }
          continue;
        }
        if (this.#elementStart === -1) {
          this.#elementStart = i;
          this.#elementOffset = base + i;
        }
      }
      switch (b) {
        case QUOTE:
          this.#inString = true;
          if (this.#expectKey && depth === 1) {
            this.#capturingKey = true;
            this.#keyStart = i + 1;
          }
          this.#expectKey = false;
          break;
        case OPEN_OBJECT:
        case OPEN_ARRAY:
          if (b === OPEN_ARRAY && this.#arrayDepth === 0) {
            if (depth === 0) this.#openArray('', depth);
            else if (depth === 1 && stack[0] === OPEN_OBJECT && this.#keys.has(this.#lastKey)) {
              this.#openArray(this.#lastKey, depth);
            }
          }
          stack.push(b);
          this.#expectKey = b === OPEN_OBJECT;
          if (depth === 0) this.#lastKey = '';
          break;
        case CLOSE_OBJECT:
        case CLOSE_ARRAY: {
          const open = stack.pop();
          if (open !== (b === CLOSE_OBJECT ? OPEN_OBJECT : OPEN_ARRAY)) {
            throw new ScanFault(`unexpected ${String.fromCharCode(b)}`, base + i);
          }
          this.#expectKey = false;
          break;
        }
        case COMMA:
          if (depth === 0) throw new ScanFault('a comma outside any value', base + i);
          this.#expectKey = stack[depth - 1] === OPEN_OBJECT;
          if (depth === 1) this.#lastKey = '';
          break;
        case COLON:
          this.#expectKey = false;
          break;
        default:
          // Literals and numbers: their syntax is JSON.parse's to judge,
          // except at the root, where only objects and arrays make sense.
          if (depth === 0) {
            throw new ScanFault(
              `unexpected ${JSON.stringify(String.fromCharCode(b))} at the top level`,
              base + i,
            );
          }
      }
    }
    // Keep the unfinished element's and key's bytes; they go on in the next chunk.
    if (this.#elementStart >= 0) {
      this.#elementParts.push(chunk.subarray(this.#elementStart));
      this.#elementStart = -2;
    }
    if (this.#capturingKey && this.#keyStart >= 0) {
      this.#keyParts.push(chunk.subarray(this.#keyStart));
      this.#keyStart = -2;
    }
    this.#offset = base + chunk.length;
    return out;
  }

  /** `''` (root array) or the root key of the first array of elements seen; undefined before. */
  get firstKey(): string | undefined {
    return this.#firstKey;
  }

  /** Call at the end of input; throws ScanFault if the input stopped inside a value. */
  end(): void {
    if (this.#inString || this.#stack.length > 0) {
      const where = this.#arrayDepth !== 0 ? ` (inside element ${this.#index})` : '';
      throw new ScanFault(`the input ends inside a value${where}: truncated`, this.#offset);
    }
  }

  #openArray(key: string, depth: number): void {
    this.#arrayDepth = depth + 1;
    this.#arrayKey = key;
    this.#firstKey ??= key;
    this.#index = 0;
  }

  #endElement(chunk: Buffer, end: number, out: ScannedElement[]): void {
    const start = this.#elementStart === -2 ? 0 : this.#elementStart;
    this.#elementParts.push(chunk.subarray(start, end));
    const text = Buffer.concat(this.#elementParts).toString('utf8');
    this.#elementParts = [];
    this.#elementStart = -1;
    out.push({ key: this.#arrayKey, index: this.#index, offset: this.#elementOffset, text });
    this.#index++;
  }
}
