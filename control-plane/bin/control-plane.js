#!/usr/bin/env node
// The control plane server (`atp-control-plane serve ...`) as an installed
// command: register tsx, then load the TypeScript entry and start it with
// startMain (this file, not main.ts, is node's entry script).
import { register } from 'tsx/esm/api';

register();
const { startMain } = await import('@mercato/platform/run-main');
const { main } = await import('../src/main.ts');
startMain(main, process.argv.slice(2));
