/**
 * Version names of published sets: `batch-<UTC time of the window end>-<8 hex
 * of the content hash>`. The same inputs give the same name (re-running a
 * job switches to the set it already wrote), different content never shares
 * a name.
 */
import { createHash } from 'node:crypto';

export function setVersion(windowEndMs: number, content: string): string {
  const stamp = new Date(windowEndMs)
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
  const hash = createHash('sha256').update(content).digest('hex').slice(0, 8);
  return `batch-${stamp}-${hash}`;
}

/** A name from the content alone (the directory: no window, so no time in its name). */
export function contentVersion(content: string): string {
  return `batch-${createHash('sha256').update(content).digest('hex').slice(0, 16)}`;
}
