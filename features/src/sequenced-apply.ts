/**
 * Sequencing of one (sku,node) stream: duplicates dropped, early events held
 * until the gap fills, gaps given up on after GAP_TIMEOUT_MS of event time or
 * MAX_PENDING_PER_KEY held events. Shared by the in-memory FeatureState and the
 * Redis adapter, which loads a PairEntry, applies a batch and writes it back.
 */
import type { InventoryEvent } from '@mercato/proto/v1/inventory-event';
import { applyInSequence, classify } from './apply-event.js';
import { GAP_TIMEOUT_MS, MAX_PENDING_PER_KEY } from './freshness.js';
import { R } from './record-layout.js';

export type ApplyOutcome = 'applied' | 'duplicate' | 'buffered' | 'heartbeat';

export interface PairEntry {
  rec: Float64Array;
  /** Early events sorted by sequence, unique sequences; null when none wait. */
  pending: InventoryEvent[] | null;
}

export interface SequenceStats {
  applied: number;
  duplicates: number;
  gapsSkipped: number;
}

export function newSequenceStats(): SequenceStats {
  return { applied: 0, duplicates: 0, gapsSkipped: 0 };
}

/** Applies one (non-heartbeat) event to its pair. Idempotent. */
export function applyToPair(entry: PairEntry, e: InventoryEvent, stats: SequenceStats): ApplyOutcome {
  const d = classify(entry.rec, 0, e.sequence);
  if (d === 'duplicate') {
    stats.duplicates++;
    return 'duplicate';
  }
  if (d === 'apply') {
    applyInSequence(entry.rec, 0, e);
    stats.applied++;
    drain(entry, stats);
    return 'applied';
  }
  if (!hold(entry, e)) {
    stats.duplicates++;
    return 'duplicate';
  }
  if (gapExpired(entry.pending!)) skipGap(entry, stats);
  return entry.rec[R.nextSeq]! > e.sequence ? 'applied' : 'buffered';
}

/**
 * Gives up on the pair's gap when its oldest held event is more than
 * GAP_TIMEOUT_MS behind `watermarkMs`. Returns whether it skipped.
 */
export function flushPairGap(entry: PairEntry, watermarkMs: number, stats: SequenceStats): boolean {
  const p = entry.pending;
  if (p === null || p.length === 0 || watermarkMs - p[0]!.eventTimeMs <= GAP_TIMEOUT_MS) return false;
  skipGap(entry, stats);
  return true;
}

/** Inserts in sequence order; false when that sequence is already held. */
function hold(entry: PairEntry, e: InventoryEvent): boolean {
  const p = entry.pending ?? [];
  entry.pending = p;
  let i = p.length;
  while (i > 0 && p[i - 1]!.sequence > e.sequence) i--;
  if (i > 0 && p[i - 1]!.sequence === e.sequence) return false;
  p.splice(i, 0, e);
  return true;
}

function gapExpired(p: InventoryEvent[]): boolean {
  if (p.length > MAX_PENDING_PER_KEY) return true;
  let minT = Number.POSITIVE_INFINITY;
  let maxT = Number.NEGATIVE_INFINITY;
  for (const ev of p) {
    if (ev.eventTimeMs < minT) minT = ev.eventTimeMs;
    if (ev.eventTimeMs > maxT) maxT = ev.eventTimeMs;
  }
  return maxT - minT > GAP_TIMEOUT_MS;
}

function skipGap(entry: PairEntry, stats: SequenceStats): void {
  const p = entry.pending;
  if (p === null || p.length === 0) return;
  entry.rec[R.nextSeq] = p[0]!.sequence;
  entry.rec[R.gapsSkipped]! += 1;
  stats.gapsSkipped++;
  drain(entry, stats);
}

/** Applies held events that have become next in sequence. */
function drain(entry: PairEntry, stats: SequenceStats): void {
  const p = entry.pending;
  if (p === null) return;
  while (p.length > 0) {
    const d = classify(entry.rec, 0, p[0]!.sequence);
    if (d === 'early') break;
    const ev = p.shift()!;
    if (d === 'apply') {
      applyInSequence(entry.rec, 0, ev);
      stats.applied++;
    }
  }
  if (p.length === 0) entry.pending = null;
}
