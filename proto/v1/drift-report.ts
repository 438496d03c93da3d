/**
 * A sidecar's drift report (`GET /v1/drift`, schema atp.drift-report.v1):
 * per model version it serves, whether a drift alarm is in force and the
 * last closed windows with PSI, threshold and alarm per feature (and the
 * score). Aggregates only: no request, SKU or user-level value. Read by
 * `atpctl drift report`, which trusts nothing: `parseDriftReport` checks
 * every field and bounds every list.
 */
import { parseRegionName } from './regions.js';
import {
  asObject,
  ContractError,
  type Obj,
  reqArray,
  reqBool,
  reqId,
  reqInt,
  reqNumber,
  reqString,
} from './validate.js';

export const DRIFT_REPORT_SCHEMA = 'atp.drift-report.v1';
/** Bounds of a report a reader accepts (a sidecar keeps 30 windows of 4 versions over ~30 features). */
const MAX_VERSIONS = 16;
const MAX_WINDOWS = 200;
const MAX_FEATURES = 128;
const MAX_TIME_MS = 4_102_444_800_000;

export interface FeatureDriftWire {
  name: string;
  psi: number;
  /** null when nothing could be judged (an infinite threshold). */
  threshold: number | null;
  alarm: boolean;
}

export interface DriftWindowWire {
  openedAtMs: number;
  closedAtMs: number;
  rows: number;
  /**
   * Distinct (sku, node) records among the rows: the window's sample size as
   * judged (repeated reads of one record are not independent rows). Reports
   * from before this field read as `rows`.
   */
  records: number;
  alarms: string[];
  features: FeatureDriftWire[];
  score: FeatureDriftWire | null;
}

export interface DriftVersionWire {
  modelVersion: string;
  active: boolean;
  alarming: string[];
  sinceMs: number | null;
  windows: number;
  openRows: number;
  history: DriftWindowWire[];
}

export interface DriftReport {
  region: string;
  generatedAtMs: number;
  versions: DriftVersionWire[];
}

const featureToJson = (f: FeatureDriftWire) => ({
  name: f.name,
  psi: f.psi,
  threshold: f.threshold,
  alarm: f.alarm,
});

export function driftReportToJson(r: DriftReport): Record<string, unknown> {
  return {
    schema: DRIFT_REPORT_SCHEMA,
    region: r.region,
    generated_at_ms: r.generatedAtMs,
    versions: r.versions.map((v) => ({
      model_version: v.modelVersion,
      active: v.active,
      alarming: v.alarming,
      since_ms: v.sinceMs,
      windows: v.windows,
      open_rows: v.openRows,
      history: v.history.map((w) => ({
        opened_at_ms: w.openedAtMs,
        closed_at_ms: w.closedAtMs,
        rows: w.rows,
        records: w.records,
        alarms: w.alarms,
        features: w.features.map(featureToJson),
        score: w.score === null ? null : featureToJson(w.score),
      })),
    })),
  };
}

/** Parses an untrusted report; throws ContractError naming the field. */
export function parseDriftReport(raw: unknown): DriftReport {
  const o = asObject(raw, '$');
  if (o.schema !== DRIFT_REPORT_SCHEMA) {
    throw new ContractError('schema', `expected ${DRIFT_REPORT_SCHEMA}, got ${String(o.schema)}`);
  }
  return {
    region: parseRegionName(reqString(o, 'region', '', 64), 'region'),
    generatedAtMs: reqInt(o, 'generated_at_ms', '', 0, MAX_TIME_MS),
    versions: reqArray(o, 'versions', '', 0, MAX_VERSIONS).map((v, i) => parseVersion(v, `versions[${i}]`)),
  };
}

function parseVersion(raw: unknown, prefix: string): DriftVersionWire {
  const o = asObject(raw, prefix);
  return {
    modelVersion: reqId(o, 'model_version', prefix),
    active: reqBool(o, 'active', prefix),
    alarming: names(o, 'alarming', prefix),
    sinceMs: o.since_ms === null ? null : reqInt(o, 'since_ms', prefix, 0, MAX_TIME_MS),
    windows: reqInt(o, 'windows', prefix, 0, Number.MAX_SAFE_INTEGER),
    openRows: reqInt(o, 'open_rows', prefix, 0, Number.MAX_SAFE_INTEGER),
    history: reqArray(o, 'history', prefix, 0, MAX_WINDOWS).map((w, i) =>
      parseWindow(w, `${prefix}.history[${i}]`),
    ),
  };
}

function parseWindow(raw: unknown, prefix: string): DriftWindowWire {
  const o = asObject(raw, prefix);
  return {
    openedAtMs: reqInt(o, 'opened_at_ms', prefix, 0, MAX_TIME_MS),
    closedAtMs: reqInt(o, 'closed_at_ms', prefix, 0, MAX_TIME_MS),
    rows: reqInt(o, 'rows', prefix, 0, Number.MAX_SAFE_INTEGER),
    records:
      o.records === undefined
        ? reqInt(o, 'rows', prefix, 0, Number.MAX_SAFE_INTEGER)
        : reqInt(o, 'records', prefix, 0, Number.MAX_SAFE_INTEGER),
    alarms: names(o, 'alarms', prefix),
    features: reqArray(o, 'features', prefix, 0, MAX_FEATURES).map((f, i) =>
      parseFeature(f, `${prefix}.features[${i}]`),
    ),
    score: o.score === null || o.score === undefined ? null : parseFeature(o.score, `${prefix}.score`),
  };
}

function parseFeature(raw: unknown, prefix: string): FeatureDriftWire {
  const o = asObject(raw, prefix);
  return {
    name: reqId(o, 'name', prefix, 64),
    psi: reqNumber(o, 'psi', prefix, 0, Number.MAX_VALUE),
    threshold: o.threshold === null ? null : reqNumber(o, 'threshold', prefix, 0, Number.MAX_VALUE),
    alarm: reqBool(o, 'alarm', prefix),
  };
}

function names(o: Obj, key: string, prefix: string): string[] {
  return reqArray(o, key, prefix, 0, MAX_FEATURES).map((n, i) =>
    reqId({ n }, 'n', `${prefix}.${key}[${i}]`, 64),
  );
}
