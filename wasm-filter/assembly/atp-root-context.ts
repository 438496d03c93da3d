// The root (plugin) context: one per worker VM. It parses the configuration
// once and refuses to start when it is bad; creates a stream context per
// request; receives every HTTP call response (in Envoy an HTTP call belongs to
// the root context) and hands sidecar decisions to the stream that asked; and
// on each tick (a) answers streams whose callback never came and (b) every
// snapshot_period_ms adopts a newer filter snapshot from shared data and
// pulls one from the local sidecar, publishing it to shared data so every
// worker sees it. The last good snapshot stays when the sidecar is down.

import { Context, RootContext } from '@solo-io/proxy-runtime';
import { AtpHttpContext } from './atp-http-context';
import {
  DEFAULT_CACHE_KEY_PREFIX,
  DEFAULT_CACHE_MAX_ENTRIES,
  HEADER_STATUS,
  MAX_SNAPSHOT_BYTES,
  NANOS_PER_MS,
  PAUSE_SLACK_MS,
  TICK_PERIOD_MS,
} from './constants';
import { DecisionCacheStore } from './decision-cache-store';
import { policyName } from './failure-policy';
import { FilterMetrics } from './filter-metrics';
import { FilterSnapshot, parseFilterSnapshot } from './filter-snapshot';
import * as host from './host';
import { MarginStore } from './margin-store';
import { PluginConfig, parsePluginConfig } from './plugin-config';
import { generateRequestId } from './request-id';
import { modeName } from './route-mode';
import { prepareSidecarCalls, SidecarCalls } from './sidecar-call';
import { SnapshotExchange } from './snapshot-exchange';
import { StreamContext } from './stream-context';

export class AtpRootContext extends RootContext {
  config: PluginConfig | null = null;
  metrics: FilterMetrics = new FilterMetrics();
  /** The filter snapshot in force; null until one arrives (the plugin configuration's routes apply). */
  snapshot: FilterSnapshot | null = null;
  decisionCache: DecisionCacheStore = new DecisionCacheStore(
    DEFAULT_CACHE_KEY_PREFIX,
    DEFAULT_CACHE_MAX_ENTRIES,
  );
  margins: MarginStore = new MarginStore(DEFAULT_CACHE_KEY_PREFIX, DEFAULT_CACHE_MAX_ENTRIES);
  private exchange: SnapshotExchange = new SnapshotExchange(DEFAULT_CACHE_KEY_PREFIX);
  /** The sidecar calls' encoded cluster name and headers, prepared once per configuration. */
  sidecarCalls: SidecarCalls = new SidecarCalls();
  /** When the snapshot in force was fetched (by any worker), and the shared cas we last looked at. */
  private snapshotFetchedAtMs: u64 = 0;
  private snapshotCas: u32 = 0;
  private nextSnapshotCheckMs: u64 = 0;
  private snapshotInFlight: bool = false;
  private snapshotToken: u32 = 0;
  /** A snapshot call with no callback by then is forgotten (Envoy may never call back). */
  private snapshotGiveUpMs: u64 = 0;
  /** Logs only on transitions, not on every failed poll. */
  private snapshotFailing: bool = false;
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
    this.config = config;
    this.decisionCache = new DecisionCacheStore(config.cacheKeyPrefix, config.cacheMaxEntries);
    this.margins = new MarginStore(config.cacheKeyPrefix, config.cacheMaxEntries);
    this.exchange = new SnapshotExchange(config.cacheKeyPrefix);
    this.sidecarCalls = prepareSidecarCalls(config);
    this.metrics.define();
    if (host.setTickPeriodMs(TICK_PERIOD_MS) != host.RESULT_OK) {
      host.log(
        host.LOG_WARN,
        'atp-filter: tick refused by the host; stuck requests rely on the call timeout and the snapshot is never pulled',
      );
    }
    // Another worker may already have pulled a snapshot: start from it.
    this.adoptSharedSnapshot();
    this.nextSnapshotCheckMs = 0;
    let routes = '';
    for (let i = 0; i < config.routes.length; i++) {
      const r = unchecked(config.routes[i]);
      if (i > 0) routes += ', ';
      routes +=
        r.prefix +
        '=' +
        modeName(r.mode) +
        ' ' +
        r.rolloutPct.toString() +
        '% on failure ' +
        policyName(r.policy.onSidecarFailure);
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
        ', snapshot ' +
        config.snapshotPath +
        ' every ' +
        config.snapshotPeriodMs.toString() +
        ' ms, routes ' +
        routes,
    );
    return true;
  }

  onTick(): void {
    const nowNs = host.nowNs();
    if (this.streams.size > 0) this.answerOverdueStreams(nowNs);
    const config = this.config;
    if (config === null) return;
    const nowMs = nowNs / NANOS_PER_MS;
    if (nowMs < this.nextSnapshotCheckMs) return;
    this.nextSnapshotCheckMs = nowMs + <u64>config.snapshotPeriodMs;
    this.adoptSharedSnapshot();
    this.pollSnapshot(config, nowMs);
    const snapshot = this.snapshot;
    if (snapshot !== null) {
      let ageMs: u64 = 0;
      if (nowMs > this.snapshotFetchedAtMs) ageMs = nowMs - this.snapshotFetchedAtMs;
      this.metrics.recordSnapshot(ageMs, snapshot.version);
    }
  }

  onHttpCallResponse(token: u32, headers: u32, body_size: u32, _trailers: u32): void {
    if (this.snapshotInFlight && token == this.snapshotToken) {
      this.snapshotInFlight = false;
      this.onSnapshotResponse(headers, body_size);
      return;
    }
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

  onDone(): bool {
    return true;
  }

  onDelete(): void {}

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

  /** Answers every stream still waiting past its deadline (timeout + slack). */
  private answerOverdueStreams(nowNs: u64): void {
    const ids = this.streams.keys();
    for (let i = 0; i < ids.length; i++) {
      const id = unchecked(ids[i]);
      if (!this.streams.has(id)) continue;
      const stream = this.streams.get(id);
      if (!stream.isOverdue(nowNs)) continue;
      if (host.setEffectiveContext(id) != host.RESULT_OK) continue;
      this.metrics.countDeadlineExpired();
      stream.onDeadline();
    }
  }

  /** GET snapshot_path from the sidecar, unless a poll is already in flight (and not lost). */
  private pollSnapshot(config: PluginConfig, nowMs: u64): void {
    if (this.snapshotInFlight && nowMs < this.snapshotGiveUpMs) return;
    this.snapshotInFlight = false;
    const calls = this.sidecarCalls;
    const call = host.httpCall(calls.cluster, calls.snapshotHeaders, '', config.snapshotTimeoutMs);
    if (call.result != host.RESULT_OK) {
      this.snapshotFetchFailed('call not dispatched (result ' + call.result.toString() + ')');
      return;
    }
    this.snapshotInFlight = true;
    this.snapshotToken = call.token;
    this.snapshotGiveUpMs = nowMs + <u64>config.snapshotTimeoutMs + PAUSE_SLACK_MS;
  }

  private onSnapshotResponse(headers: u32, bodySize: u32): void {
    if (headers == 0) {
      this.snapshotFetchFailed('no response (reset or timeout)');
      return;
    }
    const status = host.getHttpCallResponseHeader(HEADER_STATUS);
    if (status === null || status != '200') {
      this.snapshotFetchFailed('status ' + orEmpty(status));
      return;
    }
    if (bodySize > MAX_SNAPSHOT_BYTES) {
      this.snapshotFetchFailed('larger than ' + MAX_SNAPSHOT_BYTES.toString() + ' bytes');
      return;
    }
    const bytes = host.httpCallResponseBody(bodySize);
    const parsed = parseFilterSnapshot(bytes);
    const snapshot = parsed.snapshot;
    if (snapshot === null) {
      this.snapshotFetchFailed('invalid snapshot: ' + parsed.error);
      return;
    }
    const nowMs = host.nowNs() / NANOS_PER_MS;
    this.metrics.countSnapshotFetch(true);
    if (this.snapshotFailing) {
      this.snapshotFailing = false;
      host.log(host.LOG_INFO, 'atp-filter: snapshot fetch recovered');
    }
    // Publish first, so the other workers see it on their next tick; ours applies at once.
    this.exchange.publish(bytes, nowMs);
    this.adopt(snapshot, nowMs);
  }

  /** Adopts the shared snapshot when another worker published a newer one since we last looked. */
  private adoptSharedSnapshot(): void {
    const shared = this.exchange.read();
    if (shared === null || shared.cas == this.snapshotCas) return;
    this.snapshotCas = shared.cas;
    if (shared.fetchedAtMs <= this.snapshotFetchedAtMs) return;
    const parsed = parseFilterSnapshot(shared.json);
    const snapshot = parsed.snapshot;
    if (snapshot === null) {
      host.log(host.LOG_WARN, 'atp-filter: ignoring an invalid shared snapshot: ' + parsed.error);
      return;
    }
    this.adopt(snapshot, shared.fetchedAtMs);
  }

  private adopt(snapshot: FilterSnapshot, fetchedAtMs: u64): void {
    const previous = this.snapshot;
    this.snapshot = snapshot;
    this.snapshotFetchedAtMs = fetchedAtMs;
    if (previous !== null && !changedVisibly(previous, snapshot)) return;
    host.log(
      host.LOG_INFO,
      'atp-filter: snapshot ' +
        snapshot.version.toString() +
        ' in force: rules ' +
        snapshot.rulesVersion +
        ', model ' +
        snapshot.modelVersion +
        ', killed ' +
        boolName(snapshot.killed) +
        ', ' +
        snapshot.killedRoutes.length.toString() +
        ' killed routes, ' +
        snapshot.killedSkus.size.toString() +
        ' killed skus, ' +
        snapshot.heldSkus.size.toString() +
        ' held skus',
    );
  }

  private snapshotFetchFailed(why: string): void {
    this.metrics.countSnapshotFetch(false);
    if (this.snapshotFailing) return;
    this.snapshotFailing = true;
    let keeping = 'no snapshot yet: the plugin configuration applies';
    if (this.snapshot !== null) keeping = 'keeping the last good snapshot';
    host.log(host.LOG_WARN, 'atp-filter: snapshot fetch failed: ' + why + '; ' + keeping);
  }
}

/** Worth a log line: anything an operator would look for (versions, kill switches, hold counts). */
function changedVisibly(a: FilterSnapshot, b: FilterSnapshot): bool {
  return (
    a.version != b.version ||
    a.rulesVersion != b.rulesVersion ||
    a.modelVersion != b.modelVersion ||
    a.killed != b.killed ||
    a.killedRoutes.length != b.killedRoutes.length ||
    a.killedSkus.size != b.killedSkus.size ||
    a.heldSkus.size != b.heldSkus.size
  );
}

function boolName(b: bool): string {
  if (b) return 'yes';
  return 'no';
}

function orEmpty(s: string | null): string {
  if (s === null) return '';
  return s;
}
