/**
 * Builds the AssemblyScript filter into wasm-filter/build/atp-filter.wasm.
 * Skips the compile when the output is newer than every source under
 * wasm-filter/assembly. Used by `npm run build:wasm` and by tests (which call
 * buildWasmFilter() when the .wasm is missing or stale).
 *
 * The compiler is spawned rather than imported: asc 0.17 is a CommonJS CLI
 * with global state, and a child process keeps it out of the test process.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));
export const WASM_FILTER_DIR = resolve(HERE, '..');
export const REPO_ROOT = resolve(WASM_FILTER_DIR, '..');
export const ASSEMBLY_DIR = join(WASM_FILTER_DIR, 'assembly');
export const ENTRY_PATH = join(ASSEMBLY_DIR, 'index.ts');
export const OUT_PATH = join(WASM_FILTER_DIR, 'build', 'atp-filter.wasm');
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
export async function buildWasmFilter(options: BuildOptions = {}): Promise<BuildResult> {
  const log = options.log ?? ((line: string) => process.stdout.write(`${line}\n`));
  const started = performance.now();
  const newestSourceMs = await newestMtimeMs(ASSEMBLY_DIR);
  const outMs = await mtimeMs(OUT_PATH);
  if (!options.force && outMs !== undefined && outMs > newestSourceMs) {
    log(`wasm-filter: ${relative(REPO_ROOT, OUT_PATH)} is up to date`);
    return { outPath: OUT_PATH, built: false, durationMs: performance.now() - started };
  }
  await mkdir(dirname(OUT_PATH), { recursive: true });
  // A unique temporary name, then rename: two concurrent builds never expose a half-written file.
  const tmpPath = `${OUT_PATH}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    await runAsc([ENTRY_PATH, '-b', tmpPath, ...ASC_FLAGS]);
    await rename(tmpPath, OUT_PATH);
  } finally {
    await rm(tmpPath, { force: true });
  }
  const durationMs = performance.now() - started;
  const size = (await stat(OUT_PATH)).size;
  log(`wasm-filter: built ${relative(REPO_ROOT, OUT_PATH)} (${size} bytes) in ${Math.round(durationMs)} ms`);
  return { outPath: OUT_PATH, built: true, durationMs };
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
