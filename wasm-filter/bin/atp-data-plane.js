#!/usr/bin/env node
// The data plane (`atp-data-plane --upstream ... --sidecar ...`) as an
// installed command: register tsx, then load the TypeScript entry and start
// it with startMain (this file, not main.ts, is node's entry script, so the
// .ts module's own runMain(import.meta.url) check does not match).
import { register } from 'tsx/esm/api';

register();
const { startMain } = await import('@mercato/platform/run-main');
const { main } = await import('../data-plane/main.ts');
startMain(main, process.argv.slice(2));
