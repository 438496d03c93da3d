/**
 * Counters of the control link on the sidecar's /metrics: every snapshot,
 * delta or persisted file kept out, by code and source, and persisted
 * snapshots discarded at start (a forged or edited file must be loud, not
 * just absent).
 */
import { Counter, type Registry } from 'prom-client';
import type { SnapshotSource } from './control-watch-client.js';

export interface ControlLinkMetrics {
  refused(code: string, source: SnapshotSource): void;
}

export function createControlLinkMetrics(registry: Registry): ControlLinkMetrics {
  const refused = new Counter({
    name: 'atp_control_snapshot_refused_total',
    help: 'Control snapshots and deltas kept out (unsigned, bad signature, fork, stale, invalid), by code and source',
    labelNames: ['code', 'source'],
    registers: [registry],
  });
  const discarded = new Counter({
    name: 'atp_control_persisted_snapshot_discarded_total',
    help: 'Persisted control snapshots discarded at start because they failed verification',
    registers: [registry],
  });
  return {
    refused(code, source) {
      refused.inc({ code, source });
      if (source === 'disk') discarded.inc();
    },
  };
}
