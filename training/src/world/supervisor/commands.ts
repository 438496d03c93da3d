/**
 * How the world starts each product process: the same commands an operator
 * runs (the installed bins in node_modules/.bin, or `node --import tsx
 * <entry>` where a component has no bin), from the repository root. Nothing
 * here imports another component's code: the world talks to the product
 * through its command lines, HTTP and Kafka, as production does.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';

/** The repository root (this file is training/src/world/supervisor/commands.ts). */
export const REPO_ROOT = join(import.meta.dirname, '../../../..');

export interface Command {
  command: string;
  args: string[];
}

function bin(name: string): string {
  const path = join(REPO_ROOT, 'node_modules/.bin', name);
  if (!existsSync(path)) throw new Error(`${name} is not installed: run npm install at ${REPO_ROOT}`);
  return path;
}

function tsEntry(entry: string, args: string[]): Command {
  return { command: process.execPath, args: ['--import', 'tsx', join(REPO_ROOT, entry), ...args] };
}

export const commands = {
  controlPlane: (args: string[]): Command => ({ command: bin('atp-control-plane'), args }),
  atpctl: (args: string[]): Command => ({ command: bin('atpctl'), args }),
  batch: (args: string[]): Command => ({ command: bin('atp-batch'), args }),
  dataPlane: (args: string[]): Command => ({ command: bin('atp-data-plane'), args }),
  evaluate: (args: string[]): Command => ({ command: bin('atp-evaluate'), args }),
  sidecar: (args: string[]): Command => tsEntry('sidecar/src/main.ts', ['serve', ...args]),
  ingest: (args: string[]): Command => tsEntry('ingest/src/main.ts', args),
  /** Builds the filter's .wasm when missing or stale (each data plane would otherwise build it at start). */
  buildWasm: (): Command => tsEntry('wasm-filter/scripts/build.ts', []),
};
