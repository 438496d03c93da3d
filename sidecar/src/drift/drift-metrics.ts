/**
 * Drift gauges on the sidecar's registry, read from the monitor at scrape
 * time (the hot path never touches prom-client for drift). Labels: the model
 * version (at most the monitor's few tracked versions) and the feature (the
 * bundle's fixed feature names plus `score`), so cardinality stays bounded.
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import type { DriftMonitor, DriftWindowReport } from './drift-monitor.js';
import { OversellEstimate } from './oversell-estimate.js';

/** Registers the drift gauges and the oversell estimate's counters; returns the estimate (an observer of answers). */
export function registerDriftMetrics(registry: Registry, monitor: DriftMonitor): OversellEstimate {
  const registers = [registry];
  const latest = (): DriftWindowReport[] => monitor.latest();
  const perFeature = (pick: (f: { psi: number; threshold: number; alarm: boolean }) => number) =>
    function collect(this: Gauge<'model_version' | 'feature'>) {
      this.reset();
      for (const w of latest()) {
        for (const f of w.score === null ? w.features : [...w.features, w.score]) {
          const v = pick(f);
          if (Number.isFinite(v)) this.set({ model_version: w.modelVersion, feature: f.name }, v);
        }
      }
    };
  new Gauge({
    name: 'atp_drift_psi',
    help: "PSI of the last closed window against the bundle baseline (score: against the version's first window).",
    labelNames: ['model_version', 'feature'],
    registers,
    collect: perFeature((f) => f.psi),
  });
  new Gauge({
    name: 'atp_drift_psi_threshold',
    help: 'Alarm threshold of that window: max(materiality, chi-square quantile / rows), Bonferroni over features.',
    labelNames: ['model_version', 'feature'],
    registers,
    collect: perFeature((f) => f.threshold),
  });
  new Gauge({
    name: 'atp_drift_alarm',
    help: '1 when the feature alarmed in the last closed window.',
    labelNames: ['model_version', 'feature'],
    registers,
    collect: perFeature((f) => (f.alarm ? 1 : 0)),
  });
  new Gauge({
    name: 'atp_drift_active',
    help: '1 while a drift alarm is in force for the model version (margins widened, degraded: drift).',
    labelNames: ['model_version'],
    registers,
    collect(this: Gauge<'model_version'>) {
      this.reset();
      for (const v of monitor.report().versions)
        this.set({ model_version: v.state.modelVersion }, v.state.active ? 1 : 0);
    },
  });
  new Gauge({
    name: 'atp_drift_window_rows',
    help: 'Rows in the last closed drift window.',
    labelNames: ['model_version'],
    registers,
    collect(this: Gauge<'model_version'>) {
      this.reset();
      for (const w of latest()) this.set({ model_version: w.modelVersion }, w.rows);
    },
  });
  new Counter({
    name: 'atp_drift_windows_total',
    help: 'Drift windows closed (all versions).',
    registers,
    collect(this: Counter) {
      this.reset();
      this.inc(monitor.windowsClosed);
    },
  });
  return new OversellEstimate(registry);
}
