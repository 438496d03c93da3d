/**
 * Online calibration as the join reports it (GET /v1/evaluation, `atp-evaluate
 * report`, /metrics): per region x model version, the reliability curve, ECE
 * and Hosmer-Lemeshow alarm of the promises whose outcomes landed, and beside
 * them the label-free estimate for the promises still waiting (issue 14
 * item 2: the oversells to expect before the outcomes arrive).
 */
import { Gauge, type Registry } from '@mercato/platform/metrics';
import type { SqliteJoinStore } from '../join/sqlite-join-store.js';
import type { CalibrationReport } from './online-calibration.js';

export interface CalibrationFigure {
  region: string;
  modelVersion: string;
  /** Promises with outcomes: reliability, ECE, test, expected vs realized oversell. */
  resolved: CalibrationReport;
  /** Promises still waiting: count, expected oversells and their rate (null when none). */
  pending: { promises: number; expectedOversells: number; estimatedOversellRate: number | null };
}

export function calibrationFigures(store: SqliteJoinStore): CalibrationFigure[] {
  const out = new Map<string, CalibrationFigure>();
  const empty = { promises: 0, expectedOversells: 0, estimatedOversellRate: null };
  for (const { key, acc } of store.calibration.accumulators()) {
    out.set(`${key.region}\t${key.modelVersion}`, { ...key, resolved: acc.report(), pending: empty });
  }
  for (const p of store.calibration.pendingEstimates()) {
    const k = `${p.region}\t${p.modelVersion}`;
    const pending = {
      promises: p.promises,
      expectedOversells: p.expectedOversells,
      estimatedOversellRate: p.promises === 0 ? null : p.expectedOversells / p.promises,
    };
    const f = out.get(k);
    if (f !== undefined) f.pending = pending;
    else {
      out.set(k, {
        region: p.region,
        modelVersion: p.modelVersion,
        resolved: {
          n: 0,
          ece: 0,
          hosmerLemeshow: null,
          expectedFailureRate: 0,
          realizedFailureRate: 0,
          bins: [],
          alarm: false,
        },
        pending,
      });
    }
  }
  return [...out.values()];
}

/** Gauges read from the store at scrape time, like the join's other metrics. */
export function registerCalibrationMetrics(registry: Registry, store: SqliteJoinStore): void {
  const labelNames = ['region', 'model_version'] as const;
  const each = (g: Gauge<(typeof labelNames)[number]>, pick: (f: CalibrationFigure) => number | null) => {
    g.reset();
    for (const f of calibrationFigures(store)) {
      const v = pick(f);
      if (v !== null && Number.isFinite(v)) g.set({ region: f.region, model_version: f.modelVersion }, v);
    }
  };
  new Gauge({
    name: 'atp_evaluation_online_ece',
    help: 'expected calibration error of resolved model promises (equal-mass bins)',
    labelNames,
    registers: [registry],
    collect() {
      each(this, (f) => (f.resolved.n === 0 ? null : f.resolved.ece));
    },
  });
  new Gauge({
    name: 'atp_evaluation_calibration_alarm',
    help: '1 when Hosmer-Lemeshow rejects calibration (alpha 0.001) and the ECE is above 0.02',
    labelNames,
    registers: [registry],
    collect() {
      each(this, (f) => (f.resolved.n === 0 ? null : f.resolved.alarm ? 1 : 0));
    },
  });
  new Gauge({
    name: 'atp_evaluation_expected_oversell_rate',
    help: 'mean 1 - p_fulfill of resolved model promises (what calibration expected)',
    labelNames,
    registers: [registry],
    collect() {
      each(this, (f) => (f.resolved.n === 0 ? null : f.resolved.expectedFailureRate));
    },
  });
  new Gauge({
    name: 'atp_evaluation_realized_oversell_rate',
    help: 'share of resolved model promises short-picked (the realized figure beside the expected one)',
    labelNames,
    registers: [registry],
    collect() {
      each(this, (f) => (f.resolved.n === 0 ? null : f.resolved.realizedFailureRate));
    },
  });
  new Gauge({
    name: 'atp_evaluation_pending_estimated_oversell_rate',
    help: 'label-free estimate for model promises still waiting for outcomes: mean 1 - p_fulfill',
    labelNames,
    registers: [registry],
    collect() {
      each(this, (f) => f.pending.estimatedOversellRate);
    },
  });
}
