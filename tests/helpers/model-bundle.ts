/**
 * Small real model bundles for sidecar tests, written by the trainer's own
 * bundle writer (training/src/bundle): a GBDT trained on synthetic rows in
 * the sidecar's feature layout, exported to ONNX. One bundle per version per
 * process, in a temp folder removed at exit.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MANIFEST_FILE, MODEL_FILE } from '../../proto/v1/model-manifest.js';
import { writeSyntheticBundle } from '../../training/src/bundle/synthetic-bundle.js';

const root = mkdtempSync(join(tmpdir(), 'atp-test-bundles-'));
process.on('exit', () => rmSync(root, { recursive: true, force: true }));
const written = new Map<string, string>();
/**
 * Enough rows and trees that p_fulfill of a well-stocked fresh node clears
 * the bundle's checkout threshold (0.9): the defaults' 4K rows / 20 trees
 * stop near 0.88.
 */
export const TEST_BUNDLE_ROWS = 20_000;
export const TEST_BUNDLE_TREES = 100;

/** Folder of a synthetic bundle with this version (trained once per process). */
export function testBundle(version = 'gbdt-test-1', seed = 1): string {
  const key = `${version}|${seed}`;
  let dir = written.get(key);
  if (dir === undefined) {
    dir = join(root, `${version}-${seed}`);
    writeSyntheticBundle(dir, { version, seed, rows: TEST_BUNDLE_ROWS, trees: TEST_BUNDLE_TREES });
    written.set(key, dir);
  }
  return dir;
}

/** A copy of `dir` in a new folder; `edit` may change its files. */
export function copyBundle(dir: string, name: string, edit?: (copy: string) => void): string {
  const copy = join(root, `${name}-${Math.random().toString(36).slice(2, 8)}`);
  cpSync(dir, copy, { recursive: true });
  edit?.(copy);
  return copy;
}

/** Flips bytes in the middle of model.onnx (the manifest's sha256 no longer matches). */
export function corruptModelFile(copy: string): void {
  const p = join(copy, MODEL_FILE);
  const bytes = readFileSync(p);
  for (let i = bytes.length >> 1; i < (bytes.length >> 1) + 64 && i < bytes.length; i++)
    bytes[i] = bytes[i]! ^ 0xff;
  writeFileSync(p, bytes);
}

/** Rewrites manifest.json through `change` (a JSON object edit). */
export function editManifest(copy: string, change: (m: Record<string, unknown>) => void): void {
  const p = join(copy, MANIFEST_FILE);
  const m = JSON.parse(readFileSync(p, 'utf8')) as Record<string, unknown>;
  change(m);
  writeFileSync(p, JSON.stringify(m));
}
