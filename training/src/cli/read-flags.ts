/**
 * Reads a command line with a CLI's commander program into its raw flag
 * values, without running any action or printing anything: what the CLIs'
 * exported parse functions (and their tests) use, so a test sees the same
 * flags, and the same refusals, as the process. Commander's own refusals
 * (unknown flag, missing value, stray argument) become ATP_ERR_INVALID_FLAG
 * AtpErrors like every other flag error.
 */
import { AtpError, COMMON_ERR } from '@mercato/platform/errors';
import type { Command } from '@mercato/platform/flags';

/** The raw flags, or 'help' when --help was asked for. `program` must have no action. */
export function readFlags<T extends object>(program: Command, argv: readonly string[]): T | 'help' {
  program.configureOutput({ writeOut: () => undefined, writeErr: () => undefined });
  try {
    program.parse([...argv], { from: 'user' });
  } catch (err) {
    if (!isCommanderError(err)) throw err;
    if (err.exitCode === 0) return 'help';
    const message = err.message.replace(/^error: /, '');
    throw new AtpError(COMMON_ERR.INVALID_FLAG, message, /'(--?[\w-]+)/.exec(message)?.[1]);
  }
  return program.opts<T>();
}

/** Commander's refusals carry a `commander.*` code (the platform kit re-exports the parser, not its error class). */
function isCommanderError(err: unknown): err is Error & { code: string; exitCode: number } {
  if (!(err instanceof Error)) return false;
  const { code, exitCode } = err as Error & { code?: unknown; exitCode?: unknown };
  return typeof code === 'string' && code.startsWith('commander.') && typeof exitCode === 'number';
}
