// The checked, defaulted, frozen config that the rest of Cutover reads.
import type { HttpMethod, KeyPart } from './schema.ts';

export type { HttpMethod, KeyPart };

export interface ListenAddress {
  readonly host: string;
  readonly port: number;
}

export interface HealthConfig {
  readonly path: string;
  readonly interval: number;
  readonly timeout: number;
  readonly healthy: number;
  readonly unhealthy: number;
}

export interface BackendConfig {
  readonly name: string;
  /** Base URLs of the instances (round robin), normalised by `new URL().href`. */
  readonly urls: readonly string[];
  /** Present only when the backend configures active health checks. */
  readonly health: HealthConfig | undefined;
  readonly connectTimeout: number;
  readonly connections: number;
  readonly keepAliveTimeout: number;
}

export interface RouteMatch {
  readonly host: string | undefined;
  readonly path: string;
  readonly methods: readonly HttpMethod[] | undefined;
  /** Header names lower-cased; values compared exactly. */
  readonly headers: Readonly<Record<string, string>> | undefined;
}

export interface SplitConfig {
  /** Empty when requests without a key are split at random. */
  readonly stickyKey: readonly KeyPart[];
  /** Lower-cased header name, or false when overrides are off. */
  readonly overrideHeader: string | false;
  readonly overrideCandidate: string;
  readonly overrideLegacy: string;
}

export interface RouteConfig {
  readonly name: string;
  /** Position in the file's `routes` list, for messages. */
  readonly index: number;
  readonly match: RouteMatch;
  readonly legacy: string;
  readonly candidate: string | undefined;
  readonly split: SplitConfig;
  /** Percent, 0–100 with two decimals, as written in the file. */
  readonly weight: number;
  readonly timeout: number;
  readonly idleTimeout: number;
  readonly maxBodyBytes: number;
  readonly preserveHost: boolean;
  readonly backendHeader: boolean;
}

export interface Config {
  /** Absolute path of the file this came from, or `<inline>`. */
  readonly source: string;
  readonly listen: ListenAddress;
  readonly admin: { readonly listen: ListenAddress; readonly token: string | undefined };
  readonly state: string;
  readonly server: {
    readonly maxHeaderBytes: number;
    readonly shutdownGrace: number;
    readonly keepAliveTimeout: number;
    readonly requestTimeout: number;
  };
  readonly log: { readonly level: string; readonly access: boolean };
  readonly tracing: { readonly enabled: boolean };
  readonly backends: ReadonlyMap<string, BackendConfig>;
  readonly routes: readonly RouteConfig[];
}
