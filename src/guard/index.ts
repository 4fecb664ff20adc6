export type { HealthBackend, HealthTarget } from './health.ts';
export { HealthChecker } from './health.ts';
