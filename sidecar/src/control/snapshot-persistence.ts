/**
 * The last good control snapshot on disk (DESIGN.md §6: control plane down
 * -> last known good config, persisted on disk). Written atomically: a
 * temp file in the same folder, fsync, rename over the old one, fsync the
 * folder; a crash leaves either the old or the new file, never half of one.
 * The file is the snapshot's JSON wire form; loading re-validates it with
 * parseControlSnapshot and re-checks its content hash, so a truncated or
 * hand-edited file is refused (and the sidecar starts from its embedded
 * default until the control plane answers). The watch client also checks
 * the loaded snapshot's signature (snapshot-trust.ts) and `discard`s a file
 * that fails: moved aside, kept for the post-mortem, never applied again.
 */
import { readFileSync, renameSync } from 'node:fs';
import { mkdir, open, rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { AtpError } from '@mercato/platform/errors';
import {
  type ControlSnapshot,
  controlSnapshotToJson,
  parseControlSnapshot,
} from '@mercato/proto/v1/control-snapshot';
import { snapshotContentHash } from '@mercato/proto/v1/snapshot-content';
import { CONTROL_ERR } from './control-errors.js';

export const SNAPSHOT_FILE_NAME = 'control-snapshot.json';

export type LoadResult = { snapshot: ControlSnapshot } | { snapshot: null; error: AtpError | null };

export class SnapshotPersistence {
  private writes = 0;
  private saving: Promise<void> = Promise.resolve();

  constructor(readonly path: string) {}

  /** The persisted snapshot; `error` null when there is simply no file yet. */
  load(): LoadResult {
    let text: string;
    try {
      text = readFileSync(this.path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { snapshot: null, error: null };
      return {
        snapshot: null,
        error: new AtpError(CONTROL_ERR.SNAPSHOT_INVALID, `${this.path}: ${(err as Error).message}`),
      };
    }
    try {
      const s = parseControlSnapshot(JSON.parse(text));
      const hash = snapshotContentHash(s);
      if (hash !== s.contentHash) {
        return {
          snapshot: null,
          error: new AtpError(
            CONTROL_ERR.SNAPSHOT_INVALID,
            `${this.path}: content hash ${hash} differs from the recorded ${s.contentHash}`,
            'content_hash',
          ),
        };
      }
      return { snapshot: s };
    } catch (err) {
      const field = (err as { field?: string }).field;
      return {
        snapshot: null,
        error: new AtpError(CONTROL_ERR.SNAPSHOT_INVALID, `${this.path}: ${(err as Error).message}`, field),
      };
    }
  }

  /**
   * Moves the file aside (`<path>.rejected-<ms>`) so it is never applied
   * again but stays for whoever investigates; returns where it went, or
   * null when it could not be moved (then the next start refuses it again).
   */
  discard(): string | null {
    const to = `${this.path}.rejected-${Date.now()}`;
    try {
      renameSync(this.path, to);
      return to;
    } catch {
      return null;
    }
  }

  /** Writes `s` atomically; saves are serialized, so the file ends as the last one asked for. */
  save(s: ControlSnapshot): Promise<void> {
    const next = this.saving.then(() => this.write(s));
    this.saving = next.catch(() => undefined);
    return next;
  }

  /** Resolves when every save asked for so far is on disk (or failed). */
  flush(): Promise<void> {
    return this.saving;
  }

  /** Async I/O throughout: an fsync must not stall requests on the event loop. */
  private async write(s: ControlSnapshot): Promise<void> {
    const dir = dirname(this.path);
    const tmp = `${this.path}.tmp-${process.pid}-${++this.writes}`;
    try {
      await mkdir(dir, { recursive: true });
      const fh = await open(tmp, 'w', 0o644);
      try {
        await fh.writeFile(JSON.stringify(controlSnapshotToJson(s)));
        await fh.sync();
      } finally {
        await fh.close();
      }
      await rename(tmp, this.path);
      // The rename is durable only once the folder entry is.
      const dh = await open(dir, 'r');
      try {
        await dh.sync();
      } finally {
        await dh.close();
      }
    } catch (err) {
      await rm(tmp, { force: true }).catch(() => undefined);
      throw new AtpError(CONTROL_ERR.SNAPSHOT_PERSIST_FAILED, `${this.path}: ${(err as Error).message}`);
    }
  }
}
