// Starts one Cutover process from a config file: state, telemetry, gateway,
// admin listener and the config watcher; and stops it gracefully.
import { AdminServer } from '../admin/index.ts';
import type { Config, ListenAddress } from '../config/index.ts';
import { loadConfigFile, watchConfig } from '../config/index.ts';
import { ConfigError, formatConfigIssue } from '../errors.ts';
import { Gateway } from '../gateway/index.ts';
import { RolloutController, Webhooks } from '../rollout/index.ts';
import { FleetMember, openFleet } from '../state/index.ts';
import {
  createLogger,
  flushLogger,
  type Logger,
  Metrics,
  SecondSeries,
} from '../telemetry/index.ts';
import { FleetFiguresExchange } from './fleet-figures.ts';
import { FleetSeriesExchange } from './fleet-series.ts';
import { instanceInfo } from './instance.ts';
import { rolloutTarget } from './rollout-target.ts';

export interface RunOptions {
  /** Environment for ${VAR} interpolation; process.env by default. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** A logger to use instead of a new one on stdout (tests, demo). */
  readonly logger?: Logger;
  /** Watch the file and SIGHUP for reloads (default true). */
  readonly watch?: boolean;
  /** The file's config, already loaded and checked by the caller (else it is loaded here). */
  readonly config?: Config;
  /** This process is worker N of `server.workers`: its log lines carry `worker: N`. */
  readonly worker?: number;
  /** Bind the gateway port with SO_REUSEPORT, beside the other workers. */
  readonly reusePort?: boolean;
  /** The gateway port to bind instead of the file's (a worker, when the file says 0). */
  readonly listenPort?: number;
}

export interface Running {
  readonly gateway: Gateway;
  readonly rollouts: RolloutController;
  readonly admin: AdminServer;
  /** This instance's membership of the fleet (lease, feed, store health). */
  readonly member: FleetMember;
  /** The registry behind /metrics. */
  readonly metrics: Metrics;
  /** The first listener's URL. */
  readonly gatewayUrl: string;
  /** Every listener's URL, in the config's order (https:// for TLS listeners). */
  readonly listenerUrls: readonly string[];
  readonly adminUrl: string;
  readonly logger: Logger;
  /** Reload the config file now; resolves to true when the new config was applied. */
  reload(): Promise<boolean>;
  /** Stop accepting, finish requests in flight (up to server.shutdownGrace), release everything. */
  close(): Promise<void>;
}

function urlOf(host: string, port: number, scheme = 'http'): string {
  const h =
    host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
  return `${scheme}://${h}:${port}`;
}

export async function startCutover(configFile: string, options: RunOptions = {}): Promise<Running> {
  const env = options.env ?? process.env;
  const config = options.config ?? (await loadConfigFile(configFile, env, { inThread: true }));
  const root =
    options.logger ??
    createLogger({ level: config.log.level, sharedDestination: options.worker !== undefined });
  const logger = options.worker === undefined ? root : root.child({ worker: options.worker });
  const metrics = new Metrics();
  const store = openFleet(config.state);
  const member = new FleetMember({ store, info: instanceInfo(), logger });
  metrics.fleet({ storeUp: () => member.health.up, leader: () => member.leader });
  let gateway: Gateway;
  try {
    // The store must answer once: with nothing known yet there is no state to serve on.
    gateway = await Gateway.create({
      config,
      logger,
      metrics,
      store,
      member,
      buckets: store,
      instances: () => member.instanceCount,
    });
  } catch (error) {
    await store.close();
    throw error;
  }
  const figures = new FleetFiguresExchange(store, member, gateway);
  const target = rolloutTarget(gateway, figures);
  const webhooks = new Webhooks(logger);
  let rollouts: RolloutController;
  try {
    rollouts = await RolloutController.create({
      target,
      store,
      member,
      logger,
      webhooks,
      metrics,
    });
  } catch (error) {
    await gateway.close(0);
    await store.close();
    throw error;
  }
  // The dashboard's 1-second series of every route: one sampler, shared by every admin listener.
  const series = new SecondSeries(() => gateway.seriesRoutes());
  // Each second the sampler publishes through the fleet exchange (the gates' figures ride along)
  // and, with other instances up, its points become the fleet's.
  const fleetSeries = new FleetSeriesExchange({ store, member, gateway, rollouts, figures });
  series.attach(fleetSeries);
  const adminOn = (listen: ListenAddress) =>
    new AdminServer({
      gateway,
      rollouts,
      member,
      metrics,
      logger,
      host: listen.host,
      port: listen.port,
      token: config.admin.token,
      viewerToken: config.admin.viewerToken,
      tls: config.admin.tls,
      series,
      ...(store.kind !== 'memory' && { fleet: fleetSeries }),
    });
  // A worker's own admin port: /metrics and the API of this process alone.
  const workerListen =
    options.worker !== undefined && config.admin.workerListen
      ? { ...config.admin.workerListen, port: config.admin.workerListen.port + options.worker }
      : undefined;
  const admins: AdminServer[] = [];
  try {
    admins.push(adminOn(config.admin.listen));
    if (workerListen) admins.push(adminOn(workerListen));
  } catch (error) {
    await rollouts.close();
    await gateway.close(0);
    await store.close();
    throw error;
  }
  const admin = admins[0];
  const gw = await gateway.listen({
    reusePort: options.reusePort ?? false,
    port: options.listenPort,
  });
  const adminPorts: number[] = [];
  try {
    for (const a of admins) adminPorts.push((await a.listen()).port);
  } catch (error) {
    await Promise.all(admins.map((a) => a.close()));
    await rollouts.close();
    await gateway.close(0);
    await store.close();
    throw error;
  }
  series.start();
  const listenerUrls = gateway.addresses.map((a, i) => {
    const l = config.listeners[i];
    return urlOf(l.address.host, a.port, l.tls ? 'https' : 'http');
  });
  const gatewayUrl = listenerUrls[0] ?? urlOf(config.listen.host, gw.port);
  const adminUrl = urlOf(config.admin.listen.host, adminPorts[0], admin.scheme);
  const workerAdminUrl = workerListen && urlOf(workerListen.host, adminPorts[1], admin.scheme);
  // A worker is reached on its own admin port when it has one (cutover instances lists it).
  member.setAdmin(workerAdminUrl ?? adminUrl);
  member.follow(gateway.follower());
  member.follow(rollouts.follower());
  await member.start();
  // The report's minute history: this instance's rows, written each minute (a
  // failed write is logged and its rows are written at the next minute).
  metrics.history.start({
    sink: store,
    instance: member.id,
    retainMs: config.report.retention,
    onError: (error) =>
      logger.warn({ err: error.message }, 'minute history not written; retrying next minute'),
  });
  logger.info(
    {
      listen: gatewayUrl,
      ...(listenerUrls.length > 1 ? { listeners: listenerUrls } : {}),
      admin: adminUrl,
      ...(workerAdminUrl ? { workerAdmin: workerAdminUrl } : {}),
      routes: config.routes.length,
      state: store.description,
      instance: member.id,
      port: gw.port,
      adminPort: adminPorts[0],
    },
    `${options.worker === undefined ? 'cutover' : `worker ${options.worker}`} listening on ${gatewayUrl} (admin ${adminUrl})`,
  );
  flushLogger(logger);

  const apply = (next: Config) => {
    gateway.reload(next);
    metrics.history.retain(next.report.retention);
    metrics.reload(true);
    rollouts
      .reconcile()
      .catch((error: Error) =>
        logger.error({ err: error.message }, 'rollouts could not follow the reload'),
      );
    logger.info({ routes: next.routes.length }, 'config reloaded');
  };
  const reject = (error: Error) => {
    metrics.reload(false);
    if (error instanceof ConfigError) {
      logger.error(
        {
          errors: error.issues.map(formatConfigIssue),
        },
        'config rejected; keeping the running config',
      );
    } else logger.error({ err: error.message }, 'config rejected; keeping the running config');
  };
  // Aborts a load in progress (its worker is terminated) when the process shuts down.
  const stopping = new AbortController();
  const watcher =
    options.watch === false
      ? undefined
      : watchConfig(configFile, apply, reject, env, {
          onLoadStart: (bytes) => logger.info({ bytes }, 'config reload started'),
          onUnchanged: () => logger.info('config unchanged; nothing reloaded'),
        });

  // SIGHUP also reads the TLS listeners' and the admin listener's certificates again (the
  // watcher reloads the file on it); their own watch already follows file changes, this is
  // for changes it cannot see.
  const reloadCertificates = (): void => {
    Promise.all([gateway.reloadCertificates(), ...admins.map((a) => a.reloadCertificates())]).catch(
      (error: Error) =>
        logger.error({ err: error.message }, 'tls certificates could not be reloaded'),
    );
  };
  if (watcher) process.on('SIGHUP', reloadCertificates);

  let closing: Promise<void> | undefined;
  return {
    gateway,
    rollouts,
    admin,
    member,
    metrics,
    gatewayUrl,
    listenerUrls,
    adminUrl,
    logger,
    async reload() {
      try {
        apply(await loadConfigFile(configFile, env, { signal: stopping.signal }));
        return true;
      } catch (error) {
        reject(error as Error);
        return false;
      }
    },
    close() {
      closing ??= (async () => {
        watcher?.close();
        process.off('SIGHUP', reloadCertificates);
        stopping.abort(new Error('shutting down'));
        logger.info(
          { inFlight: gateway.inFlight, graceMs: gateway.config.server.shutdownGrace },
          'shutting down',
        );
        series.stop();
        await rollouts.close();
        fleetSeries.close();
        // The lease goes first, so another instance leads while this one drains.
        await member.close();
        await gateway.close(gateway.config.server.shutdownGrace);
        await Promise.all(admins.map((a) => a.close()));
        // Every request is done: the minutes so far go to the store before it closes.
        await metrics.history.stop();
        await store.close();
        logger.info('stopped');
        flushLogger(logger);
      })();
      return closing;
    },
  };
}
