// How a worker keeps its filter snapshot current, driven by the root
// context's tick: every snapshot_period_ms it (1) adopts a newer snapshot
// another worker published to shared data, then (2) pulls one from the local
// sidecar (GET snapshot_path, one in flight at a time). A valid answer is
// published to shared data, so every worker sees it, and applied at once; a
// failing or invalid one is counted and logged on the transition only, and
// the last good snapshot stays in force (DESIGN §6, §8).
//
// The snapshot in force lives in the plugin state, where streams read it.

import { HEADER_STATUS, MAX_SNAPSHOT_BYTES, NANOS_PER_MS, PAUSE_SLACK_MS } from '../constants';
import { PluginConfig } from '../config/plugin-config';
import { PluginState } from '../state/plugin-state';
import * as host from '../host/host';
import { FilterSnapshot, parseFilterSnapshot } from './filter-snapshot';
import { SnapshotExchange } from './snapshot-exchange';

/** The snapshot call is a GET: no body. */
const NO_BODY = new ArrayBuffer(0);

export class SnapshotFollower {
  private exchange: SnapshotExchange;
  /** When the snapshot in force was fetched (by any worker), and the shared cas we last looked at. */
  private fetchedAtMs: u64 = 0;
  private sharedCas: u32 = 0;
  private nextCheckMs: u64 = 0;
  private inFlight: bool = false;
  private token: u32 = 0;
  /** A snapshot call with no callback by then is forgotten (Envoy may never call back). */
  private giveUpMs: u64 = 0;
  /** Logs only on transitions, not on every failed poll. */
  private failing: bool = false;

  constructor(keyPrefix: string) {
    this.exchange = new SnapshotExchange(keyPrefix);
  }

  /** A (new) configuration applies: start from the snapshot another worker may already have pulled, and poll at once. */
  configure(plugin: PluginState): void {
    this.exchange = new SnapshotExchange(plugin.config.cacheKeyPrefix);
    this.adoptShared(plugin);
    this.nextCheckMs = 0;
  }

  /** True when `token` is the snapshot call in flight. */
  owns(token: u32): bool {
    return this.inFlight && token == this.token;
  }

  /** Every tick: at most once per snapshot period, adopt, poll and record the snapshot's age. */
  onTick(plugin: PluginState, nowMs: u64): void {
    const config = plugin.config;
    if (nowMs < this.nextCheckMs) return;
    this.nextCheckMs = nowMs + <u64>config.snapshotPeriodMs;
    this.adoptShared(plugin);
    this.poll(plugin, config, nowMs);
    const snapshot = plugin.snapshot;
    if (snapshot !== null) {
      let ageMs: u64 = 0;
      if (nowMs > this.fetchedAtMs) ageMs = nowMs - this.fetchedAtMs;
      plugin.metrics.recordSnapshot(ageMs, snapshot.version);
    }
  }

  /** The answer to the snapshot call (headers == 0: reset or timeout). */
  onResponse(plugin: PluginState, headers: u32, bodySize: u32): void {
    this.inFlight = false;
    if (headers == 0) {
      this.fetchFailed(plugin, 'no response (reset or timeout)');
      return;
    }
    const status = host.getHttpCallResponseHeader(HEADER_STATUS);
    if (status === null || status != '200') {
      this.fetchFailed(plugin, 'status ' + orEmpty(status));
      return;
    }
    if (bodySize > MAX_SNAPSHOT_BYTES) {
      this.fetchFailed(plugin, 'larger than ' + MAX_SNAPSHOT_BYTES.toString() + ' bytes');
      return;
    }
    const bytes = host.httpCallResponseBody(bodySize);
    const parsed = parseFilterSnapshot(bytes);
    const snapshot = parsed.snapshot;
    if (snapshot === null) {
      this.fetchFailed(plugin, 'invalid snapshot: ' + parsed.error);
      return;
    }
    const nowMs = host.nowNs() / NANOS_PER_MS;
    plugin.metrics.countSnapshotFetch(true);
    if (this.failing) {
      this.failing = false;
      host.log(host.LOG_INFO, 'atp-filter: snapshot fetch recovered');
    }
    // Publish first, so the other workers see it on their next tick; ours applies at once.
    this.exchange.publish(bytes, nowMs);
    this.adopt(plugin, snapshot, nowMs);
  }

  /** GET snapshot_path from the sidecar, unless a poll is already in flight (and not lost). */
  private poll(plugin: PluginState, config: PluginConfig, nowMs: u64): void {
    if (this.inFlight && nowMs < this.giveUpMs) return;
    this.inFlight = false;
    const calls = plugin.sidecarCalls;
    const result = host.httpCall(
      calls.cluster,
      calls.snapshotHeaders,
      changetype<usize>(NO_BODY),
      0,
      config.snapshotTimeoutMs,
    );
    if (result != host.RESULT_OK) {
      this.fetchFailed(plugin, 'call not dispatched (result ' + result.toString() + ')');
      return;
    }
    this.inFlight = true;
    this.token = host.lastCallToken();
    this.giveUpMs = nowMs + <u64>config.snapshotTimeoutMs + PAUSE_SLACK_MS;
  }

  /** Adopts the shared snapshot when another worker published a newer one since we last looked. */
  private adoptShared(plugin: PluginState): void {
    const shared = this.exchange.read();
    if (shared === null || shared.cas == this.sharedCas) return;
    this.sharedCas = shared.cas;
    if (shared.fetchedAtMs <= this.fetchedAtMs) return;
    const parsed = parseFilterSnapshot(shared.json);
    const snapshot = parsed.snapshot;
    if (snapshot === null) {
      host.log(host.LOG_WARN, 'atp-filter: ignoring an invalid shared snapshot: ' + parsed.error);
      return;
    }
    this.adopt(plugin, snapshot, shared.fetchedAtMs);
  }

  private adopt(plugin: PluginState, snapshot: FilterSnapshot, fetchedAtMs: u64): void {
    const previous = plugin.snapshot;
    plugin.snapshot = snapshot;
    this.fetchedAtMs = fetchedAtMs;
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

  private fetchFailed(plugin: PluginState, why: string): void {
    plugin.metrics.countSnapshotFetch(false);
    if (this.failing) return;
    this.failing = true;
    let keeping = 'no snapshot yet: the plugin configuration applies';
    if (plugin.snapshot !== null) keeping = 'keeping the last good snapshot';
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
