// The gRPC peer of the HTTP/2 benchmark (bench/h2.ts): a @grpc/grpc-js server over
// cleartext HTTP/2 with one unary echo method (bench/lib/grpc-echo.ts). Its own
// process beside the load generator, so its CPU time reads apart from the proxy's.
// Prints {"port":N} on stdout once listening.
import { Server, ServerCredentials, type ServerUnaryCall, type sendUnaryData } from '@grpc/grpc-js';
import { ECHO_SERVICE } from './lib/grpc-echo.ts';

const server = new Server();
server.addService(ECHO_SERVICE, {
  Echo: (call: ServerUnaryCall<Buffer, Buffer>, callback: sendUnaryData<Buffer>) =>
    callback(null, call.request),
});
server.bindAsync(
  `127.0.0.1:${process.env.PORT ?? 0}`,
  ServerCredentials.createInsecure(),
  (error, port) => {
    if (error) throw error;
    process.stdout.write(`${JSON.stringify({ port })}\n`);
  },
);
process.on('SIGTERM', () => process.exit(0));
