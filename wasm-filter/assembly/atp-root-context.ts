// The root (plugin) context: one per worker VM. It parses the configuration
// once and refuses to start when it is bad, creates a stream context per
// request, receives every sidecar callback (in Envoy an HTTP call belongs to
// the root context) and hands it to the stream that made the call, and on
// each tick answers streams whose callback never came.

import { Context, RootContext } from '@solo-io/proxy-runtime';
import { AtpHttpContext } from './atp-http-context';
import { TICK_PERIOD_MS } from './constants';
import { FilterMetrics } from './filter-metrics';
import * as host from './host';
import { modeName, PluginConfig, parsePluginConfig } from './plugin-config';
import { generateRequestId } from './request-id';
import { StreamContext } from './stream-context';

export class AtpRootContext extends RootContext {
  config: PluginConfig | null = null;
  metrics: FilterMetrics = new FilterMetrics();
  /** Live streams, typed StreamContext (not AtpHttpContext) to keep field types acyclic: see stream-context.ts. */
  private streams: Map<u32, StreamContext> = new Map();
  /** Pending sidecar calls: token -> stream context id. */
  private calls: Map<u32, u32> = new Map();
  private requestCounter: u32 = 0;

  constructor(context_id: u32) {
    super(context_id);
  }

  /** Called by the ABI layer for proxy_on_context_create of a stream under this root. */
  createStream(context_id: u32): StreamContext {
    const stream = new AtpHttpContext(context_id, this);
    this.streams.set(context_id, stream);
    return stream;
  }

  createContext(context_id: u32): Context {
    return this.createStream(context_id);
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
    this.config = config;
    this.metrics.define();
    if (host.setTickPeriodMs(TICK_PERIOD_MS) != host.RESULT_OK) {
      host.log(
        host.LOG_WARN,
        'atp-filter: tick refused by the host; stuck requests rely on the call timeout',
      );
    }
    let routes = '';
    for (let i = 0; i < config.routes.length; i++) {
      const r = unchecked(config.routes[i]);
      if (i > 0) routes += ', ';
      routes += r.prefix + '=' + modeName(r.mode);
    }
    host.log(
      host.LOG_INFO,
      'atp-filter: configured root id "' +
        host.pluginRootId() +
        '": sidecar ' +
        config.sidecarCluster +
        config.sidecarPath +
        ' timeout ' +
        config.timeoutMs.toString() +
        ' ms, region ' +
        config.region +
        ', routes ' +
        routes,
    );
    return true;
  }

  /** Answers every stream still waiting past its deadline (timeout + slack). */
  onTick(): void {
    if (this.streams.size == 0) return;
    const now = host.nowNs();
    const ids = this.streams.keys();
    for (let i = 0; i < ids.length; i++) {
      const id = unchecked(ids[i]);
      if (!this.streams.has(id)) continue;
      const stream = this.streams.get(id);
      if (!stream.isOverdue(now)) continue;
      if (host.setEffectiveContext(id) != host.RESULT_OK) continue;
      this.metrics.countDeadlineExpired();
      stream.onDeadline();
    }
  }

  onHttpCallResponse(token: u32, headers: u32, _body_size: u32, _trailers: u32): void {
    if (!this.calls.has(token)) {
      host.log(host.LOG_DEBUG, 'atp-filter: response for unknown call ' + token.toString());
      return;
    }
    const id = this.calls.get(token);
    this.calls.delete(token);
    // The stream may have ended (client gone) or been answered by the tick.
    if (!this.streams.has(id)) return;
    if (host.setEffectiveContext(id) != host.RESULT_OK) return;
    this.streams.get(id).onSidecarResponse(headers);
  }

  trackCall(token: u32, contextId: u32): void {
    this.calls.set(token, contextId);
  }

  /** Called when a stream context is deleted; its pending call, if any, is forgotten. */
  forgetStream(contextId: u32, token: u32, hadCall: bool): void {
    this.streams.delete(contextId);
    if (hadCall && this.calls.has(token) && this.calls.get(token) == contextId) this.calls.delete(token);
  }

  nextRequestId(): string {
    this.requestCounter++;
    return generateRequestId(host.nowNs(), this.context_id, this.requestCounter);
  }
}
