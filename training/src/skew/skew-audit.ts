/**
 * Training-serving skew audit (issue 14 item 3): the feature vectors a
 * sidecar actually served (feature-audit records) against the vectors the
 * training code computes from the event log replayed to each decision's
 * watermarks. The streaming record of the (sku,node) pair is rebuilt by
 * applying its events 1 .. nextSeq - 1 in sequence order through the same
 * FeatureState the dataset builder uses; the node record from the node's
 * events up to its event-time watermark; the node's directory facts and
 * batch features are read as served (the audit checks the streaming state
 * and the vector assembly, not the batch job). A record whose events are not
 * all in the log, whose node the directory no longer knows, or whose batch
 * set was replaced since, is skipped and counted, not compared.
 *
 * A feature is a systematic mismatch when more than `alarmShare` of the
 * compared vectors disagree on it (at least `minMismatches` of them): one
 * odd vector is a late event, a whole feature is a bug.
 */
import { applyToNode, FeatureState } from '@mercato/features/feature-state';
import { FEATURE_COUNT, FEATURE_NAMES, fillFeatureVector } from '@mercato/features/feature-vector';
import { NODE_RECORD_WIDTH } from '@mercato/features/record-layout';
import type { NodeDirectory } from '@mercato/features/store-ports';
import type { FeatureAuditRecord } from '@mercato/proto/v1/feature-audit';
import type { InventoryEvent } from '@mercato/proto/v1/inventory-event';

/** Share of compared vectors that must disagree on a feature for an alarm. */
export const SKEW_ALARM_SHARE = 0.05;
/** ...and at least this many of them. */
export const SKEW_MIN_MISMATCHES = 5;
/** Two float32 values agree within this relative tolerance (plus an absolute floor for values near 0). */
const REL_TOL = 1e-5;
const ABS_TOL = 1e-3;
const EXAMPLES_KEPT = 3;

export type SkipReason = 'events-missing' | 'node-unknown' | 'batch-replaced' | 'schema-differs';

export interface FeatureSkew {
  feature: string;
  compared: number;
  mismatches: number;
  share: number;
  maxAbsDiff: number;
  systematic: boolean;
  examples: { decisionId: string; sku: string; node: string; served: number; recomputed: number }[];
}

export interface SkewReport {
  records: number;
  compared: number;
  skipped: Record<SkipReason, number>;
  features: FeatureSkew[];
  /** Features with a systematic mismatch: the alarm. */
  alarms: string[];
}

export interface SkewAuditOptions {
  alarmShare?: number;
  minMismatches?: number;
  /** The schema hash the training code computes (featureSchemaHash()); records of another schema are skipped. */
  featureSchema: string;
}

/** Pairs and nodes the records need, so the event log can be filtered while it streams. */
export function auditKeys(records: readonly FeatureAuditRecord[]): {
  pairs: Set<string>;
  nodes: Set<string>;
} {
  const pairs = new Set<string>();
  const nodes = new Set<string>();
  for (const r of records) {
    pairs.add(`${r.sku}|${r.node}`);
    nodes.add(r.node);
  }
  return { pairs, nodes };
}

/** Events of the audited pairs (by pair) and nodes (by node), kept from a streamed log. */
export class AuditEventIndex {
  readonly pairEvents = new Map<string, InventoryEvent[]>();
  readonly nodeEvents = new Map<string, InventoryEvent[]>();

  constructor(private readonly keys: { pairs: Set<string>; nodes: Set<string> }) {}

  add(e: InventoryEvent): void {
    if (this.keys.nodes.has(e.node)) push(this.nodeEvents, e.node, e);
    const key = `${e.sku}|${e.node}`;
    if (this.keys.pairs.has(key)) push(this.pairEvents, key, e);
  }
}

function push<T>(m: Map<string, T[]>, k: string, v: T): void {
  const list = m.get(k);
  if (list === undefined) m.set(k, [v]);
  else list.push(v);
}

export function auditSkew(
  records: readonly FeatureAuditRecord[],
  index: AuditEventIndex,
  directory: NodeDirectory,
  opts: SkewAuditOptions,
): SkewReport {
  const alarmShare = opts.alarmShare ?? SKEW_ALARM_SHARE;
  const minMismatches = opts.minMismatches ?? SKEW_MIN_MISMATCHES;
  const skipped: Record<SkipReason, number> = {
    'events-missing': 0,
    'node-unknown': 0,
    'batch-replaced': 0,
    'schema-differs': 0,
  };
  const features: FeatureSkew[] = FEATURE_NAMES.map((feature) => ({
    feature,
    compared: 0,
    mismatches: 0,
    share: 0,
    maxAbsDiff: 0,
    systematic: false,
    examples: [],
  }));
  const sorted = new Map<string, InventoryEvent[]>();
  const out = new Float32Array(FEATURE_COUNT);
  let compared = 0;
  for (const r of records) {
    if (r.featureSchema !== opts.featureSchema || r.features.length !== FEATURE_COUNT) {
      skipped['schema-differs']++;
      continue;
    }
    const info = directory.info(r.node);
    if (info === undefined) {
      skipped['node-unknown']++;
      continue;
    }
    if (r.batchVersion !== directory.batchVersion) {
      skipped['batch-replaced']++;
      continue;
    }
    const key = `${r.sku}|${r.node}`;
    let events = sorted.get(key);
    if (events === undefined) {
      events = [...(index.pairEvents.get(key) ?? [])].sort((a, b) => a.sequence - b.sequence);
      sorted.set(key, events);
    }
    const state = new FeatureState();
    let applied = 0;
    let last = 0;
    for (const e of events) {
      if (e.sequence >= r.nextSeq) break;
      state.apply(e); // idempotent: a duplicate delivery is a no-op, as in the ingester
      if (e.sequence !== last) applied++;
      last = e.sequence;
    }
    if (applied < r.nextSeq - 1) {
      skipped['events-missing']++;
      continue;
    }
    const nodeRec = new Float64Array(NODE_RECORD_WIDTH);
    for (const e of index.nodeEvents.get(r.node) ?? [])
      if (e.eventTimeMs <= r.nodeWatermarkMs) applyToNode(nodeRec, e);
    fillFeatureVector(out, 0, state.get(r.sku, r.node), 0, nodeRec, info, directory.batch(r.node), {
      qty: r.qty,
      nowMs: r.tsMs,
      skuRatePerMin: r.skuRatePerMin,
      streamLagMs: r.streamLagMs,
    });
    compared++;
    for (let f = 0; f < FEATURE_COUNT; f++) {
      const served = r.features[f]!;
      const recomputed = out[f]!;
      const s = features[f]!;
      s.compared++;
      const diff = Math.abs(served - recomputed);
      if (diff > ABS_TOL + REL_TOL * Math.abs(recomputed)) {
        s.mismatches++;
        if (diff > s.maxAbsDiff) s.maxAbsDiff = diff;
        if (s.examples.length < EXAMPLES_KEPT) {
          s.examples.push({ decisionId: r.decisionId, sku: r.sku, node: r.node, served, recomputed });
        }
      }
    }
  }
  for (const s of features) {
    s.share = s.compared === 0 ? 0 : s.mismatches / s.compared;
    s.systematic = s.mismatches >= minMismatches && s.share > alarmShare;
  }
  return {
    records: records.length,
    compared,
    skipped,
    features,
    alarms: features.filter((s) => s.systematic).map((s) => s.feature),
  };
}
