/**
 * The sidecar's current control snapshot (kill switches, routes, compliance
 * holds, seller constraints, model rollout) and the lookups the policy runs
 * per request, precomputed once per snapshot so the hot path only does Set
 * and Map reads.
 *
 * Until something calls `setSnapshot` (the control plane's watch client, or
 * the last good snapshot persisted on disk, both added by the control-plane
 * work) the embedded `defaultControlSnapshot` is in force.
 */

import {
  type ControlSnapshot,
  defaultControlSnapshot,
  type FilterSnapshot,
  type SellerConstraint,
  toFilterSnapshot,
} from '@mercato/proto/v1/control-snapshot';
import type { Mode } from '@mercato/proto/v1/decision';
import type { ControlView } from '../decision/ports.js';

export interface KillVerdict {
  killed: boolean;
  reason: string;
}

type Listener = (s: ControlSnapshot) => void;

interface Derived {
  snapshot: ControlSnapshot;
  killedAll: KillVerdict | null;
  killedRoutes: { prefix: string; reason: string }[];
  killedSkus: Map<string, string>;
  heldSkus: Map<string, string>;
  sellers: Map<string, SellerConstraint>;
  /** Longest prefix first. */
  routes: ControlSnapshot['routes'];
}

export class ControlState implements ControlView {
  private d: Derived;
  private readonly listeners: Listener[] = [];
  private filterCache: { key: string; value: FilterSnapshot } | null = null;

  constructor(
    private readonly region: string,
    initial: ControlSnapshot = defaultControlSnapshot('rules-only'),
  ) {
    this.d = derive(initial, region);
  }

  /** Replaces the snapshot atomically (one reference swap); readers never see a mix. */
  setSnapshot(s: ControlSnapshot): void {
    this.d = derive(s, this.region);
    this.filterCache = null;
    for (const l of this.listeners) l(s);
  }

  /** Called after every setSnapshot (e.g. the model registry following `model.active`). */
  onSnapshot(listener: Listener): void {
    this.listeners.push(listener);
  }

  get snapshot(): ControlSnapshot {
    return this.d.snapshot;
  }

  get rulesVersion(): string {
    return this.d.snapshot.rulesVersion;
  }

  /** Global, region or route kill switch for a request on `route`. */
  killedFor(route: string): KillVerdict | null {
    if (this.d.killedAll !== null) return this.d.killedAll;
    for (const r of this.d.killedRoutes) {
      if (route.startsWith(r.prefix)) return { killed: true, reason: r.reason };
    }
    return null;
  }

  /** Reason of a SKU kill switch, or undefined. */
  skuKilled(sku: string): string | undefined {
    return this.d.killedSkus.get(sku);
  }

  /** Reason of a compliance hold on `sku` in this region, or undefined. */
  holdOn(sku: string): string | undefined {
    return this.d.heldSkus.get(sku);
  }

  seller(nodeId: string): SellerConstraint | undefined {
    return this.d.sellers.get(nodeId);
  }

  /**
   * Mode for a request: the longest matching route's mode when the request id
   * falls inside its rollout share, else `off`; `fallback` when no route matches.
   */
  modeFor(route: string, requestId: string, fallback: Mode): Mode {
    for (const r of this.d.routes) {
      if (!route.startsWith(r.prefix)) continue;
      if (r.rolloutPct >= 100) return r.mode;
      return rolloutBucket(requestId) < r.rolloutPct ? r.mode : 'off';
    }
    return fallback;
  }

  /** What GET /v1/filter-snapshot serves, cached per (snapshot version, model version). */
  filterSnapshot(modelVersion: string): FilterSnapshot {
    const key = `${this.d.snapshot.version}|${this.d.snapshot.contentHash}|${modelVersion}`;
    if (this.filterCache?.key !== key) {
      this.filterCache = { key, value: toFilterSnapshot(this.d.snapshot, this.region, modelVersion) };
    }
    return this.filterCache.value;
  }
}

function derive(s: ControlSnapshot, region: string): Derived {
  const all = s.killSwitches.find(
    (k) => k.scope === 'global' || (k.scope === 'region' && k.target === region),
  );
  return {
    snapshot: s,
    killedAll: all === undefined ? null : { killed: true, reason: all.reason },
    killedRoutes: s.killSwitches
      .filter((k) => k.scope === 'route')
      .map((k) => ({ prefix: k.target, reason: k.reason })),
    killedSkus: new Map(s.killSwitches.filter((k) => k.scope === 'sku').map((k) => [k.target, k.reason])),
    heldSkus: new Map(
      s.holds.filter((h) => h.region === undefined || h.region === region).map((h) => [h.sku, h.reason]),
    ),
    sellers: new Map(s.sellers.map((c) => [c.nodeId, c])),
    routes: [...s.routes].sort((a, b) => b.prefix.length - a.prefix.length),
  };
}

/** Stable 0..99 bucket of a request id (FNV-1a), the same id always lands in the same bucket. */
export function rolloutBucket(requestId: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < requestId.length; i++) {
    h ^= requestId.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h % 100;
}
