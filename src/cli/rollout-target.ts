// The running gateway as the rollout controller sees it (rollout's
// RolloutTarget): `rollout` never imports `gateway`, so the process that owns
// both joins them here. Only what the controller needs of the gateway is named,
// so the gateway's own shape can change behind it.
import type { Config } from '../config/index.ts';
import type { RolloutTarget, RouteFigures } from '../rollout/index.ts';

/** What the adapter uses of the gateway. */
export interface RolloutGateway {
  readonly config: Config;
  routeFigures(route: string, windowMs: number): RouteFigures | undefined;
  dropRouteWindows(route: string): void;
  routeWeight(route: string): number | undefined;
  routeFileWeight(route: string): number | undefined;
  applyWeight(route: string, weight: number | undefined): void;
  onBreakerOpen(listener: (route: string, backend: string) => void): () => void;
}

/** The fleet's merged figures (fleet-figures.ts), when the process is part of a fleet. */
export interface FiguresSource {
  refresh(): Promise<void>;
  figures(route: string, windowMs: number): RouteFigures | undefined;
  dropRoute(route: string): void;
}

export function rolloutTarget(gateway: RolloutGateway, fleet?: FiguresSource): RolloutTarget {
  return {
    config: () => gateway.config,
    figures: (route, windowMs) =>
      fleet ? fleet.figures(route, windowMs) : gateway.routeFigures(route, windowMs),
    refreshFigures: fleet ? () => fleet.refresh() : undefined,
    weight: (route) => gateway.routeWeight(route),
    dropWindows: (route) => {
      gateway.dropRouteWindows(route);
      fleet?.dropRoute(route);
    },
    applyWeight: (route, weight) => gateway.applyWeight(route, weight),
    fileWeight: (route) => gateway.routeFileWeight(route),
    // A breaker opens per route and backend; only the candidate's is a hard trip.
    onCandidateTrip: (listener) =>
      gateway.onBreakerOpen((route, backend) => {
        if (gateway.config.routes.find((r) => r.name === route)?.candidate === backend)
          listener(route);
      }),
  };
}
