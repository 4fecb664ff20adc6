export { hasValidToken, isLoopback } from './auth.ts';
export type { AdminOptions } from './context.ts';
export { AdminServer } from './server.ts';
