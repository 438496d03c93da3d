/**
 * Decision ids: time-ordered and unique per process without coordination
 * (ms timestamp, a per-process random prefix, a counter), safe in headers.
 */
import { randomBytes } from 'node:crypto';

const PROCESS_TAG = randomBytes(4).toString('hex');
let counter = 0;

export function newDecisionId(nowMs: number): string {
  counter = (counter + 1) % 0x1000000;
  return `d-${nowMs.toString(36)}-${PROCESS_TAG}-${counter.toString(36)}`;
}
