/**
 * Where malformed records go (a port). `send` resolves once the letters are
 * durable; the join applies the rest of the batch only after that, so a
 * crash re-sends (at least once), never loses a letter.
 */
import type { DeadLetter } from '../join/outcome-join.js';

export interface DeadLetterSink {
  send(letters: readonly DeadLetter[]): Promise<void>;
  stop(): Promise<void>;
}
