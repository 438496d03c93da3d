/** Prometheus metrics of one control plane (own registry: tests run several in one process). */
import { Counter, createMetricsRegistry, Gauge } from '@mercato/platform/metrics';

export class ControlMetrics {
  readonly registry = createMetricsRegistry();
  readonly changes = new Counter({
    name: 'atp_control_changes_total',
    help: 'Change requests by action and outcome (accepted | refused) and error code',
    labelNames: ['action', 'outcome', 'code'],
    registers: [this.registry],
  });
  readonly snapshotVersion = new Gauge({
    name: 'atp_control_snapshot_version',
    help: 'Latest published control snapshot version',
    registers: [this.registry],
  });
  readonly watchRefused = new Counter({
    name: 'atp_control_watch_refused_total',
    help: 'Watch streams refused, by error code',
    labelNames: ['code'],
    registers: [this.registry],
  });

  constructor(watchers: () => number) {
    new Gauge({
      name: 'atp_control_watchers',
      help: 'Sidecar watch streams open on this replica',
      registers: [this.registry],
      collect() {
        this.set(watchers());
      },
    });
  }
}
