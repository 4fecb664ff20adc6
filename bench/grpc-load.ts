// The gRPC load generator of the HTTP/2 benchmark (bench/h2.ts): CONCURRENCY unary
// calls kept in flight over CHANNELS grpc-js channels (each its own HTTP/2 connection)
// to TARGET (host:port) for SECONDS, closed loop: a call starts when one ends. Latency
// of every call into an HDR histogram. Prints one JSON line shaped like the other
// loaders' results (bench/lib/load.ts, LoadResult): calls are requests, a status
// other than OK (a connection failure included: grpc-js reports it as UNAVAILABLE)
// counts in non2xx.
import { type Client, credentials, makeGenericClientConstructor } from '@grpc/grpc-js';
import { build } from 'hdr-histogram-js';
import { ECHO_PATH, ECHO_SERVICE, echoPayload, passBytes } from './lib/grpc-echo.ts';

const target = process.env.TARGET ?? '127.0.0.1:50051';
const seconds = Number(process.env.SECONDS ?? 10);
const concurrency = Number(process.env.CONCURRENCY ?? 100);
const channels = Number(process.env.CHANNELS ?? 4);

// Microseconds, 1 µs to 60 s, 3 significant digits.
const histogram = build({
  lowestDiscernibleValue: 1,
  highestTrackableValue: 60_000_000,
  numberOfSignificantValueDigits: 3,
  useWebAssembly: false,
});
const EchoClient = makeGenericClientConstructor(ECHO_SERVICE, 'Echo');
// A local subchannel pool per client: otherwise grpc-js shares one connection
// between clients of the same target and every call would ride one session.
const clients: Client[] = Array.from(
  { length: channels },
  () =>
    new EchoClient(target, credentials.createInsecure(), { 'grpc.use_local_subchannel_pool': 1 }),
);
const payload = echoPayload();

await Promise.all(
  clients.map(
    (client) =>
      new Promise<void>((resolve, reject) =>
        client.waitForReady(Date.now() + 5000, (error) => (error ? reject(error) : resolve())),
      ),
  ),
);

let calls = 0;
let notOk = 0;
const started = performance.now();
const until = started + seconds * 1000;
let last = started;

/** One in-flight slot: calls back to back on one client until the window ends. */
function slot(client: Client): Promise<void> {
  return new Promise((resolve) => {
    const next = () => {
      const sent = performance.now();
      if (sent >= until) {
        resolve();
        return;
      }
      client.makeUnaryRequest(ECHO_PATH, passBytes, passBytes, payload, (error) => {
        const done = performance.now();
        last = done;
        calls += 1;
        histogram.recordValue(Math.max(1, Math.round((done - sent) * 1000)));
        if (error) notOk += 1;
        next();
      });
    };
    next();
  });
}

await Promise.all(Array.from({ length: concurrency }, (_, i) => slot(clients[i % channels])));
for (const client of clients) client.close();
// Calls still in flight when the window ended finished after it: count their time too.
const window = (last - started) / 1000;
const ms = (p: number) => histogram.getValueAtPercentile(p) / 1000;
process.stdout.write(
  `${JSON.stringify({
    requests: calls,
    seconds: window,
    rps: calls / window,
    p50Ms: ms(50),
    p99Ms: ms(99),
    non2xx: notOk,
    socketErrors: 0,
  })}\n`,
);
