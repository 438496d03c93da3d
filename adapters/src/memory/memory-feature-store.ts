/**
 * The embedded default feature store: FeatureState in process memory plus an
 * index sku -> nodes. Used by `npm start`, by tests, and as the shape the
 * Redis adapter must match.
 */

import { type ApplyOutcome, FeatureState } from '@mercato/features/feature-state';
import { NODE_RECORD_WIDTH, RECORD_WIDTH } from '@mercato/features/record-layout';
import type { FeatureReader, SkuView } from '@mercato/features/store-ports';
import type { InventoryEvent } from '@mercato/proto/v1/inventory-event';

export class MemoryFeatureStore implements FeatureReader {
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

  get skuCount(): number {
    return this.skuNodes.size;
  }
}
