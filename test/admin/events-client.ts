// A small Server-Sent Events reader for tests: parses the stream as a
// browser's EventSource does (WHATWG HTML §9.2.6) and lets a test wait for
// the next event of a type, or the first one a predicate accepts.
import http from 'node:http';

type Json = Record<string, unknown>;

export interface EventStream {
  readonly headers: http.IncomingHttpHeaders;
  /** The `retry:` value the server sent, once it came. */
  readonly retry: number | undefined;
  /** The next event named `type` (events already received and unread count). */
  next(type: string): Promise<Json>;
  /** The first event named `type` whose data `accept` takes; earlier ones of the type are consumed. */
  until(type: string, accept: (data: Json) => boolean): Promise<Json>;
  /** Resolves 'end' when the server ends the stream cleanly, 'error' when it is cut. */
  ended(): Promise<'end' | 'error'>;
  close(): void;
}

export function openEvents(url: string, headers: Record<string, string>): Promise<EventStream> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { headers: { ...headers, accept: 'text/event-stream' } }, (res) => {
      if (res.statusCode !== 200) {
        reject(new Error(`GET ${url}: ${res.statusCode}`));
        res.resume();
        return;
      }
      res.setEncoding('utf8');
      const queue: { type: string; data: Json }[] = [];
      const waiters: (() => void)[] = [];
      let retry: number | undefined;
      let buffer = '';
      let outcome: 'end' | 'error' | undefined;
      const endWaiters: ((o: 'end' | 'error') => void)[] = [];
      const finish = (o: 'end' | 'error') => {
        outcome ??= o;
        for (const w of endWaiters.splice(0)) w(outcome);
        for (const w of waiters.splice(0)) w();
      };
      res.on('data', (chunk: string) => {
        buffer += chunk;
        let at = buffer.indexOf('\n\n');
        while (at >= 0) {
          const block = buffer.slice(0, at);
          buffer = buffer.slice(at + 2);
          let type = 'message';
          let data = '';
          for (const line of block.split('\n')) {
            if (line.startsWith('event: ')) type = line.slice(7);
            else if (line.startsWith('data: ')) data += line.slice(6);
            else if (line.startsWith('retry: ')) retry = Number(line.slice(7));
          }
          if (data) queue.push({ type, data: JSON.parse(data) as Json });
          at = buffer.indexOf('\n\n');
        }
        for (const w of waiters.splice(0)) w();
      });
      res.on('end', () => finish('end'));
      res.on('error', () => finish('error'));
      res.on('aborted', () => finish('error'));
      const until = async (type: string, accept: (d: Json) => boolean): Promise<Json> => {
        for (;;) {
          const i = queue.findIndex((e) => e.type === type);
          if (i >= 0) {
            const [e] = queue.splice(i, 1);
            if (accept(e.data)) return e.data;
            continue;
          }
          if (outcome) throw new Error(`stream ended while waiting for ${type}`);
          await new Promise<void>((r) => waiters.push(r));
        }
      };
      resolve({
        headers: res.headers,
        get retry() {
          return retry;
        },
        next: (type) => until(type, () => true),
        until,
        ended: () => (outcome ? Promise.resolve(outcome) : new Promise((r) => endWaiters.push(r))),
        close: () => req.destroy(),
      });
    });
    req.on('error', reject);
  });
}
