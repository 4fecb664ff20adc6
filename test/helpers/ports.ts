// Ports for processes whose config needs them before they start.
import { createServer, type Server } from 'node:net';

export /** A port P, free a moment ago, with P + 1 free too. */
async function freePortPair(): Promise<number> {
  const bind = (port: number) =>
    new Promise<Server | undefined>((resolve) => {
      const server = createServer();
      server.once('error', () => resolve(undefined));
      server.listen(port, '127.0.0.1', () => resolve(server));
    });
  const close = (server: Server) => new Promise<void>((r) => server.close(() => r()));
  for (;;) {
    const first = (await bind(0))!;
    const port = (first.address() as { port: number }).port;
    const second = port < 65535 ? await bind(port + 1) : undefined;
    await close(first);
    if (second) {
      await close(second);
      return port;
    }
  }
}
