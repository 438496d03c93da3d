/**
 * RecordSource over two NDJSON files (a decision log and an outcome log), for
 * local runs and batch recomputation. Each file is one partition (0) whose
 * offsets are line numbers, so a re-run on the same store skips what it
 * applied. The two files are merged by event time (each file's own order is
 * kept; the head line with the smaller event time goes first), the way the
 * two topics interleave in production; a line whose event time cannot be
 * read goes at once (it will be dead-lettered).
 */
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Stream } from '../join/decode-record.js';
import type { RecordBatch, SourceRecord } from '../join/outcome-join.js';
import type { BatchHandler, PartitionsHandler, RecordSource } from './record-source.js';

/** Records per batch (one transaction each). */
export const FILE_BATCH_RECORDS = 500;

interface FileCursor {
  stream: Stream;
  source: string;
  lines: string[];
  next: number;
}

export class NdjsonRecordSource implements RecordSource {
  private stopped = false;
  private resolveFinished: () => void = () => undefined;
  private rejectFinished: (err: unknown) => void = () => undefined;
  readonly finished: Promise<void>;

  constructor(
    private readonly decisionsFile: string,
    private readonly outcomesFile: string,
  ) {
    this.finished = new Promise<void>((res, rej) => {
      this.resolveFinished = res;
      this.rejectFinished = rej;
    });
    this.finished.catch(() => undefined);
  }

  async start(handler: BatchHandler, onPartitions: PartitionsHandler): Promise<void> {
    const cursors = [await open('decisions', this.decisionsFile), await open('outcomes', this.outcomesFile)];
    onPartitions(cursors.map((c) => ({ source: c.source, partition: 0, endOffset: c.lines.length })));
    void this.run(cursors, handler).then(this.resolveFinished, this.rejectFinished);
  }

  async stop(): Promise<void> {
    this.stopped = true;
  }

  private async run(cursors: FileCursor[], handler: BatchHandler): Promise<void> {
    let pending: { cursor: FileCursor; records: SourceRecord[] } | null = null;
    const send = async () => {
      if (pending === null || pending.records.length === 0) return;
      const batch: RecordBatch = {
        stream: pending.cursor.stream,
        source: pending.cursor.source,
        partition: 0,
        records: pending.records,
        caughtUp: pending.cursor.next >= pending.cursor.lines.length,
      };
      pending = null;
      await handler(batch);
    };
    while (!this.stopped) {
      const cursor = pickNext(cursors);
      if (cursor === null) break;
      const line = cursor.lines[cursor.next] ?? '';
      const record: SourceRecord = { offset: cursor.next, key: null, value: line };
      cursor.next++;
      if (line.trim() === '') continue;
      if (pending !== null && (pending.cursor !== cursor || pending.records.length >= FILE_BATCH_RECORDS))
        await send();
      if (pending === null) pending = { cursor, records: [] };
      pending.records.push(record);
    }
    await send();
  }
}

async function open(stream: Stream, path: string): Promise<FileCursor> {
  const text = await readFile(path, 'utf8');
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  return { stream, source: `file:${resolve(path)}`, lines, next: 0 };
}

function pickNext(cursors: FileCursor[]): FileCursor | null {
  let best: FileCursor | null = null;
  let bestTime = Number.POSITIVE_INFINITY;
  for (const c of cursors) {
    if (c.next >= c.lines.length) continue;
    const t = headTime(c.lines[c.next] ?? '');
    if (best === null || t < bestTime) {
      best = c;
      bestTime = t;
    }
  }
  return best;
}

/** The event time a line would advance the watermark to; -Infinity when unreadable (goes first). */
function headTime(line: string): number {
  try {
    const o = JSON.parse(line) as Record<string, unknown>;
    const t = o.ts_ms ?? o.resolved_at_ms ?? o.decided_at_ms;
    return typeof t === 'number' ? t : Number.NEGATIVE_INFINITY;
  } catch {
    return Number.NEGATIVE_INFINITY;
  }
}
