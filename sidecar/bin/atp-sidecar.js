#!/usr/bin/env node
// The decision sidecar (`atp-sidecar serve ...`) as an installed command
// (npm links it into node_modules/.bin): register tsx, then load the
// TypeScript entry and start it with startMain (this file, not main.ts, is
// node's entry script, so main.ts's own runMain check does not match).
import { register } from 'tsx/esm/api';

register();
const { startMain } = await import('@mercato/platform/run-main');
const { main } = await import('../src/main.ts');
startMain(main, process.argv.slice(2));
