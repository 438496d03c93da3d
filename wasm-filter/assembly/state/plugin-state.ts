// What one configured plugin (one root context, one per worker VM) shares
// with every request: the parsed configuration, the filter snapshot in force,
// the shared-data decision cache and margin book, the metrics, the prepared
// sidecar calls and the registry of calls in flight. The root context creates
// it once the configuration is valid and hands it to each stream it creates
// (STYLE rule 12, as the proxy-wasm Go SDK examples do); a stream uses it and
// never reaches back to the root.
//
// No field type here may lead back to a stream class (see stream-context.ts:
// a field-type cycle makes AssemblyScript 0.17 leak every request).

import { DecisionCacheStore } from '../cache/decision-cache-store';
import { MarginStore } from '../cache/margin-store';
import { PluginConfig } from '../config/plugin-config';
import { FilterMetrics } from '../metrics/filter-metrics';
import { generateRequestId } from '../request/request-id';
import { prepareSidecarCalls, SidecarCalls } from '../sidecar/sidecar-call';
import { PendingCalls } from '../sidecar/pending-calls';
import { FilterSnapshot } from '../snapshot/filter-snapshot';

export class PluginState {
  readonly config: PluginConfig;
  readonly metrics: FilterMetrics;
  readonly decisionCache: DecisionCacheStore;
  readonly margins: MarginStore;
  /** The sidecar calls' encoded cluster name and headers, prepared once per configuration. */
  readonly sidecarCalls: SidecarCalls;
  /** Decision calls in flight: token -> the stream paused on it. */
  calls: PendingCalls = new PendingCalls();
  /** The filter snapshot in force; null until one arrives (the plugin configuration's routes apply). */
  snapshot: FilterSnapshot | null = null;
  /** The root context's id, part of generated request ids (one root per worker). */
  private rootContextId: u32;
  private requestCounter: u32 = 0;

  constructor(rootContextId: u32, config: PluginConfig, metrics: FilterMetrics) {
    this.rootContextId = rootContextId;
    this.config = config;
    this.metrics = metrics;
    this.decisionCache = new DecisionCacheStore(config.cacheKeyPrefix, config.cacheMaxEntries);
    this.margins = new MarginStore(config.cacheKeyPrefix, config.cacheMaxEntries);
    this.sidecarCalls = prepareSidecarCalls(config);
  }

  /**
   * A configuration replaced `previous` on the same root: what is not
   * configuration carries over — the snapshot in force, the calls in flight
   * (their streams still wait on them) and the request-id counter.
   */
  carryOver(previous: PluginState): void {
    this.snapshot = previous.snapshot;
    this.calls = previous.calls;
    this.requestCounter = previous.requestCounter;
  }

  /** An id for a request that came without a usable x-request-id. */
  nextRequestId(nowNs: u64): string {
    this.requestCounter++;
    return generateRequestId(nowNs, this.rootContextId, this.requestCounter);
  }

  /** Versions cached decisions must match: the snapshot's, or '' (unknown) before the first snapshot. */
  rulesVersion(): string {
    const s = this.snapshot;
    if (s === null) return '';
    return s.rulesVersion;
  }

  modelVersion(): string {
    const s = this.snapshot;
    if (s === null) return '';
    return s.modelVersion;
  }
}
