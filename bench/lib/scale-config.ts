// Generated Cutover configs for the scaling part (bench/scale.ts) and the
// per-route memory measure (bench/route-memory.ts): N routes with distinct path
// prefixes (/r0/*, /r1/*, …), each with legacy, candidate and a sticky split at
// weight 50, as the one route of bench/cutover.yaml.

export interface ScaleConfigOptions {
  routes: number;
  /** Numbers, or the `{{LISTEN_PORT}}` / `{{ADMIN_PORT}}` placeholders of a bench template. */
  listenPort: number | string;
  adminPort: number | string;
  upstream: string;
  /** A directory of the case's own (the SQLite state file). */
  dir: string;
  /** JSON access log on stdout (the bench cases keep it on, like bench/cutover.yaml). */
  accessLog: boolean;
  /** Extra `server:` fields, e.g. `keepAliveTimeout: 10m` for held idle connections. */
  server?: Record<string, string | number>;
}

/** The path prefix of route `i`: requests to `${routePrefix(i)}/…` hit it. */
export function routePrefix(i: number): string {
  return `/r${i}`;
}

export function scaleConfig(o: ScaleConfigOptions): string {
  const server = o.server
    ? `server: { ${Object.entries(o.server)
        .map(([k, v]) => `${k}: ${v}`)
        .join(', ')} }\n`
    : '';
  const lines = [
    `listen: "127.0.0.1:${o.listenPort}"`,
    `admin: { listen: "127.0.0.1:${o.adminPort}" }`,
    `state: "sqlite:${o.dir}/state.db"`,
    `log: { level: ${o.accessLog ? 'info' : 'warn'}, access: ${o.accessLog} }`,
    `${server}backends:`,
    `  legacy: { url: "${o.upstream}" }`,
    `  rewrite: { url: "${o.upstream}" }`,
    'routes:',
  ];
  for (let i = 0; i < o.routes; i++) {
    lines.push(
      `  - { name: r${i}, match: { path: "${routePrefix(i)}/*" }, legacy: legacy, candidate: rewrite, ` +
        'split: { stickyKey: "header:x-user-id" }, weight: 50 }',
    );
  }
  return `${lines.join('\n')}\n`;
}
