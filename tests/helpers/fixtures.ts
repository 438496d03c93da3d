/** Loads JSON fixtures that live beside the contracts they describe. */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));

export function loadJson<T>(relPath: string): T {
  return JSON.parse(readFileSync(new URL(`../../${relPath}`, import.meta.url), 'utf8')) as T;
}
