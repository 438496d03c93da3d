/**
 * Builds the AssemblyScript filter as the top-level asconfig.json says: its
 * entry, the options of the chosen target (release: optimised, the default;
 * debug: unoptimised, with names and a .wat) and the shared options. The
 * release output stays wasm-filter/build/atp-filter.wasm (mesh-config pins its
 * digest; tests, the bench and `npm start` load it).
 *
 * Skips the compile when the output is newer than every source under the
 * entry's folder and than asconfig.json. Used by `npm run build:wasm` and by
 * tests (which call buildWasmFilter() when the .wasm is missing or stale).
 * buildWasmModule() builds any other proxy-wasm entry (the SDK example and
 * the no-op baseline in wasm-filter/fixtures/) with the same compiler and the
 * same options.
 *
 *   npm run build:wasm [-- --force] [-- --target debug]
 *
 * The compiler is spawned rather than imported: asc 0.17 is a CommonJS CLI
 * with global state, and a child process keeps it out of the test process.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AtpError } from '@mercato/platform/errors';
import { createProgram, EXIT_OK, onAction, oneOfFlag, runProgram } from '@mercato/platform/flags';
import { runMain } from '@mercato/platform/run-main';
import { ERR } from '../errors.js';

const HERE = dirname(fileURLToPath(import.meta.url));
export const WASM_FILTER_DIR = resolve(HERE, '..');
export const REPO_ROOT = resolve(WASM_FILTER_DIR, '..');
/** The filter's build configuration (DESIGN §5): entry, targets, compiler options. */
export const ASCONFIG_PATH = join(REPO_ROOT, 'asconfig.json');
export const BUILD_DIR = join(WASM_FILTER_DIR, 'build');
/** The release target's output; asconfig.json must name this path (checked when it is read). */
export const OUT_PATH = join(BUILD_DIR, 'atp-filter.wasm');
/** Other proxy-wasm modules built with the same SDK and compiler (AssemblyScript, outside tsc's include). */
export const FIXTURES_DIR = join(WASM_FILTER_DIR, 'fixtures');
/** The SDK README's "Hello, World" AddHeader filter (root id add_header). */
export const ADD_HEADER_ENTRY = join(FIXTURES_DIR, 'add-header.ts');
/** A filter that does nothing, with the SDK's own exports: the bench baseline (root id noop). */
export const NOOP_FILTER_ENTRY = join(FIXTURES_DIR, 'noop-filter.ts');
const ASC_PATH = join(REPO_ROOT, 'node_modules', 'assemblyscript', 'bin', 'asc');

export const BUILD_TARGETS = ['release', 'debug'] as const;
export type BuildTarget = (typeof BUILD_TARGETS)[number];
export const DEFAULT_BUILD_TARGET: BuildTarget = 'release';
/** A cold asc -O3 run takes ~15 s on a quiet machine; a hung compiler is killed well after that. */
const COMPILE_TIMEOUT_MS = 180_000;
/** asc options naming output files: another module's build writes only its own binary. */
const OUTPUT_OPTIONS = new Set([
  'binaryFile',
  'textFile',
  'outFile',
  'jsFile',
  'idlFile',
  'tsdFile',
  'sourceMap',
]);

/** A compiler option value as asconfig.json may hold it (asc's flag types b, i, s, S). */
export type AscOptionValue = boolean | number | string | string[];
export type AscOptions = Record<string, AscOptionValue>;

/** asconfig.json, checked, with paths resolved against its folder. */
export interface FilterBuildConfig {
  path: string;
  /** The filter's entry (the one `entries` element). */
  entry: string;
  /** Sources whose changes make the output stale: the entry's folder. */
  sourceDir: string;
  options: AscOptions;
  targets: Record<BuildTarget, { outPath: string; options: AscOptions }>;
}

export interface BuildResult {
  outPath: string;
  /** false when the output was already newer than every source. */
  built: boolean;
  durationMs: number;
}

export interface BuildOptions {
  force?: boolean;
  /** Default release. */
  target?: BuildTarget;
  log?: (line: string) => void;
}

/** Reads and checks asconfig.json: one entry, a release and a debug target each with a binaryFile. */
export async function readBuildConfig(path = ASCONFIG_PATH): Promise<FilterBuildConfig> {
  const name = relative(REPO_ROOT, path);
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(path, 'utf8'));
  } catch (err) {
    throw new AtpError(ERR.INVALID_BUILD_CONFIG, `${name}: ${(err as Error).message}`, name, { cause: err });
  }
  const configDir = dirname(path);
  const fail = (field: string, problem: string) =>
    new AtpError(ERR.INVALID_BUILD_CONFIG, `${name}: ${field}: ${problem}`, field);
  if (!isRecord(raw)) throw fail('$', 'expected an object');
  const entries = raw.entries;
  if (!Array.isArray(entries) || entries.length !== 1 || typeof entries[0] !== 'string') {
    throw fail('entries', 'expected exactly one entry file (the filter)');
  }
  const entry = resolve(configDir, entries[0]);
  const options = ascOptions(raw.options, 'options', fail);
  const targets = isRecord(raw.targets) ? raw.targets : {};
  const resolved = {} as FilterBuildConfig['targets'];
  for (const target of BUILD_TARGETS) {
    const targetOptions = ascOptions(targets[target], `targets.${target}`, fail);
    const binaryFile = targetOptions.binaryFile;
    if (typeof binaryFile !== 'string') throw fail(`targets.${target}.binaryFile`, 'expected a path');
    resolved[target] = { outPath: resolve(configDir, binaryFile), options: targetOptions };
  }
  if (resolved.release.outPath !== OUT_PATH) {
    throw fail(
      'targets.release.binaryFile',
      `must stay ${relative(REPO_ROOT, OUT_PATH)} (mesh-config pins it; tests and npm start load it)`,
    );
  }
  return { path, entry, sourceDir: dirname(entry), options, targets: resolved };
}

/** Compiles the filter for `target` unless it is up to date. Safe to call concurrently (atomic rename). */
export async function buildWasmFilter(options: BuildOptions = {}): Promise<BuildResult> {
  const config = await readBuildConfig();
  const target = options.target ?? DEFAULT_BUILD_TARGET;
  const outPath = config.targets[target].outPath;
  return compileUnlessFresh(options, outPath, [config.sourceDir, config.path], (tmpPath) =>
    // asc 0.17 shows its help when no entry is on the command line, so the entry is named here too
    // (asc drops the repeat it reads from the config); --binaryFile overrides the target's, for the atomic rename.
    runAsc([config.entry, '--config', config.path, '--target', target, '--binaryFile', tmpPath], REPO_ROOT),
  );
}

export interface ModuleBuildOptions extends BuildOptions {
  /** The AssemblyScript entry file. */
  entry: string;
  /** Default: wasm-filter/build/<entry file name>.wasm. */
  outPath?: string;
  /** Sources whose changes make the output stale (default: just the entry file). */
  sourceDir?: string;
}

/** Compiles any proxy-wasm entry with the filter's compiler and asconfig.json options, unless it is up to date. */
export async function buildWasmModule(options: ModuleBuildOptions): Promise<BuildResult> {
  const config = await readBuildConfig();
  const target = options.target ?? DEFAULT_BUILD_TARGET;
  const outPath = options.outPath ?? join(BUILD_DIR, `${basename(options.entry, '.ts')}.wasm`);
  const flags = ascFlags({ ...config.options, ...config.targets[target].options });
  // Compiled from the entry's own folder: asc reads ./asconfig.json of its working directory, and the
  // repository's would add the filter's entry to this module.
  return compileUnlessFresh(options, outPath, [options.sourceDir ?? options.entry, config.path], (tmpPath) =>
    runAsc([options.entry, ...flags, '--binaryFile', tmpPath], dirname(options.entry)),
  );
}

/**
 * Compile-time options as asc flags, as asc merges them (the target's over
 * the shared ones), output files left out. A false boolean is asc's default
 * for every boolean option, so it needs no flag.
 */
export function ascFlags(options: AscOptions): string[] {
  const flags: string[] = [];
  for (const [key, value] of Object.entries(options)) {
    if (OUTPUT_OPTIONS.has(key)) continue;
    if (typeof value === 'boolean') {
      if (value) flags.push(`--${key}`);
    } else if (Array.isArray(value)) {
      for (const item of value) flags.push(`--${key}`, item);
    } else {
      flags.push(`--${key}`, String(value));
    }
  }
  return flags;
}

async function compileUnlessFresh(
  options: BuildOptions,
  outPath: string,
  sources: string[],
  compile: (tmpPath: string) => Promise<void>,
): Promise<BuildResult> {
  const log = options.log ?? ((line: string) => process.stdout.write(`${line}\n`));
  const started = performance.now();
  let newestSourceMs = 0;
  for (const source of sources) newestSourceMs = Math.max(newestSourceMs, await newestMtimeMs(source));
  const outMs = await mtimeMs(outPath);
  if (!options.force && outMs !== undefined && outMs > newestSourceMs) {
    log(`wasm-filter: ${relative(REPO_ROOT, outPath)} is up to date`);
    return { outPath, built: false, durationMs: performance.now() - started };
  }
  await mkdir(dirname(outPath), { recursive: true });
  // A unique temporary name, then rename: two concurrent builds never expose a half-written file.
  const tmpPath = `${outPath}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    await compile(tmpPath);
    await rename(tmpPath, outPath);
  } finally {
    await rm(tmpPath, { force: true });
  }
  const durationMs = performance.now() - started;
  const size = (await stat(outPath)).size;
  log(`wasm-filter: built ${relative(REPO_ROOT, outPath)} (${size} bytes) in ${Math.round(durationMs)} ms`);
  return { outPath, built: true, durationMs };
}

function runAsc(args: string[], cwd: string): Promise<void> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [ASC_PATH, ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), COMPILE_TIMEOUT_MS);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(
        new AtpError(ERR.WASM_BUILD_FAILED, `asc could not start: ${err.message}`, undefined, { cause: err }),
      );
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolvePromise();
      else
        reject(new AtpError(ERR.WASM_BUILD_FAILED, `asc failed (${signal ?? `exit ${code}`}):\n${output}`));
    });
  });
}

function ascOptions(
  value: unknown,
  field: string,
  fail: (field: string, problem: string) => AtpError,
): AscOptions {
  if (!isRecord(value)) throw fail(field, 'expected an object of compiler options');
  for (const [key, v] of Object.entries(value)) {
    const ok =
      typeof v === 'boolean' ||
      typeof v === 'number' ||
      typeof v === 'string' ||
      (Array.isArray(v) && v.every((item) => typeof item === 'string'));
    if (!ok) throw fail(`${field}.${key}`, 'expected a boolean, number, string or list of strings');
  }
  return value as AscOptions;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The newest modification time of a file, or of every file under a folder. */
async function newestMtimeMs(path: string): Promise<number> {
  const info = await stat(path);
  if (!info.isDirectory()) return info.mtimeMs;
  let newest = 0;
  for (const entry of await readdir(path, { withFileTypes: true })) {
    const child = join(path, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, await newestMtimeMs(child));
    else if (entry.isFile()) newest = Math.max(newest, (await stat(child)).mtimeMs);
  }
  return newest;
}

async function mtimeMs(path: string): Promise<number | undefined> {
  try {
    return (await stat(path)).mtimeMs;
  } catch {
    return undefined;
  }
}

async function main(argv: readonly string[]): Promise<number> {
  const program = createProgram('build-wasm', 'Builds the AssemblyScript filter as asconfig.json says.')
    .option('--force', 'rebuild even when the output is newer than every source')
    .option('--target <name>', `asconfig.json target: ${BUILD_TARGETS.join(' | ')}`);
  onAction(program, async (flags: { force?: boolean; target?: string }) => {
    const target = oneOfFlag(flags.target, '--target', BUILD_TARGETS, DEFAULT_BUILD_TARGET);
    await buildWasmFilter({ force: flags.force === true, target });
    return EXIT_OK;
  });
  return runProgram(program, argv);
}

runMain(import.meta.url, main);
