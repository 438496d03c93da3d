#!/usr/bin/env node
// Installed command `atp-evaluate`: runs the TypeScript entry through tsx (no build step).
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/main.ts');
const { startMain } = await import('@mercato/platform/run-main');
startMain(main, process.argv.slice(2));
