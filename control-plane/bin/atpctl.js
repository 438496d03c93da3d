#!/usr/bin/env node
// atpctl as an installed command (npm links it into node_modules/.bin): the
// CLI is TypeScript run by tsx, so register tsx first, then load the entry
// and start it. startMain, not runMain: node's entry script is this file,
// so the .ts module's own runMain(import.meta.url) check does not match.
import { register } from 'tsx/esm/api';

register();
const { startMain } = await import('@mercato/platform/run-main');
const { main } = await import('../src/cli/atpctl.ts');
startMain(main, process.argv.slice(2));
