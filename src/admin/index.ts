export { hasValidToken, isLoopback } from './auth.ts';
export type { AdminOptions, DashboardFleet } from './context.ts';
export { AdminServer } from './server.ts';
