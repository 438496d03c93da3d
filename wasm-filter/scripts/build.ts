/**
 * Builds the AssemblyScript filter into wasm-filter/build/atp-filter.wasm.
 * Skips the compile when the output is newer than every source under
 * wasm-filter/assembly. Used by `npm run build:wasm` and by tests (which call
 * buildWasmFilter() when the .wasm is missing or stale). buildWasmModule()
 * builds any other proxy-wasm entry (the SDK example and the no-op baseline
 * in wasm-filter/fixtures/) with the same compiler and flags.
 *
 * The compiler is spawned rather than imported: asc 0.17 is a CommonJS CLI
 * with global state, and a child process keeps it out of the test process.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));
export const WASM_FILTER_DIR = resolve(HERE, '..');
export const REPO_ROOT = resolve(WASM_FILTER_DIR, '..');
export const ASSEMBLY_DIR = join(WASM_FILTER_DIR, 'assembly');
export const ENTRY_PATH = join(ASSEMBLY_DIR, 'index.ts');
export const BUILD_DIR = join(WASM_FILTER_DIR, 'build');
export const OUT_PATH = join(BUILD_DIR, 'atp-filter.wasm');
/** Other proxy-wasm modules built with the same SDK and compiler (AssemblyScript, outside tsc's include). */
export const FIXTURES_DIR = join(WASM_FILTER_DIR, 'fixtures');
/** The SDK README's "Hello, World" AddHeader filter (root id add_header). */
export const ADD_HEADER_ENTRY = join(FIXTURES_DIR, 'add-header.ts');
/** A filter that does nothing, with the SDK's own exports: the bench baseline (root id noop). */
export const NOOP_FILTER_ENTRY = join(FIXTURES_DIR, 'noop-filter.ts');
const ASC_PATH = join(REPO_ROOT, 'node_modules', 'assemblyscript', 'bin', 'asc');

/** The flags the SDK (0.1.8) is known to build with on AssemblyScript 0.17. */
const ASC_FLAGS = ['--use', 'abort=abort_proc_exit', '-O3'];
/** A cold asc -O3 run takes ~15 s on this machine; a hung compiler is killed well after that. */
const COMPILE_TIMEOUT_MS = 180_000;

export interface BuildResult {
  outPath: string;
  /** false when the output was already newer than every source. */
  built: boolean;
  durationMs: number;
}

export interface BuildOptions {
  force?: boolean;
  log?: (line: string) => void;
}

/** Compiles the filter unless it is up to date. Safe to call concurrently (atomic rename). */
export function buildWasmFilter(options: BuildOptions = {}): Promise<BuildResult> {
  return buildWasmModule({ ...options, entry: ENTRY_PATH, outPath: OUT_PATH, sourceDir: ASSEMBLY_DIR });
}

export interface ModuleBuildOptions extends BuildOptions {
  /** The AssemblyScript entry file. */
  entry: string;
  /** Default: wasm-filter/build/<entry file name>.wasm. */
  outPath?: string;
  /** Sources whose changes make the output stale (default: just the entry file). */
  sourceDir?: string;
}

/** Compiles any proxy-wasm entry with the filter's compiler and flags, unless it is up to date. */
export async function buildWasmModule(options: ModuleBuildOptions): Promise<BuildResult> {
  const log = options.log ?? ((line: string) => process.stdout.write(`${line}\n`));
  const outPath = options.outPath ?? join(BUILD_DIR, `${basename(options.entry, '.ts')}.wasm`);
  const started = performance.now();
  const newestSourceMs =
    options.sourceDir === undefined
      ? ((await mtimeMs(options.entry)) ?? 0)
      : await newestMtimeMs(options.sourceDir);
  const outMs = await mtimeMs(outPath);
  if (!options.force && outMs !== undefined && outMs > newestSourceMs) {
    log(`wasm-filter: ${relative(REPO_ROOT, outPath)} is up to date`);
    return { outPath, built: false, durationMs: performance.now() - started };
  }
  await mkdir(dirname(outPath), { recursive: true });
  // A unique temporary name, then rename: two concurrent builds never expose a half-written file.
  const tmpPath = `${outPath}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    await runAsc([options.entry, '-b', tmpPath, ...ASC_FLAGS]);
    await rename(tmpPath, outPath);
  } finally {
    await rm(tmpPath, { force: true });
  }
  const durationMs = performance.now() - started;
  const size = (await stat(outPath)).size;
  log(`wasm-filter: built ${relative(REPO_ROOT, outPath)} (${size} bytes) in ${Math.round(durationMs)} ms`);
  return { outPath, built: true, durationMs };
}

function runAsc(args: string[]): Promise<void> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [ASC_PATH, ...args], {
      cwd: REPO_ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
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
      reject(err);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolvePromise();
      else reject(new Error(`asc failed (${signal ?? `exit ${code}`}):\n${output}`));
    });
  });
}

async function newestMtimeMs(dir: string): Promise<number> {
  let newest = 0;
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, await newestMtimeMs(path));
    else if (entry.isFile()) newest = Math.max(newest, (await stat(path)).mtimeMs);
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

// Run as a script: `npm run build:wasm [-- --force]`.
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  buildWasmFilter({ force: process.argv.includes('--force') }).catch((err: unknown) => {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  });
}
