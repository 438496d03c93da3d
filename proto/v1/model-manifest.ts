/**
 * Model bundle manifest, version 1: the contract between training (writer),
 * the control plane (stores, signs, stages) and the sidecar (verifies, loads).
 *
 * A bundle is a folder `models/<version>/` with:
 * - `model.onnx`     the ranker: input `features` float32 [N, F] in
 *                    `feature_names` order; output `p_raw` float32 [N, 1]
 *                    (uncalibrated probability that the pick succeeds);
 * - `manifest.json`  this document (UTF-8 JSON);
 * - `manifest.sig`   optional until signing is configured: base64 ed25519
 *                    signature over the exact bytes of manifest.json. The
 *                    manifest carries the model's sha256, so the signature
 *                    covers both files.
 * The probability the sidecar acts on is calibrate(p_raw) with `calibration`.
 */
import { asObject, ContractError, type Obj, reqArray, reqEnum, reqString } from './validate.js';

export const MODEL_MANIFEST_SCHEMA = 'atp.model-bundle.v1';
export const MODEL_FILE = 'model.onnx';
export const MANIFEST_FILE = 'manifest.json';
export const SIGNATURE_FILE = 'manifest.sig';
export const MODEL_INPUT_NAME = 'features';
export const MODEL_OUTPUT_NAME = 'p_raw';

export type Calibration =
  /** Piecewise-linear through (x[i], y[i]), x ascending, clamped at both ends. */
  | { method: 'isotonic'; x: number[]; y: number[] }
  /** sigmoid(a * logit(p) + b). */
  | { method: 'platt'; a: number; b: number }
  | { method: 'none' };

/** Minimum calibrated p_fulfill to promise, by channel and SKU hotness. */
export interface Thresholds {
  /** Cost of one oversell in units of one lost sale (DESIGN: explicit cost ratio). */
  costRatio: number;
  checkout: { hot: number; cold: number };
  browse: { hot: number; cold: number };
  /** Added to the threshold when the node is stale or its stream lags beyond the SLO. */
  staleMargin: number;
  /** Requests per minute above which a SKU counts as hot. */
  hotSkuRatePerMin: number;
}

export interface DriftHistogram {
  /** Bin edges, ascending, length = counts.length + 1 (first/last are -inf/+inf stand-ins). */
  edges: number[];
  /** Share of training rows per bin (sums to 1). */
  shares: number[];
}

export interface ModelManifest {
  schema: typeof MODEL_MANIFEST_SCHEMA;
  version: string;
  modelFile: string;
  modelSha256: string;
  featureNames: string[];
  featureSchemaHash: string;
  calibration: Calibration;
  thresholds: Thresholds;
  /** Free-form: metrics of the evaluation report (test split), for operators and audits. */
  metrics: Record<string, unknown>;
  driftBaseline: Record<string, DriftHistogram>;
  /** Where the training data came from: seed(s), event-time window, row counts. */
  dataWindow: Record<string, unknown>;
  training: Record<string, unknown>;
}

export function parseModelManifest(raw: unknown): ModelManifest {
  const o = asObject(raw, '$');
  if (o.schema !== MODEL_MANIFEST_SCHEMA)
    throw new ContractError('schema', `expected "${MODEL_MANIFEST_SCHEMA}"`);
  const modelSha256 = reqString(o, 'model_sha256', '', 64);
  if (!/^[0-9a-f]{64}$/.test(modelSha256))
    throw new ContractError('model_sha256', 'expected 64 lowercase hex digits');
  const featureNames = reqArray(o, 'feature_names', '', 1, 512).map((v, i) => {
    if (typeof v !== 'string' || v === '') throw new ContractError(`feature_names[${i}]`, 'expected a name');
    return v;
  });
  return {
    schema: MODEL_MANIFEST_SCHEMA,
    version: reqString(o, 'version', '', 128),
    modelFile: reqString(o, 'model_file', '', 128),
    modelSha256,
    featureNames,
    featureSchemaHash: reqString(o, 'feature_schema_hash', '', 64),
    calibration: parseCalibration(asObject(o.calibration, 'calibration')),
    thresholds: parseThresholds(asObject(o.thresholds, 'thresholds')),
    metrics: asObject(o.metrics ?? {}, 'metrics'),
    driftBaseline: parseDrift(asObject(o.drift_baseline ?? {}, 'drift_baseline')),
    dataWindow: asObject(o.data_window ?? {}, 'data_window'),
    training: asObject(o.training ?? {}, 'training'),
  };
}

export function manifestToJson(m: ModelManifest): Record<string, unknown> {
  const t = m.thresholds;
  return {
    schema: m.schema,
    version: m.version,
    model_file: m.modelFile,
    model_sha256: m.modelSha256,
    feature_names: m.featureNames,
    feature_schema_hash: m.featureSchemaHash,
    calibration: m.calibration,
    thresholds: {
      cost_ratio: t.costRatio,
      checkout: t.checkout,
      browse: t.browse,
      stale_margin: t.staleMargin,
      hot_sku_rate_per_min: t.hotSkuRatePerMin,
    },
    metrics: m.metrics,
    drift_baseline: m.driftBaseline,
    data_window: m.dataWindow,
    training: m.training,
  };
}

/** Applies the manifest's calibration to a raw model probability. */
export function calibrate(c: Calibration, p: number): number {
  switch (c.method) {
    case 'none':
      return p;
    case 'platt': {
      const q = Math.min(1 - 1e-7, Math.max(1e-7, p));
      return 1 / (1 + Math.exp(-(c.a * Math.log(q / (1 - q)) + c.b)));
    }
    case 'isotonic': {
      const { x, y } = c;
      if (p <= x[0]!) return y[0]!;
      const last = x.length - 1;
      if (p >= x[last]!) return y[last]!;
      let lo = 0;
      let hi = last;
      while (hi - lo > 1) {
        const mid = (lo + hi) >> 1;
        if (x[mid]! <= p) lo = mid;
        else hi = mid;
      }
      const span = x[hi]! - x[lo]!;
      return span > 0 ? y[lo]! + ((y[hi]! - y[lo]!) * (p - x[lo]!)) / span : y[hi]!;
    }
  }
}

function num(o: Obj, key: string, prefix: string, min: number, max: number): number {
  const v = o[key];
  const field = prefix === '' ? key : `${prefix}.${key}`;
  if (typeof v !== 'number' || !Number.isFinite(v))
    throw new ContractError(field, 'expected a finite number');
  if (v < min || v > max) throw new ContractError(field, `must be between ${min} and ${max}`);
  return v;
}

function numArray(o: Obj, key: string, prefix: string): number[] {
  return reqArray(o, key, prefix, 1, 100_000).map((v, i) => {
    if (typeof v !== 'number' || !Number.isFinite(v)) {
      throw new ContractError(`${prefix}.${key}[${i}]`, 'expected a finite number');
    }
    return v;
  });
}

function parseCalibration(o: Obj): Calibration {
  const method = reqEnum(o, 'method', 'calibration', ['isotonic', 'platt', 'none'] as const);
  if (method === 'none') return { method };
  if (method === 'platt') {
    return { method, a: num(o, 'a', 'calibration', -1e6, 1e6), b: num(o, 'b', 'calibration', -1e6, 1e6) };
  }
  const x = numArray(o, 'x', 'calibration');
  const y = numArray(o, 'y', 'calibration');
  if (x.length !== y.length)
    throw new ContractError('calibration.y', 'must have as many points as calibration.x');
  for (let i = 1; i < x.length; i++) {
    if (x[i]! < x[i - 1]!) throw new ContractError(`calibration.x[${i}]`, 'must be ascending');
  }
  for (let i = 0; i < y.length; i++) {
    if (y[i]! < 0 || y[i]! > 1) throw new ContractError(`calibration.y[${i}]`, 'must be a probability');
  }
  return { method, x, y };
}

function parseThresholds(o: Obj): Thresholds {
  const pair = (key: 'checkout' | 'browse') => {
    const p = asObject(o[key], `thresholds.${key}`);
    return { hot: num(p, 'hot', `thresholds.${key}`, 0, 1), cold: num(p, 'cold', `thresholds.${key}`, 0, 1) };
  };
  return {
    costRatio: num(o, 'cost_ratio', 'thresholds', 0, 1e6),
    checkout: pair('checkout'),
    browse: pair('browse'),
    staleMargin: num(o, 'stale_margin', 'thresholds', 0, 1),
    hotSkuRatePerMin: num(o, 'hot_sku_rate_per_min', 'thresholds', 0, 1e9),
  };
}

function parseDrift(o: Obj): Record<string, DriftHistogram> {
  const out: Record<string, DriftHistogram> = {};
  for (const [name, raw] of Object.entries(o)) {
    const h = asObject(raw, `drift_baseline.${name}`);
    const edges = numArray(h, 'edges', `drift_baseline.${name}`);
    const shares = numArray(h, 'shares', `drift_baseline.${name}`);
    if (edges.length !== shares.length + 1) {
      throw new ContractError(`drift_baseline.${name}.edges`, 'must have one more element than shares');
    }
    out[name] = { edges, shares };
  }
  return out;
}
