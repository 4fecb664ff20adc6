// The fleet suite on the Local implementation: three processes on one SQLite file.
import { join } from 'node:path';
import { tempDir } from '../helpers/gateway.ts';
import { fleetSuite } from './suite.ts';

const dir = tempDir();
fleetSuite('one SQLite file (Local)', { state: () => `sqlite:${join(dir, 'state.db')}` });
