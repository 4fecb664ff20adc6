// Holds CONNECTIONS keep-alive connections to 127.0.0.1:PORT open and idle, for the
// scaling part's `idle` case (bench/scale.ts): each sends one GET to PATH and reads
// the answer, then sends nothing more. Prints {"open":N,"failed":F} once every one
// has been answered, then again each time the server closes one; exits on SIGTERM.
import { connect, type Socket } from 'node:net';

const port = Number(process.env.PORT);
const total = Number(process.env.CONNECTIONS ?? 5000);
const path = process.env.PATH_TO ?? '/r0/idle';
const request = `GET ${path} HTTP/1.1\r\nhost: 127.0.0.1\r\nx-user-id: idle\r\n\r\n`;
const sockets = new Set<Socket>();
let answered = 0;
let failed = 0;
let reported = false;
let stopping = false;

function report(): void {
  reported = true;
  process.stdout.write(`${JSON.stringify({ open: sockets.size, failed })}\n`);
}

function open(): void {
  const socket = connect(port, '127.0.0.1');
  let done = false;
  socket.setNoDelay(true);
  socket.on('connect', () => socket.write(request));
  socket.on('data', () => {
    // One small answer per connection: its first bytes are enough to count it.
    if (done) return;
    done = true;
    sockets.add(socket);
    if (++answered + failed === total) report();
  });
  socket.on('error', () => {});
  socket.on('close', () => {
    sockets.delete(socket);
    if (reported && !stopping) report();
    else if (!done) {
      done = true;
      if (answered + ++failed === total) report();
    }
  });
}

// In batches, so the server's accept queue (backlog 511) is not overrun.
let started = 0;
function batch(): void {
  for (let i = 0; i < 250 && started < total; i++, started++) open();
  if (started < total) setTimeout(batch, 20);
}
batch();
process.on('SIGTERM', () => {
  stopping = true;
  for (const s of sockets) s.destroy();
  process.exit(0);
});
