/**
 * Feature-audit records (`atp.feature-audit.v1`, NDJSON): for a sample of
 * decisions, the feature vector a sidecar actually served for each scored
 * candidate, with what the skew audit needs to recompute it from the event
 * log with the training code: the (sku,node) stream's sequence watermark
 * (the served record's next expected sequence), the node's event-time
 * watermark, the decision time and the request context. No user-level data
 * (no request id, no zone): SKU and node ids are catalogue and site ids.
 */
import { MAX_EVENT_TIME_MS } from './inventory-event.js';
import { parseRegionName } from './regions.js';
import { asObject, ContractError, reqArray, reqId, reqInt, reqNumber, reqString } from './validate.js';

export const FEATURE_AUDIT_SCHEMA = 'atp.feature-audit.v1';
/** A vector longer than this is refused (the schema has 23 features). */
const MAX_FEATURES = 256;

export interface FeatureAuditRecord {
  decisionId: string;
  region: string;
  /** Decision time (the sidecar's business clock), ms. */
  tsMs: number;
  modelVersion: string;
  /** The feature schema hash of the served vector (features/feature-vector.ts featureSchemaHash). */
  featureSchema: string;
  /** The batch node-feature set served (`none`: defaults). */
  batchVersion: string;
  sku: string;
  node: string;
  qty: number;
  /** The served record's next expected sequence: events 1 .. nextSeq - 1 had been applied (1: no record). */
  nextSeq: number;
  /** Largest event time of the node's record as served (0: none). */
  nodeWatermarkMs: number;
  skuRatePerMin: number;
  streamLagMs: number;
  /** The served vector, float32 values as numbers, in the schema's order. */
  features: number[];
}

export function featureAuditToJson(r: FeatureAuditRecord): Record<string, unknown> {
  return {
    schema: FEATURE_AUDIT_SCHEMA,
    decision_id: r.decisionId,
    region: r.region,
    ts_ms: r.tsMs,
    model_version: r.modelVersion,
    feature_schema: r.featureSchema,
    batch_version: r.batchVersion,
    sku: r.sku,
    node: r.node,
    qty: r.qty,
    next_seq: r.nextSeq,
    node_watermark_ms: r.nodeWatermarkMs,
    sku_rate_per_min: r.skuRatePerMin,
    stream_lag_ms: r.streamLagMs,
    features: r.features,
  };
}

/** Parses an untrusted line's JSON; throws ContractError naming the field. */
export function parseFeatureAudit(raw: unknown): FeatureAuditRecord {
  const o = asObject(raw, '$');
  if (o.schema !== FEATURE_AUDIT_SCHEMA) {
    throw new ContractError(
      'schema',
      `expected ${FEATURE_AUDIT_SCHEMA}, got ${String(o.schema).slice(0, 40)}`,
    );
  }
  const features = reqArray(o, 'features', '', 1, MAX_FEATURES).map((v, i) => {
    if (typeof v !== 'number' || !Number.isFinite(v))
      throw new ContractError(`features[${i}]`, 'expected a finite number');
    return v;
  });
  return {
    decisionId: reqId(o, 'decision_id', ''),
    region: parseRegionName(reqString(o, 'region', '', 64), 'region'),
    tsMs: reqInt(o, 'ts_ms', '', 0, MAX_EVENT_TIME_MS),
    modelVersion: reqId(o, 'model_version', ''),
    featureSchema: reqId(o, 'feature_schema', '', 64),
    batchVersion: reqId(o, 'batch_version', ''),
    sku: reqId(o, 'sku', ''),
    node: reqId(o, 'node', ''),
    qty: reqInt(o, 'qty', '', 1, 1_000_000),
    nextSeq: reqInt(o, 'next_seq', '', 1, Number.MAX_SAFE_INTEGER),
    nodeWatermarkMs: reqInt(o, 'node_watermark_ms', '', 0, MAX_EVENT_TIME_MS),
    skuRatePerMin: reqNumber(o, 'sku_rate_per_min', '', 0, Number.MAX_VALUE),
    streamLagMs: reqNumber(o, 'stream_lag_ms', '', 0, Number.MAX_VALUE),
    features,
  };
}
