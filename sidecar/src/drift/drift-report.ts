/**
 * The monitor's state as the wire report of `GET /v1/drift`
 * (proto/v1/drift-report.ts): an infinite threshold (nothing to judge)
 * travels as null, since JSON has no infinity.
 */
import type { DriftReport, FeatureDriftWire } from '@mercato/proto/v1/drift-report';
import type { DriftMonitor, FeatureDrift } from './drift-monitor.js';

const wire = (f: FeatureDrift): FeatureDriftWire => ({
  name: f.name,
  psi: f.psi,
  threshold: Number.isFinite(f.threshold) ? f.threshold : null,
  alarm: f.alarm,
});

export function driftReport(monitor: DriftMonitor, region: string, nowMs: number): DriftReport {
  return {
    region,
    generatedAtMs: Math.round(nowMs),
    versions: monitor.report().versions.map((v) => ({
      modelVersion: v.state.modelVersion,
      active: v.state.active,
      alarming: v.state.alarming,
      sinceMs: v.state.sinceMs === null ? null : Math.round(v.state.sinceMs),
      windows: v.state.windows,
      openRows: v.openRows,
      history: v.windows.map((w) => ({
        openedAtMs: Math.round(w.openedAtMs),
        closedAtMs: Math.round(w.closedAtMs),
        rows: w.rows,
        records: w.records,
        alarms: w.alarms,
        features: w.features.map(wire),
        score: w.score === null ? null : wire(w.score),
      })),
    })),
  };
}
