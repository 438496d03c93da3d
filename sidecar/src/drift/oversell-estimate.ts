/**
 * Label-free estimate of the realized oversell rate (issue 14 item 2),
 * before the outcomes arrive hours later: a calibrated p_fulfill of a
 * promised item is the probability it will be fulfilled, so the expected
 * number of oversells among promises is the sum of (1 - p_fulfill) — the
 * confidence-based performance estimation label-free monitoring tools use.
 * Counted per model version as two counters (expected failures, promises)
 * so Prometheus can take the ratio over any range; beside them the bundle's
 * own held-out figure at its thresholds, which the alert compares with. Only
 * calibrated answers count: the rule scorer's number is not a probability.
 *
 * The outcome join shows the realized rate beside this estimate once the
 * outcomes land (`atp-evaluate report`).
 */
import type { CheckResponse } from '@mercato/proto/v1/decision';
import { Counter, Gauge, type Registry } from 'prom-client';

export class OversellEstimate {
  private readonly expected: Counter<'model_version'>;
  private readonly promises: Counter<'model_version'>;
  private readonly offline: Gauge<'model_version'>;
  private readonly children = new Map<string, { expected: Counter.Internal; promises: Counter.Internal }>();

  constructor(registry: Registry) {
    const registers = [registry];
    this.expected = new Counter({
      name: 'atp_estimated_oversells_total',
      help: 'Sum over calibrated checkout promises of (1 - p_fulfill): the oversells to expect before outcomes arrive.',
      labelNames: ['model_version'],
      registers,
    });
    this.promises = new Counter({
      name: 'atp_scored_promises_total',
      help: 'Checkout items promised with a calibrated p_fulfill (the denominator of the estimate).',
      labelNames: ['model_version'],
      registers,
    });
    this.offline = new Gauge({
      name: 'atp_model_heldout_oversell_rate',
      help: "The bundle's held-out oversell rate at its thresholds (manifest metrics), the estimate's reference.",
      labelNames: ['model_version'],
      registers,
    });
  }

  /** The held-out figure of a loaded bundle (manifest `metrics.held_out.threshold_oversell_rate`), when it has one. */
  setHeldOut(version: string, metrics: Record<string, unknown>): void {
    const heldOut = metrics.held_out as Record<string, unknown> | undefined;
    const rate = heldOut?.threshold_oversell_rate;
    if (typeof rate === 'number' && Number.isFinite(rate)) this.offline.set({ model_version: version }, rate);
  }

  /** Called with every answer (the engine's observer). */
  decided(r: CheckResponse): void {
    if (r.channel !== 'checkout' || r.pFulfillKind !== 'calibrated') return;
    let expected = 0;
    let promised = 0;
    for (const it of r.items) {
      if (!it.available) continue;
      promised += 1;
      expected += 1 - Math.min(1, Math.max(0, it.pFulfill));
    }
    if (promised === 0) return;
    let c = this.children.get(r.modelVersion);
    if (c === undefined) {
      c = { expected: this.expected.labels(r.modelVersion), promises: this.promises.labels(r.modelVersion) };
      this.children.set(r.modelVersion, c);
    }
    c.expected.inc(expected);
    c.promises.inc(promised);
  }
}
