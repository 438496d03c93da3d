/**
 * An append-only NDJSON file of the world's run directory: the world's own
 * record of everything it produced (Kafka keeps only a partition's newest
 * megabytes; `atp-batch features --events-file / --outcomes-file` read these
 * files). One write per batch, in call order; nothing is buffered beyond a
 * call, so a crashed run leaves every batch it acknowledged on disk.
 */
import { mkdirSync } from 'node:fs';
import { type FileHandle, open } from 'node:fs/promises';
import { dirname } from 'node:path';
import { AtpError } from '@mercato/platform/errors';
import { ERR } from '../../errors.js';

export class NdjsonLog {
  private handle: FileHandle | null = null;
  private closed = false;
  /** Lines written so far. */
  lines = 0;

  constructor(readonly path: string) {}

  /** Opens the file for appending (creating it and its folder). Idempotent. */
  async start(): Promise<void> {
    if (this.handle !== null) return;
    try {
      mkdirSync(dirname(this.path), { recursive: true });
      this.handle = await open(this.path, 'a');
    } catch (err) {
      throw ioError(this.path, err);
    }
    this.closed = false;
  }

  /** Appends one line per entry (each without its newline); resolves once written. */
  async append(lines: readonly string[]): Promise<void> {
    if (lines.length === 0) return;
    const h = this.handle;
    if (h === null) {
      const why = this.closed ? 'is closed' : 'was not started';
      throw new AtpError(ERR.WORLD_IO, `NDJSON log ${this.path} ${why}`);
    }
    try {
      await h.write(`${lines.join('\n')}\n`);
    } catch (err) {
      throw ioError(this.path, err);
    }
    this.lines += lines.length;
  }

  /** Closes the file. Idempotent. */
  async stop(): Promise<void> {
    const h = this.handle;
    this.handle = null;
    this.closed = true;
    await h?.close();
  }
}

function ioError(path: string, err: unknown): AtpError {
  return new AtpError(ERR.WORLD_IO, `cannot write ${path}: ${(err as Error).message}`, undefined, {
    cause: err,
  });
}
