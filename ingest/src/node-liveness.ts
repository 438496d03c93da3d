/**
 * Heartbeat age per node, for the nodes whose heartbeats arrive on this
 * ingester's partitions (heartbeats are keyed by node, so exactly one
 * ingester sees each node). The store keeps the authoritative last heartbeat
 * per node for the policy; this copy only feeds the staleness metrics.
 */
import { SOURCES, type Source } from '@mercato/proto/v1/inventory-event';
import { HEARTBEAT_STALE_MS_BY_SOURCE } from './freshness-slo.js';

interface Seen {
  source: Source;
  lastHeartbeatMs: number;
}

export interface LivenessSummary {
  tracked: number;
  stale: number;
  /** Oldest heartbeat age among tracked nodes (ms), 0 when none. */
  maxAgeMs: number;
}

export class NodeLiveness {
  private readonly byPartition = new Map<number, Map<string, Seen>>();

  observe(partition: number, node: string, source: Source, eventTimeMs: number): void {
    let nodes = this.byPartition.get(partition);
    if (nodes === undefined) {
      nodes = new Map();
      this.byPartition.set(partition, nodes);
    }
    const cur = nodes.get(node);
    if (cur === undefined) nodes.set(node, { source, lastHeartbeatMs: eventTimeMs });
    else if (eventTimeMs > cur.lastHeartbeatMs) cur.lastHeartbeatMs = eventTimeMs;
  }

  /** Forgets nodes of partitions this ingester no longer owns (their new owner reports them). */
  retain(partitions: readonly number[]): void {
    const keep = new Set(partitions);
    for (const p of [...this.byPartition.keys()]) if (!keep.has(p)) this.byPartition.delete(p);
  }

  summary(nowMs: number): Record<Source, LivenessSummary> {
    const out = {} as Record<Source, LivenessSummary>;
    for (const s of SOURCES) out[s] = { tracked: 0, stale: 0, maxAgeMs: 0 };
    for (const nodes of this.byPartition.values()) {
      for (const seen of nodes.values()) {
        const o = out[seen.source];
        const age = Math.max(0, nowMs - seen.lastHeartbeatMs);
        o.tracked++;
        if (age > HEARTBEAT_STALE_MS_BY_SOURCE[seen.source]) o.stale++;
        if (age > o.maxAgeMs) o.maxAgeMs = age;
      }
    }
    return out;
  }
}
