/**
 * Loads the ed25519 public keys a control plane or a sidecar trusts for
 * model bundles: each path is a PEM file or a folder of `*.pem` files.
 */

import type { KeyObject } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parsePublicKey } from './bundle-signature.js';

export function loadTrustedKeys(paths: readonly string[]): KeyObject[] {
  const keys: KeyObject[] = [];
  for (const p of paths) {
    let files: string[];
    try {
      files = statSync(p).isDirectory()
        ? readdirSync(p)
            .filter((f) => f.endsWith('.pem'))
            .sort()
            .map((f) => join(p, f))
        : [p];
    } catch (err) {
      throw new Error(
        `${p}: cannot read trusted key (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`,
      );
    }
    for (const f of files) keys.push(parsePublicKey(readFileSync(f, 'utf8'), f));
  }
  return keys;
}
