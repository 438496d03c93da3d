/**
 * The embedded default feature store: FeatureState in process memory plus an
 * index sku -> nodes. Used by `npm start`, by tests, and as the shape the
 * Redis adapter must match. It is both sides of the store: the sidecar reads
 * it (FeatureReader) and the embedded ingester writes it (FeatureSink).
 */

import { type ApplyOutcome, FeatureState } from '@mercato/features/feature-state';
import { NODE_RECORD_WIDTH, RECORD_WIDTH } from '@mercato/features/record-layout';
import type { ApplyCounts, FeatureReader, FeatureSink, SkuView } from '@mercato/features/store-ports';
import type { InventoryEvent } from '@mercato/proto/v1/inventory-event';

export class MemoryFeatureStore implements FeatureReader, FeatureSink {
  readonly state = new FeatureState();
  private readonly skuNodes = new Map<string, string[]>();
  /** Largest event time applied: the watermark for gap flushing. */
  watermarkMs = 0;

  apply(e: InventoryEvent): ApplyOutcome {
    const outcome = this.state.apply(e);
    if (e.eventTimeMs > this.watermarkMs) this.watermarkMs = e.eventTimeMs;
    if (outcome !== 'heartbeat') {
      let nodes = this.skuNodes.get(e.sku);
      if (nodes === undefined) {
        nodes = [];
        this.skuNodes.set(e.sku, nodes);
      }
      if (!nodes.includes(e.node)) nodes.push(e.node);
    }
    return outcome;
  }

  /** FeatureSink: applies delivered events (any order, duplicates allowed); acknowledged on return. */
  async applyEvents(events: readonly InventoryEvent[]): Promise<ApplyCounts> {
    const before = { ...this.state.stats };
    let heartbeats = 0;
    const touched = new Set<string>();
    for (const e of events) {
      if (this.apply(e) === 'heartbeat') heartbeats++;
      else touched.add(e.sku);
    }
    return this.counts(before, heartbeats, touched);
  }

  /** FeatureSink: gives up on gaps older than the gap timeout behind `watermarkMs` in these SKUs. */
  async flushGaps(skus: readonly string[], watermarkMs: number): Promise<ApplyCounts> {
    const before = { ...this.state.stats };
    // FeatureState flushes every expired gap at once; the SKUs asked for are among them.
    this.state.flushGaps(watermarkMs);
    return this.counts(before, 0, new Set(skus));
  }

  async readSku(sku: string): Promise<SkuView> {
    return this.readSkuSync(sku);
  }

  readSkuSync(sku: string): SkuView {
    const nodeIds = this.skuNodes.get(sku) ?? [];
    const recs = new Float64Array(nodeIds.length * RECORD_WIDTH);
    const nodeRecs = new Float64Array(nodeIds.length * NODE_RECORD_WIDTH);
    nodeIds.forEach((node, i) => {
      const rec = this.state.get(sku, node);
      if (rec !== undefined) recs.set(rec, i * RECORD_WIDTH);
      const nrec = this.state.getNode(node);
      if (nrec !== undefined) nodeRecs.set(nrec, i * NODE_RECORD_WIDTH);
    });
    return { nodeIds: [...nodeIds], recs, nodeRecs };
  }

  private counts(before: FeatureState['stats'], heartbeats: number, touched: Set<string>): ApplyCounts {
    const st = this.state.stats;
    const skusWithPending: string[] = [];
    for (const sku of touched) {
      const nodes = this.skuNodes.get(sku) ?? [];
      if (nodes.some((n) => this.state.pendingCount(sku, n) > 0)) skusWithPending.push(sku);
    }
    return {
      applied: st.applied - before.applied,
      duplicates: st.duplicates - before.duplicates,
      gapsSkipped: st.gapsSkipped - before.gapsSkipped,
      heartbeats,
      skusWithPending: skusWithPending.sort(),
    };
  }

  get skuCount(): number {
    return this.skuNodes.size;
  }
}
