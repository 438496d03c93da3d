/**
 * Read-through hot cache in front of a remote feature store (Redis): fresh
 * hits never leave the process; misses and expired entries go to the store
 * once per SKU at a time (concurrent readers share the in-flight read); when
 * the store fails or its circuit is open, an expired copy is served as
 * `stale-cache` (the policy adds a staleness penalty) and a miss rejects
 * (the policy denies at checkout). DESIGN.md §6 "Redis unreachable".
 */

import type { FeatureReader, SkuView } from '@mercato/features/store-ports';
import { CircuitBreaker } from '@mercato/platform/circuit-breaker';
import { AtpError } from '@mercato/platform/errors';
import type { FeatureRead, TrackedFeatureReader } from '../decision/ports.js';
import { ERR } from '../errors.js';
import type { HotCache } from './hot-cache.js';

export class CachedFeatureReader implements TrackedFeatureReader {
  readonly breaker: CircuitBreaker;
  private readonly inflight = new Map<string, Promise<SkuView>>();

  constructor(
    private readonly store: FeatureReader,
    readonly cache: HotCache,
    private readonly clock: () => number,
    breaker?: CircuitBreaker,
  ) {
    this.breaker = breaker ?? new CircuitBreaker();
  }

  async readSku(sku: string): Promise<SkuView> {
    return (await this.readSkuTracked(sku, this.clock())).view;
  }

  async readSkuTracked(sku: string, nowMs: number): Promise<FeatureRead> {
    const state = this.cache.lookup(sku, nowMs);
    if (state === 'hit') {
      this.cache.stats.hits++;
      return { view: this.cache.read(sku)!, source: 'cache' };
    }
    this.cache.stats.misses++;
    // The breaker runs on real time, not the (injectable) decision clock.
    if (this.breaker.allow(performance.now())) {
      try {
        const view = await this.fetch(sku, nowMs);
        return { view, source: 'store' };
      } catch (err) {
        // Only the first failure of a shared read counts (fetch records it).
        if (state === 'stale') return this.stale(sku);
        throw unavailable(err);
      }
    }
    if (state === 'stale') return this.stale(sku);
    throw unavailable(null);
  }

  private stale(sku: string): FeatureRead {
    this.cache.stats.stale++;
    return { view: this.cache.read(sku)!, source: 'stale-cache' };
  }

  private fetch(sku: string, nowMs: number): Promise<SkuView> {
    let p = this.inflight.get(sku);
    if (p === undefined) {
      p = this.store.readSku(sku).then(
        (view) => {
          this.inflight.delete(sku);
          this.breaker.success();
          this.cache.put(sku, view, nowMs);
          return view;
        },
        (err: unknown) => {
          this.inflight.delete(sku);
          this.breaker.failure(performance.now());
          throw err;
        },
      );
      this.inflight.set(sku, p);
    }
    return p;
  }
}

function unavailable(cause: unknown): AtpError {
  const why = cause instanceof Error ? `: ${cause.message}` : ' (circuit open)';
  return new AtpError(ERR.FEATURES_UNAVAILABLE, `feature store unavailable${why}`);
}
