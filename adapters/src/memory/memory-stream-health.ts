/**
 * In-memory StreamHealth: zero lag until told otherwise. The embedded
 * default (no Kafka) and the fault tests' lever for "stream lag beyond SLO".
 */
import type { StreamHealth } from '@mercato/features/store-ports';

export class MemoryStreamHealth implements StreamHealth {
  private defaultLagMs = 0;
  private readonly bySku = new Map<string, number>();

  lagMsForSku(sku: string): number {
    return this.bySku.size === 0 ? this.defaultLagMs : (this.bySku.get(sku) ?? this.defaultLagMs);
  }

  /** Sets the lag of every partition (ms). */
  setLagMs(lagMs: number): void {
    this.defaultLagMs = lagMs;
  }

  /** Sets the lag seen for one SKU's partition (ms). */
  setSkuLagMs(sku: string, lagMs: number): void {
    this.bySku.set(sku, lagMs);
  }
}
