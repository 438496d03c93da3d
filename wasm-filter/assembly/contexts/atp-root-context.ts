// The root (plugin) context: one per worker VM. It parses the configuration
// once and refuses to start when it is bad; on a valid one it builds the
// plugin state and hands it to every stream context it creates (STYLE rule
// 12). It receives every HTTP call response (in Envoy an HTTP call belongs to
// the root context) and resumes the stream that asked; and on each tick it
// (a) answers streams whose callback never came and (b) lets the snapshot
// follower adopt and pull the filter snapshot.

import { DEFAULT_CACHE_KEY_PREFIX, NANOS_PER_MS, TICK_PERIOD_MS } from '../constants';
import { describeConfig } from '../config/config-summary';
import { parsePluginConfig } from '../config/plugin-config';
import * as host from '../host/host';
import { FilterMetrics } from '../metrics/filter-metrics';
import { NO_STREAM } from '../sidecar/pending-calls';
import { SnapshotFollower } from '../snapshot/snapshot-follower';
import { PluginState } from '../state/plugin-state';
import { AtpHttpContext } from './atp-http-context';
import { StreamContext } from './stream-context';

export class AtpRootContext {
  readonly contextId: u32;
  /** Null until a valid configuration arrived: streams created before pass everything through. */
  private plugin: PluginState | null = null;
  private snapshots: SnapshotFollower = new SnapshotFollower(DEFAULT_CACHE_KEY_PREFIX);
  /** Live streams, typed StreamContext (not AtpHttpContext) to keep field types acyclic: see stream-context.ts. */
  private streams: Map<u32, StreamContext> = new Map();

  constructor(contextId: u32) {
    this.contextId = contextId;
  }

  /** proxy_on_context_create of a stream under this root. */
  createStream(contextId: u32): StreamContext {
    const plugin = this.plugin;
    if (plugin === null) return new StreamContext(contextId, this.contextId);
    const stream = new AtpHttpContext(contextId, this.contextId, plugin);
    this.streams.set(contextId, stream);
    return stream;
  }

  /** proxy_on_delete of one of our streams (after its own onDelete). */
  releaseStream(contextId: u32): void {
    this.streams.delete(contextId);
  }

  onStart(_vm_configuration_size: usize): bool {
    return true;
  }

  validateConfiguration(configuration_size: usize): bool {
    return parsePluginConfig(host.pluginConfiguration(<u32>configuration_size)).config !== null;
  }

  onConfigure(configuration_size: u32): bool {
    const result = parsePluginConfig(host.pluginConfiguration(configuration_size));
    const config = result.config;
    if (config === null) {
      host.log(
        host.LOG_ERROR,
        'atp-filter: refusing to start: invalid plugin configuration: ' + result.error,
      );
      return false;
    }
    const metrics = new FilterMetrics();
    metrics.define();
    const plugin = new PluginState(this.contextId, config, metrics);
    const previous = this.plugin;
    if (previous !== null) plugin.carryOver(previous);
    this.plugin = plugin;
    if (host.setTickPeriodMs(TICK_PERIOD_MS) != host.RESULT_OK) {
      host.log(
        host.LOG_WARN,
        'atp-filter: tick refused by the host; stuck requests rely on the call timeout and the snapshot is never pulled',
      );
    }
    this.snapshots.configure(plugin);
    host.log(host.LOG_INFO, describeConfig(config, host.pluginRootId()));
    return true;
  }

  onTick(): void {
    const nowNs = host.nowNs();
    if (this.streams.size > 0) this.answerOverdueStreams(nowNs);
    const plugin = this.plugin;
    if (plugin === null) return;
    this.snapshots.onTick(plugin, nowNs / NANOS_PER_MS);
  }

  onHttpCallResponse(token: u32, headers: u32, body_size: u32, _trailers: u32): void {
    const plugin = this.plugin;
    if (plugin !== null && this.snapshots.owns(token)) {
      this.snapshots.onResponse(plugin, headers, body_size);
      return;
    }
    let id = NO_STREAM;
    if (plugin !== null) id = plugin.calls.take(token);
    if (id == NO_STREAM) {
      host.log(host.LOG_DEBUG, 'atp-filter: response for unknown call ' + token.toString());
      return;
    }
    // The stream may have ended (client gone) or been answered by the tick.
    if (!this.streams.has(id)) return;
    if (host.setEffectiveContext(id) != host.RESULT_OK) return;
    this.streams.get(id).onSidecarResponse(headers);
  }

  onDone(): bool {
    return true;
  }

  onDelete(): void {}

  /** Answers every stream still waiting past its deadline (timeout + slack). */
  private answerOverdueStreams(nowNs: u64): void {
    const plugin = this.plugin;
    if (plugin === null) return;
    const ids = this.streams.keys();
    for (let i = 0; i < ids.length; i++) {
      const id = unchecked(ids[i]);
      if (!this.streams.has(id)) continue;
      const stream = this.streams.get(id);
      if (!stream.isOverdue(nowNs)) continue;
      if (host.setEffectiveContext(id) != host.RESULT_OK) continue;
      plugin.metrics.countDeadlineExpired();
      stream.onDeadline();
    }
  }
}
