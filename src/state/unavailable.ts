import { CutoverError, StateUnavailableError } from '../errors.ts';
import type { FleetStore } from './fleet.ts';

/** A failed store call as the error an API answers with: the store's own (unavailable, timeout) or one naming the store. */
export function unavailable(store: FleetStore, error: unknown): CutoverError {
  if (error instanceof CutoverError && error.code.startsWith('CUTOVER_ERR_STATE')) return error;
  return new StateUnavailableError(store.description, (error as Error).message, { cause: error });
}
