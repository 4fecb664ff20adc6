// What every admin handler may read and command: the options the server was
// built with. One type so that handler files need not import the server.
import type { TlsConfig } from '../config/index.ts';
import type { Gateway } from '../gateway/index.ts';
import type { RolloutController } from '../rollout/index.ts';
import type { FleetMember } from '../state/index.ts';
import type { Logger, Metrics, RemoteEvent, SecondSeries } from '../telemetry/index.ts';
import type { Access } from './access.ts';
import type { EventHub } from './events.ts';
import type { InstanceCache } from './overview.ts';

export interface AdminOptions {
  readonly gateway: Gateway;
  readonly rollouts: RolloutController;
  /** This instance's membership of the fleet: /api/instances and the store's health in /readyz. */
  readonly member?: FleetMember;
  readonly metrics: Metrics;
  readonly logger: Logger;
  readonly host: string;
  readonly port: number;
  readonly token: string | undefined;
  /** `admin.viewerToken`: reads only. */
  readonly viewerToken?: string;
  /** Serve HTTPS with these files (`admin.tls`); undefined: plain HTTP. */
  readonly tls?: TlsConfig;
  /** The process's 1-second series of every route (one for all admin listeners; started by the caller). */
  readonly series: SecondSeries;
  /** The other instances, when the state store is shared; undefined: this instance alone. */
  readonly fleet?: DashboardFleet;
}

/**
 * What the dashboard reads of the other instances (src/cli/fleet-series.ts):
 * their shadow pairs, and the breaker transitions and ledger entries their own
 * dashboards showed. The series' points are the fleet's already (SecondSeries).
 */
export interface DashboardFleet {
  /** The route's shadow pairs over the fleet; undefined when only this instance counts any. */
  shadow(route: string): { compared: number; mismatched: number } | undefined;
  /** Calls `listener` with each event another instance published; returns the unsubscribe. */
  onRemote(listener: (event: RemoteEvent) => void): () => void;
}

/** What handlers get: the options, and who may do what. */
export interface AdminContext extends AdminOptions {
  readonly access: Access;
  readonly instances: InstanceCache;
  /** Set once the server is built (the hub reads this context). */
  events: EventHub | undefined;
}
