export { hasValidToken, isLoopback } from './auth.ts';
export type { AdminOptions } from './server.ts';
export { AdminServer } from './server.ts';
