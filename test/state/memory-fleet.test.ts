import { MemoryStore } from '../../src/state/index.ts';
import { fleetContract } from './fleet-contract.ts';

fleetContract('memory', async () => {
  const store = new MemoryStore();
  return { a: store, b: store, close: () => store.close() };
});
