// The gRPC service of the HTTP/2 benchmark (bench/grpc-upstream.ts, bench/grpc-load.ts):
// one unary method that answers the request message back. Messages stay bytes on both
// ends (no protobuf decoding) so the peers spend as little CPU as they can beside the
// proxy; the payload is still a valid protobuf message (field 1, a string), so a
// gateway that decodes it for a shadow diff reads a real one.
import type { ServiceDefinition } from '@grpc/grpc-js';

export const ECHO_PATH = '/bench.Echo/Echo';

/** Messages go over the wire as they are: serializer and deserializer of both ends. */
export const passBytes = (message: Buffer): Buffer => message;

export const ECHO_SERVICE: ServiceDefinition = {
  Echo: {
    path: ECHO_PATH,
    requestStream: false,
    responseStream: false,
    requestSerialize: passBytes,
    requestDeserialize: passBytes,
    responseSerialize: passBytes,
    responseDeserialize: passBytes,
  },
};

/** `message EchoRequest { string text = 1; }` with a text of about 40 bytes. */
export function echoPayload(): Buffer {
  const text = Buffer.from('a small fixed message for proxy benchmarks');
  return Buffer.concat([Buffer.from([0x0a, text.length]), text]);
}
