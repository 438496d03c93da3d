/**
 * Dead letters as NDJSON lines appended to a file (local runs): the original
 * text, where it came from, and why (code, field, reason). Synced before
 * `send` resolves.
 */
import { open } from 'node:fs/promises';
import type { DeadLetter } from '../join/outcome-join.js';
import type { DeadLetterSink } from './dead-letter-sink.js';

export const DEAD_LETTER_SCHEMA = 'atp.evaluation-dead-letter.v1';

export function deadLetterToJson(l: DeadLetter, atMs: number): Record<string, unknown> {
  return {
    schema: DEAD_LETTER_SCHEMA,
    stream: l.stream,
    source: l.source,
    partition: l.partition,
    offset: l.offset,
    code: l.code,
    field: l.field,
    reason: l.reason,
    dead_lettered_at_ms: atMs,
    key: l.key,
    value: l.value,
  };
}

export class FileDeadLetterSink implements DeadLetterSink {
  constructor(
    private readonly path: string,
    private readonly clock: () => number = Date.now,
  ) {}

  async send(letters: readonly DeadLetter[]): Promise<void> {
    if (letters.length === 0) return;
    const now = this.clock();
    const text = letters.map((l) => `${JSON.stringify(deadLetterToJson(l, now))}\n`).join('');
    const fh = await open(this.path, 'a');
    try {
      await fh.appendFile(text, 'utf8');
      await fh.sync();
    } finally {
      await fh.close();
    }
  }

  async stop(): Promise<void> {}
}
