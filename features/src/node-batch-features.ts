/**
 * The definitions of the per-node batch features (loss share, scan accuracy,
 * cancellation rate, feed delay, handling adherence), computed from a window
 * of delivered events and order outcomes. The `batch` job, the dataset
 * builder and the local mesh all use this one accumulator. It reuses
 * FeatureState, so "a cycle count found a loss" means exactly what it means
 * online.
 */
import type { InventoryEvent } from '@mercato/proto/v1/inventory-event';
import type { OrderOutcome } from '@mercato/proto/v1/order-outcome';
import { FeatureState } from './feature-state.js';
import { DEFAULT_BATCH_FEATURES, type NodeBatchFeatures } from './node-profile.js';
import { R } from './record-layout.js';

/** Feed delay histogram: bucket b holds delays in [2^(b-1), 2^b) ms; bucket 0 holds < 1 ms. */
const DELAY_BUCKETS = 32;
/** Least history behind a value; below it the node gets the default for that field. */
export const MIN_RECEIVED_UNITS = 50;
export const MIN_CYCLE_COUNTS = 5;
export const MIN_ENDED_RESERVATIONS = 20;
export const MIN_DELAYS = 20;
export const MIN_FULFILLED_ORDERS = 20;

interface NodeTally {
  reservationsEnded: number;
  cancellations: number;
  delayHist: Float64Array;
  delays: number;
  fulfilled: number;
  onTime: number;
}

export class NodeBatchAccumulator {
  private readonly state = new FeatureState();
  private readonly tallies = new Map<string, NodeTally>();

  /** Feeds one delivered event and the time it arrived (ms). */
  observe(e: InventoryEvent, arrivalMs: number): void {
    const outcome = this.state.apply(e);
    if (outcome === 'duplicate') return;
    const t = this.tally(e.node);
    const delay = Math.max(0, arrivalMs - e.eventTimeMs);
    const b = delay < 1 ? 0 : Math.min(DELAY_BUCKETS - 1, Math.floor(Math.log2(delay)) + 1);
    t.delayHist[b]! += 1;
    t.delays++;
    if (e.kind === 'cancellation') {
      t.cancellations++;
      t.reservationsEnded++;
    } else if (e.kind === 'release') {
      t.reservationsEnded++;
    }
  }

  /** Feeds one order outcome: fulfilled orders count toward handling adherence (on time / fulfilled). */
  observeOutcome(o: OrderOutcome): void {
    if (o.status !== 'fulfilled') return;
    const t = this.tally(o.node);
    t.fulfilled++;
    if (o.onTime) t.onTime++;
  }

  /** Batch features for every node seen; nodes with too little history get the defaults per field. */
  result(): Map<string, NodeBatchFeatures> {
    const loss = new Map<string, { lost: number; received: number; counts: number; matched: number }>();
    for (const [key, rec] of this.state.entries()) {
      const node = key.slice(key.indexOf('|') + 1);
      const acc = loss.get(node) ?? { lost: 0, received: 0, counts: 0, matched: 0 };
      acc.lost += rec[R.countedLossUnits]!;
      acc.received += rec[R.receivedUnits]!;
      acc.counts += rec[R.counts]!;
      acc.matched += rec[R.countsMatched]!;
      loss.set(node, acc);
    }
    const out = new Map<string, NodeBatchFeatures>();
    const nodes = new Set<string>([...loss.keys(), ...this.tallies.keys()]);
    for (const node of [...nodes].sort()) {
      const l = loss.get(node);
      const t = this.tallies.get(node);
      out.set(node, {
        lossShare:
          l !== undefined && l.received >= MIN_RECEIVED_UNITS
            ? l.lost / l.received
            : DEFAULT_BATCH_FEATURES.lossShare,
        scanAccuracy:
          l !== undefined && l.counts >= MIN_CYCLE_COUNTS
            ? l.matched / l.counts
            : DEFAULT_BATCH_FEATURES.scanAccuracy,
        cancelRate:
          t !== undefined && t.reservationsEnded >= MIN_ENDED_RESERVATIONS
            ? t.cancellations / t.reservationsEnded
            : DEFAULT_BATCH_FEATURES.cancelRate,
        feedDelayP50S:
          t !== undefined && t.delays >= MIN_DELAYS ? medianDelayS(t) : DEFAULT_BATCH_FEATURES.feedDelayP50S,
        handlingAdherence:
          t !== undefined && t.fulfilled >= MIN_FULFILLED_ORDERS
            ? t.onTime / t.fulfilled
            : DEFAULT_BATCH_FEATURES.handlingAdherence,
      });
    }
    return out;
  }

  private tally(node: string): NodeTally {
    let t = this.tallies.get(node);
    if (t === undefined) {
      t = {
        reservationsEnded: 0,
        cancellations: 0,
        delayHist: new Float64Array(DELAY_BUCKETS),
        delays: 0,
        fulfilled: 0,
        onTime: 0,
      };
      this.tallies.set(node, t);
    }
    return t;
  }
}

/** Median from the log2 histogram, reported as the geometric middle of its bucket. */
function medianDelayS(t: NodeTally): number {
  let seen = 0;
  for (let b = 0; b < DELAY_BUCKETS; b++) {
    seen += t.delayHist[b]!;
    if (seen >= t.delays / 2) {
      const ms = b === 0 ? 0.5 : 2 ** (b - 1) * Math.SQRT2;
      return ms / 1000;
    }
  }
  return DEFAULT_BATCH_FEATURES.feedDelayP50S;
}
