/**
 * The one flag toolkit of every entry point. commander is the one CLI
 * library: it reads the command line into raw strings; each entry point then
 * validates them into a typed config (STYLE: `Validate(raw) -> Config` kept
 * apart from `New(config)`) with the parsers below, which refuse with an
 * ATP_ERR_INVALID_FLAG AtpError whose field is the flag as typed
 * (`--http-port: expected an integer 0..65535, got "x"`).
 */
import { Command, CommanderError } from 'commander';
import { AtpError, COMMON_ERR, toAtpError } from './errors.js';

export { Command, Option } from 'commander';

export const EXIT_OK = 0;
/** Start-up or run failed (the log or stderr says why). */
export const EXIT_FAILED = 1;
/** Bad flags or arguments; nothing was done. */
export const EXIT_USAGE = 2;
/** A graceful stop did not finish within its deadline; the process exits anyway. */
export const EXIT_STOP_TIMED_OUT = 3;
/**
 * A client command (atpctl) could not reach its server, or the server failed
 * in a way worth retrying. Same number as EXIT_STOP_TIMED_OUT, which only
 * long-running servers return.
 */
export const EXIT_UNAVAILABLE = 3;

export function flagError(flag: string, problem: string): AtpError {
  return new AtpError(COMMON_ERR.INVALID_FLAG, `${flag}: ${problem}`, flag);
}

export interface IntRange {
  min: number;
  max: number;
}

/** A whole number in [min, max] (underscores allowed as digit separators); `dflt` when absent. */
export function intFlag(raw: string | undefined, flag: string, range: IntRange, dflt: number): number;
export function intFlag(raw: string | undefined, flag: string, range: IntRange): number | undefined;
export function intFlag(
  raw: string | undefined,
  flag: string,
  range: IntRange,
  dflt?: number,
): number | undefined {
  if (raw === undefined) return dflt;
  const s = raw.replaceAll('_', '');
  const n = Number(s);
  if (!/^-?\d+$/.test(s) || !Number.isSafeInteger(n) || n < range.min || n > range.max) {
    throw flagError(flag, `expected an integer ${range.min}..${range.max}, got "${raw}"`);
  }
  return n;
}

/** A finite number in [min, max]; `dflt` when absent. */
export function numberFlag(raw: string | undefined, flag: string, range: IntRange, dflt: number): number {
  if (raw === undefined) return dflt;
  const n = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(n) || n < range.min || n > range.max) {
    throw flagError(flag, `expected a number ${range.min}..${range.max}, got "${raw}"`);
  }
  return n;
}

/** A TCP port, 0 meaning any free port. */
export function portFlag(raw: string | undefined, flag: string, dflt: number): number {
  return intFlag(raw, flag, { min: 0, max: 65_535 }, dflt);
}

export function oneOfFlag<T extends string>(
  raw: string | undefined,
  flag: string,
  allowed: readonly T[],
  dflt: T,
): T {
  if (raw === undefined) return dflt;
  if (!(allowed as readonly string[]).includes(raw)) {
    throw flagError(flag, `expected one of ${allowed.join(' | ')}, got "${raw}"`);
  }
  return raw as T;
}

/** A required flag's value; refuses when absent or blank. */
export function requiredFlag(raw: string | undefined, flag: string, what: string): string {
  if (raw === undefined || raw.trim() === '') throw flagError(flag, `required: ${what}`);
  return raw;
}

/** A URL whose scheme is one of `schemes` (without the colon), e.g. ['redis', 'rediss']. */
export function urlFlag(raw: string, flag: string, schemes: readonly string[]): string {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw flagError(flag, `expected a ${schemes[0]}://host:port URL, got "${raw}"`);
  }
  if (!schemes.includes(u.protocol.slice(0, -1)) || u.hostname === '') {
    throw flagError(flag, `expected a ${schemes.join(' or ')} URL (${schemes[0]}://host:port), got "${raw}"`);
  }
  return raw;
}

/** Comma-separated, blanks dropped; refuses an empty list. */
export function listFlag(raw: string, flag: string): string[] {
  const items = raw
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  if (items.length === 0) throw flagError(flag, 'expected a comma-separated list');
  return items;
}

/**
 * A flag checked by a contract validator (a region name, a scope...): any
 * error it throws becomes an INVALID_FLAG naming the flag.
 */
export function parsedFlag<T>(raw: string, flag: string, parse: (s: string) => T): T {
  try {
    return parse(raw);
  } catch (err) {
    throw flagError(flag, err instanceof Error ? err.message : String(err));
  }
}

/** commander accumulator for repeatable flags (`--trusted-key a --trusted-key b`). */
export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

type ActionResult = unknown;
const results = new WeakMap<Command, number>();

function rootOf(cmd: Command): Command {
  let c = cmd;
  while (c.parent !== null) c = c.parent;
  return c;
}

/**
 * A commander program configured the same way everywhere: errors do not
 * exit the process (runProgram maps them to exit codes), a usage error shows
 * the help hint, help goes to stdout.
 */
export function createProgram(name: string, description: string): Command {
  return new Command(name).description(description).exitOverride().showHelpAfterError();
}

/**
 * Registers an action whose result is the exit code. An AtpError thrown by it
 * is printed as `CODE message` (and its hint); bad input (a non-retriable
 * 4xx spec such as INVALID_FLAG) gives EXIT_USAGE, others EXIT_FAILED.
 */
export function onAction<A extends unknown[]>(
  cmd: Command,
  fn: (...args: A) => Promise<ActionResult> | ActionResult,
): Command {
  return cmd.action(async (...args: unknown[]) => {
    const code = await fn(...(args as A));
    results.set(rootOf(cmd), typeof code === 'number' ? code : EXIT_OK);
  });
}

/** Parses `argv` (without node and the script) and runs the matched action; resolves with its exit code. */
export async function runProgram(program: Command, argv: readonly string[]): Promise<number> {
  try {
    await program.parseAsync([...argv], { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? EXIT_OK : EXIT_USAGE;
    const e = toAtpError(err);
    // Where the program's own messages go (configureOutput), so a caller capturing them sees this too.
    const writeErr = program.configureOutput().writeErr ?? ((s: string) => process.stderr.write(s));
    writeErr(`${e.code} ${e.message}${e.spec.hint === undefined ? '' : `\n  what to do: ${e.spec.hint}`}\n`);
    // Bad input (a 4xx that retrying cannot fix) is a usage error; everything else a failure.
    const badInput = !e.spec.retriable && e.spec.httpStatus >= 400 && e.spec.httpStatus < 500;
    return badInput ? EXIT_USAGE : EXIT_FAILED;
  }
  return results.get(program) ?? EXIT_OK;
}
