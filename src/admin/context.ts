// What every admin handler may read and command: the options the server was
// built with. One type so that handler files need not import the server.
import type { TlsConfig } from '../config/index.ts';
import type { Gateway } from '../gateway/index.ts';
import type { RolloutController } from '../rollout/index.ts';
import type { FleetMember } from '../state/index.ts';
import type { Logger, Metrics } from '../telemetry/index.ts';
import type { Access } from './access.ts';

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
}

/** What handlers get: the options, and who may do what. */
export interface AdminContext extends AdminOptions {
  readonly access: Access;
}
