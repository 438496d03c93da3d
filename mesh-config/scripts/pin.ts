/**
 * Pins the Istio manifests to the filter that was built: computes the sha256
 * of wasm-filter/build/atp-filter.wasm (building it when missing or stale) and
 * rewrites every `sha256:` digest in the manifests that carry one. Run after
 * any change to wasm-filter/assembly; tests/mesh-config fails until then.
 *
 *   npm run mesh:pin
 */
import { createHash } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { buildWasmFilter, OUT_PATH, REPO_ROOT } from '../../wasm-filter/scripts/build.js';

export const MESH_CONFIG_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..');
/** Manifests that pin the module by digest. */
export const PINNED_FILES = [
  join(MESH_CONFIG_DIR, 'istio', 'wasm-plugin.yaml'),
  join(MESH_CONFIG_DIR, 'istio', 'envoy-filter.yaml'),
];
/** A `sha256: <64 hex>` line, as both manifests write it. */
const DIGEST_LINE = /^(\s*sha256:\s*)([0-9a-f]{64})\s*$/gm;

export async function sha256Of(path: string): Promise<string> {
  return createHash('sha256')
    .update(await readFile(path))
    .digest('hex');
}

/** The digests each pinned manifest carries (one or more per file). */
export async function readPins(): Promise<Array<{ file: string; sha256: string }>> {
  const pins: Array<{ file: string; sha256: string }> = [];
  for (const file of PINNED_FILES) {
    for (const m of (await readFile(file, 'utf8')).matchAll(DIGEST_LINE))
      pins.push({ file, sha256: m[2] ?? '' });
  }
  return pins;
}

/** Rewrites every digest to `sha256`; returns the files that changed. */
export async function pin(sha256: string): Promise<string[]> {
  const changed: string[] = [];
  for (const file of PINNED_FILES) {
    const text = await readFile(file, 'utf8');
    const next = text.replace(DIGEST_LINE, (_line, prefix: string) => `${prefix}${sha256}`);
    if (next !== text) {
      await writeFile(file, next);
      changed.push(file);
    }
  }
  return changed;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  (async () => {
    await buildWasmFilter({ log: (line) => process.stdout.write(`${line}\n`) });
    const digest = await sha256Of(OUT_PATH);
    const changed = await pin(digest);
    const names = changed.map((f) => relative(REPO_ROOT, f));
    process.stdout.write(
      `mesh:pin sha256 ${digest}: ${names.length > 0 ? `updated ${names.join(', ')}` : 'already pinned'}\n`,
    );
  })().catch((err: unknown) => {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  });
}
