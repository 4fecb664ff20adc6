// Which peers may tell us who the client is (`server.trustedProxies`). A
// forwarding header from anyone else is the client talking about itself, so
// it is dropped (src/gateway/headers.ts) and the client address is the peer's.
// From a trusted peer the client address is found as nginx's realip module
// does with `real_ip_recursive on`: the rightmost X-Forwarded-For address that
// is not itself trusted (each trusted hop appended the address it saw).
import { BlockList, isIP } from 'node:net';

/** `::ffff:10.0.0.1` (an IPv4 client on a dual-stack socket) as `10.0.0.1`. */
export function plainAddress(ip: string): string {
  return ip.startsWith('::ffff:') && isIP(ip.slice(7)) === 4 ? ip.slice(7) : ip;
}

export class TrustedProxies {
  /** Undefined when nothing is trusted: the common case costs one comparison. */
  readonly #list: BlockList | undefined;

  constructor(entries: readonly string[]) {
    if (entries.length === 0) {
      this.#list = undefined;
      return;
    }
    const list = new BlockList();
    for (const entry of entries) {
      const slash = entry.indexOf('/');
      const address = plainAddress(slash === -1 ? entry : entry.slice(0, slash));
      const type = isIP(address) === 4 ? 'ipv4' : 'ipv6';
      if (slash === -1) list.addAddress(address, type);
      else list.addSubnet(address, Number(entry.slice(slash + 1)), type);
    }
    this.#list = list;
  }

  /** Whether `ip` (a plain address, as plainAddress gives) is a trusted proxy. */
  trusts(ip: string): boolean {
    if (this.#list === undefined) return false;
    const family = isIP(ip);
    return family !== 0 && this.#list.check(ip, family === 4 ? 'ipv4' : 'ipv6');
  }

  /**
   * The client's address for a request from `peer`: the peer itself unless it
   * is trusted; then the rightmost X-Forwarded-For entry that is not trusted.
   * An entry that is not an address stops the walk at the last trusted hop
   * (nginx keeps the address it had when a value does not parse).
   */
  clientIp(peer: string, forwardedFor: string | string[] | undefined): string {
    if (forwardedFor === undefined || !this.trusts(peer)) return peer;
    const entries = (Array.isArray(forwardedFor) ? forwardedFor.join(',') : forwardedFor).split(
      ',',
    );
    let client = peer;
    for (let i = entries.length - 1; i >= 0; i--) {
      const entry = plainAddress(entries[i].trim());
      if (isIP(entry) === 0) return client;
      client = entry;
      if (!this.trusts(entry)) return client;
    }
    return client;
  }
}
