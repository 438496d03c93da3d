/**
 * The tiny world (tests/helpers/tiny-world.ts: WH-1, ST-1, SL-1 around Z1-1)
 * on a sidecar built with any config: a model, a decision-log sink, Redis
 * adapters. Stock: IN-STOCK 50 everywhere, LOW 1 at ST-1, OUT 0 at WH-1.
 * Heartbeats 5 s before `now`.
 */
import type { MemoryFeatureStore } from '../../adapters/src/memory/memory-feature-store.js';
import { createSidecar, type Sidecar, type SidecarConfig } from '../../sidecar/src/sidecar.js';
import { ev, T0 } from './events.js';
import { TINY_NODES } from './tiny-world.js';

export const WORLD_NOW = T0 + 60_000;

export function feedTinyWorld(features: MemoryFeatureStore, now = WORLD_NOW): void {
  for (const n of TINY_NODES) {
    features.apply(ev('heartbeat', 0, 1, { node: n.nodeId, atMs: now - 5_000 }));
    features.apply(ev('receipt', 50, 1, { sku: 'IN-STOCK', node: n.nodeId, atMs: T0 }));
  }
  features.apply(ev('receipt', 1, 1, { sku: 'LOW', node: 'ST-1', atMs: T0 }));
  features.apply(ev('receipt', 5, 1, { sku: 'OUT', node: 'WH-1', atMs: T0 }));
  features.apply(ev('sale', 5, 2, { sku: 'OUT', node: 'WH-1', atMs: T0 + 1000 }));
}

/**
 * Inference budget for tests that are not about latency: two tap jobs share
 * two cores, so a 5 ms production budget would make results depend on scheduling.
 */
export const TEST_INFERENCE_TIMEOUT_MS = 1_000;

/** A tiny-world sidecar (not started) with `config` on top of the defaults; clock fixed at WORLD_NOW. */
export function worldSidecar(config: Partial<SidecarConfig> = {}): Sidecar {
  const sc = createSidecar({
    region: 'eu-west',
    clock: () => WORLD_NOW,
    defaultMetrics: false,
    inferenceTimeoutMs: TEST_INFERENCE_TIMEOUT_MS,
    ...config,
  });
  for (const n of TINY_NODES) sc.directory.upsert(n);
  feedTinyWorld(sc.features);
  return sc;
}

export function checkout(sku: string, qty = 1, requestId = 'r-1', zone = 'Z1-1') {
  return {
    requestId,
    region: 'eu-west',
    buyerZone: zone,
    channel: 'checkout' as const,
    items: [{ sku, qty }],
  };
}
