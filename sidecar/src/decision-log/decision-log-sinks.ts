/** Decision-log sinks: NDJSON to a file (appending) or stdout, and an in-memory one for tests. */
import { createWriteStream, type WriteStream } from 'node:fs';
import type { DecisionLogSink } from './decision-log.js';

export class NdjsonFileSink implements DecisionLogSink {
  private readonly stream: WriteStream;
  constructor(path: string) {
    this.stream = createWriteStream(path, { flags: 'a' });
    this.stream.on('error', () => undefined);
  }
  write(lines: string): Promise<void> {
    return new Promise((resolve, reject) => {
      this.stream.write(lines, (err) => (err ? reject(err) : resolve()));
    });
  }
  close(): Promise<void> {
    return new Promise((resolve) => this.stream.end(() => resolve()));
  }
}

export class StdoutSink implements DecisionLogSink {
  write(lines: string): Promise<void> {
    return new Promise((resolve, reject) => {
      process.stdout.write(lines, (err) => (err ? reject(err) : resolve()));
    });
  }
  async close(): Promise<void> {}
}

export class MemorySink implements DecisionLogSink {
  readonly lines: string[] = [];
  /** Set to make writes fail (tests of the drop counter). */
  failing = false;
  async write(lines: string): Promise<void> {
    if (this.failing) throw new Error('sink failing');
    for (const l of lines.split('\n')) if (l !== '') this.lines.push(l);
  }
  async close(): Promise<void> {}
  records(): Record<string, unknown>[] {
    return this.lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  }
}
