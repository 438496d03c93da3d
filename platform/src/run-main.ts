/**
 * The one way a process entry starts: `runMain(import.meta.url, main)` at the
 * bottom of an entry file runs `main(argv)` only when that file is the
 * process's entry (importing it, as tests do, runs nothing), sets the exit
 * code from its result, and turns an escaped error into one coded line on
 * stderr and EXIT_FAILED.
 */
import { realpathSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { toAtpError } from './errors.js';
import { EXIT_FAILED, EXIT_OK } from './flags.js';

/** A failed start may leave sockets or timers behind; the process exits this long after a non-zero result. */
export const EXIT_LINGER_MS = 100;

/** True when the module at `moduleUrl` is the script node was started with (also through a bin symlink). */
export function isEntry(moduleUrl: string): boolean {
  const script = process.argv[1];
  if (script === undefined) return false;
  try {
    return moduleUrl === pathToFileURL(realpathSync(script)).href || moduleUrl === pathToFileURL(script).href;
  } catch {
    return false;
  }
}

export function runMain(moduleUrl: string, main: (argv: readonly string[]) => Promise<number>): void {
  if (!isEntry(moduleUrl)) return;
  startMain(main, process.argv.slice(2));
}

/** Runs `main` as the process's entry regardless of which file node started (bins that load a .ts entry). */
export function startMain(main: (argv: readonly string[]) => Promise<number>, argv: readonly string[]): void {
  main(argv).then(
    (code) => {
      process.exitCode = code;
      if (code !== EXIT_OK) setTimeout(() => process.exit(code), EXIT_LINGER_MS).unref();
    },
    (err: unknown) => {
      const e = toAtpError(err);
      process.stderr.write(
        `${e.code} ${err instanceof Error && e.code === 'ATP_ERR_INTERNAL' ? (err.stack ?? e.message) : e.message}\n`,
      );
      process.exitCode = EXIT_FAILED;
      setTimeout(() => process.exit(EXIT_FAILED), EXIT_LINGER_MS).unref();
    },
  );
}
