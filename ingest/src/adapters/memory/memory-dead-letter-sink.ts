/**
 * DeadLetterSink on the in-process MemoryEventLog: each letter is appended
 * (original key and value, untouched) to the dead-letter topic, one
 * partition, and kept with its reason in `letters` (bounded) for whoever
 * inspects the embedded system. The Kafka sink carries the reason in headers;
 * the memory log has none, so the reason lives here.
 */
import type { MemoryEventLog } from '@mercato/adapters/memory/memory-event-log';
import type { DeadLetter, DeadLetterSink } from '../../ports.js';

/** Letters kept for inspection; older ones drop (the log keeps the records). */
export const MAX_KEPT_LETTERS = 10_000;

export class MemoryDeadLetterSink implements DeadLetterSink {
  readonly letters: DeadLetter[] = [];

  constructor(
    private readonly log: MemoryEventLog,
    private readonly topic: string,
  ) {}

  async start(): Promise<void> {
    this.log.createTopic(this.topic, 1);
  }

  async stop(): Promise<void> {}

  async send(letters: readonly DeadLetter[]): Promise<void> {
    if (letters.length === 0) return;
    this.log.append(
      this.topic,
      0,
      letters.map((l) => ({ key: l.key, value: l.value, timestampMs: l.timestampMs })),
    );
    this.letters.push(...letters);
    if (this.letters.length > MAX_KEPT_LETTERS)
      this.letters.splice(0, this.letters.length - MAX_KEPT_LETTERS);
  }
}
