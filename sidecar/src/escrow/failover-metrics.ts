/**
 * Metrics of failover answers (failover-service.ts): decisions per origin
 * region and outcome, and the escrow budget left per origin as last seen
 * (the sum over the SKUs this sidecar answered for; per-SKU figures would
 * be an unbounded label set).
 */
import type { CheckResponse } from '@mercato/proto/v1/decision';
import { Counter, Gauge, type Registry } from 'prom-client';

/** SKUs whose last-seen budget is remembered per origin (beyond it, the oldest is forgotten). */
export const MAX_TRACKED_SKUS = 10_000;

export class FailoverMetrics {
  private readonly decisions: Counter<'origin' | 'decision'>;
  private readonly left = new Map<string, Map<string, number>>();

  constructor(registry: Registry) {
    const registers = [registry];
    this.decisions = new Counter({
      name: 'atp_failover_decisions_total',
      help: 'Decisions answered for a failed neighbour region from its escrow budget, by origin region and outcome.',
      labelNames: ['origin', 'decision'],
      registers,
    });
    const left = this.left;
    new Gauge({
      name: 'atp_escrow_budget_units',
      help: 'Escrow budget units left for an origin region, summed over the SKUs answered (as last seen).',
      labelNames: ['origin'],
      registers,
      collect() {
        this.reset();
        for (const [origin, skus] of left) {
          let sum = 0;
          for (const v of skus.values()) sum += v;
          this.set({ origin }, sum);
        }
      },
    });
  }

  decided(origin: string, r: CheckResponse): void {
    this.decisions.inc({ origin, decision: r.decision });
  }

  budgetLeft(origin: string, sku: string, units: number): void {
    let skus = this.left.get(origin);
    if (skus === undefined) {
      skus = new Map();
      this.left.set(origin, skus);
    }
    skus.delete(sku);
    skus.set(sku, units);
    if (skus.size > MAX_TRACKED_SKUS) skus.delete(skus.keys().next().value as string);
  }
}
