// The messages of a gRPC body (the DATA of one direction of a call, joined):
// each is a 5-byte prefix — a compressed flag, then the length as a 4-byte
// big-endian integer — and that many bytes (gRPC over HTTP/2, "Length-Prefixed
// Message"). A shadow answer may be cut (maxBodyBytes, a reset) or compressed
// in a way the comparison cannot read; both are told, never thrown, so that
// the pair is still compared byte for byte and says why.

/** The 5 bytes before each message. */
export const GRPC_PREFIX_BYTES = 5;

export interface GrpcMessages {
  /** The whole messages found, in order (views into the body, not copies). */
  readonly messages: readonly Uint8Array[];
  /** Why the body cannot be read as messages, when it cannot: truncated or compressed. */
  readonly problem?: string;
}

/**
 * Split `body` into its messages. `encoding` is the answer's `grpc-encoding`
 * header: a message with the compressed flag set is compressed with it (or,
 * without one, breaks the protocol); either way it is reported, not inflated.
 */
export function splitGrpcMessages(body: Uint8Array, encoding?: string): GrpcMessages {
  const messages: Uint8Array[] = [];
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  let at = 0;
  while (at < body.byteLength) {
    const left = body.byteLength - at;
    if (left < GRPC_PREFIX_BYTES) {
      return { messages, problem: `truncated message prefix: ${left} of 5 bytes at offset ${at}` };
    }
    const flag = body[at];
    const length = view.getUint32(at + 1);
    if (flag !== 0) {
      const how =
        encoding === undefined || encoding === 'identity'
          ? `flag ${flag} without a grpc-encoding`
          : `grpc-encoding ${encoding}`;
      return { messages, problem: `compressed message (${how}) at offset ${at}` };
    }
    if (length > left - GRPC_PREFIX_BYTES) {
      return {
        messages,
        problem: `truncated message: prefix announces ${length} bytes, ${left - GRPC_PREFIX_BYTES} follow at offset ${at}`,
      };
    }
    const start = at + GRPC_PREFIX_BYTES;
    messages.push(body.subarray(start, start + length));
    at = start + length;
  }
  return { messages };
}

/**
 * Counts the messages of a gRPC body as it streams by, chunk after chunk, a
 * prefix possibly cut across two chunks: enough to tell a one-message call
 * from a stream without holding the body.
 */
export class GrpcMessageCounter {
  /** Messages whose prefix has been read (the last may still be arriving). */
  started = 0;
  readonly #prefix = new Uint8Array(GRPC_PREFIX_BYTES);
  #prefixHave = 0;
  /** Bytes of the current message still to come. */
  #bodyLeft = 0;

  /** True when the bytes so far end exactly at the end of a message. */
  get whole(): boolean {
    return this.#prefixHave === 0 && this.#bodyLeft === 0;
  }

  push(chunk: Uint8Array): void {
    let at = 0;
    while (at < chunk.byteLength) {
      if (this.#bodyLeft > 0) {
        const take = Math.min(this.#bodyLeft, chunk.byteLength - at);
        this.#bodyLeft -= take;
        at += take;
        continue;
      }
      const take = Math.min(GRPC_PREFIX_BYTES - this.#prefixHave, chunk.byteLength - at);
      this.#prefix.set(chunk.subarray(at, at + take), this.#prefixHave);
      this.#prefixHave += take;
      at += take;
      if (this.#prefixHave === GRPC_PREFIX_BYTES) {
        this.#prefixHave = 0;
        this.started++;
        this.#bodyLeft = new DataView(this.#prefix.buffer).getUint32(1);
      }
    }
  }
}
