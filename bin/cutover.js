#!/usr/bin/env node
// Runs the TypeScript CLI with Node's type stripping (Node 24, pinned in devDependencies).
import { main } from '../src/cli/main.ts';

await main(process.argv);
