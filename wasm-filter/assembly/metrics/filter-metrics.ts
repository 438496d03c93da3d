// The filter's metrics, defined once per configuration through the raw
// proxy_define_metric import (host.ts; the SDK's Metric classes trap on a
// refusal). Names are stable: dashboards and alerts key on them. A metric the
// host refuses to define is skipped, never fatal.

import { OutcomeLabel } from '../decision/decision-outcome';
import * as host from '../host/host';

export const METRIC_INTERCEPTED = 'atp_filter.requests_intercepted';
export const METRIC_ALLOW = 'atp_filter.decisions_allow';
export const METRIC_DENY = 'atp_filter.decisions_deny';
export const METRIC_SHADOW = 'atp_filter.decisions_shadow';
export const METRIC_BYPASS = 'atp_filter.decisions_bypass';
export const METRIC_INVALID = 'atp_filter.requests_invalid';
/** Requests answered 503 because nothing could stand in for the sidecar. */
export const METRIC_UNAVAILABLE = 'atp_filter.sidecar_unavailable';
/** Every sidecar call without a usable answer, whatever the policy then did. */
export const METRIC_SIDECAR_FAILURES = 'atp_filter.sidecar_failures';
export const METRIC_DEADLINE = 'atp_filter.sidecar_deadline_expired';
export const METRIC_CACHE_HITS = 'atp_filter.cache_hits';
export const METRIC_CACHE_MISSES = 'atp_filter.cache_misses';
export const METRIC_DEGRADED_CACHED = 'atp_filter.degraded_cached_decision';
export const METRIC_DEGRADED_MARGIN = 'atp_filter.degraded_wide_margin';
export const METRIC_DEGRADED_FAIL_OPEN = 'atp_filter.degraded_fail_open';
export const METRIC_HOLDS = 'atp_filter.compliance_holds';
/** Sidecar allows whose x-atp-hold-token was malformed: passed on without one (the hold then lives until its TTL). */
export const METRIC_HOLD_TOKENS_DROPPED = 'atp_filter.hold_tokens_dropped';
/** Checkouts forwarded to the sidecar as a failed-over region's (x-atp-origin-region in failover_for). */
export const METRIC_FAILOVER_REQUESTS = 'atp_filter.failover_requests';
/** x-atp-origin-region values naming neither this region nor one of failover_for: ignored (own region used). */
export const METRIC_ORIGIN_REGION_REFUSED = 'atp_filter.origin_region_refused';
export const METRIC_SNAPSHOT_FETCHES = 'atp_filter.snapshot_fetches';
export const METRIC_SNAPSHOT_FAILURES = 'atp_filter.snapshot_fetch_failures';
/** Gauges: how old the snapshot in force is (ms) and its version. */
export const METRIC_SNAPSHOT_AGE = 'atp_filter.snapshot_age_ms';
export const METRIC_SNAPSHOT_VERSION = 'atp_filter.snapshot_version';

/** How a degraded answer was made, for its counter. */
export enum Degradation {
  CACHED_DECISION = 0,
  WIDE_MARGIN = 1,
  FAIL_OPEN = 2,
}

export class FilterMetrics {
  private intercepted: i64 = -1;
  private allow: i64 = -1;
  private deny: i64 = -1;
  private shadow: i64 = -1;
  private bypass: i64 = -1;
  private invalid: i64 = -1;
  private unavailable: i64 = -1;
  private sidecarFailures: i64 = -1;
  private deadline: i64 = -1;
  private cacheHits: i64 = -1;
  private cacheMisses: i64 = -1;
  private degradedCached: i64 = -1;
  private degradedMargin: i64 = -1;
  private degradedFailOpen: i64 = -1;
  private holds: i64 = -1;
  private holdTokensDropped: i64 = -1;
  private failoverRequests: i64 = -1;
  private originRefused: i64 = -1;
  private snapshotFetches: i64 = -1;
  private snapshotFailures: i64 = -1;
  private snapshotAge: i64 = -1;
  private snapshotVersion: i64 = -1;

  define(): void {
    this.intercepted = host.defineCounter(METRIC_INTERCEPTED);
    this.allow = host.defineCounter(METRIC_ALLOW);
    this.deny = host.defineCounter(METRIC_DENY);
    this.shadow = host.defineCounter(METRIC_SHADOW);
    this.bypass = host.defineCounter(METRIC_BYPASS);
    this.invalid = host.defineCounter(METRIC_INVALID);
    this.unavailable = host.defineCounter(METRIC_UNAVAILABLE);
    this.sidecarFailures = host.defineCounter(METRIC_SIDECAR_FAILURES);
    this.deadline = host.defineCounter(METRIC_DEADLINE);
    this.cacheHits = host.defineCounter(METRIC_CACHE_HITS);
    this.cacheMisses = host.defineCounter(METRIC_CACHE_MISSES);
    this.degradedCached = host.defineCounter(METRIC_DEGRADED_CACHED);
    this.degradedMargin = host.defineCounter(METRIC_DEGRADED_MARGIN);
    this.degradedFailOpen = host.defineCounter(METRIC_DEGRADED_FAIL_OPEN);
    this.holds = host.defineCounter(METRIC_HOLDS);
    this.holdTokensDropped = host.defineCounter(METRIC_HOLD_TOKENS_DROPPED);
    this.failoverRequests = host.defineCounter(METRIC_FAILOVER_REQUESTS);
    this.originRefused = host.defineCounter(METRIC_ORIGIN_REGION_REFUSED);
    this.snapshotFetches = host.defineCounter(METRIC_SNAPSHOT_FETCHES);
    this.snapshotFailures = host.defineCounter(METRIC_SNAPSHOT_FAILURES);
    this.snapshotAge = host.defineGauge(METRIC_SNAPSHOT_AGE);
    this.snapshotVersion = host.defineGauge(METRIC_SNAPSHOT_VERSION);
  }

  countIntercepted(): void {
    host.incrementCounter(this.intercepted);
  }

  countDeadlineExpired(): void {
    host.incrementCounter(this.deadline);
  }

  countSidecarFailure(): void {
    host.incrementCounter(this.sidecarFailures);
  }

  countCacheLookup(hit: bool): void {
    if (hit) host.incrementCounter(this.cacheHits);
    else host.incrementCounter(this.cacheMisses);
  }

  countDegraded(how: Degradation): void {
    if (how == Degradation.CACHED_DECISION) host.incrementCounter(this.degradedCached);
    else if (how == Degradation.WIDE_MARGIN) host.incrementCounter(this.degradedMargin);
    else host.incrementCounter(this.degradedFailOpen);
  }

  countHold(): void {
    host.incrementCounter(this.holds);
  }

  countHoldTokenDropped(): void {
    host.incrementCounter(this.holdTokensDropped);
  }

  /** An intercepted checkout's origin header: honoured (a failover request) or refused (ignored). */
  countOrigin(honoured: bool): void {
    if (honoured) host.incrementCounter(this.failoverRequests);
    else host.incrementCounter(this.originRefused);
  }

  /** A snapshot fetch from the sidecar succeeded (ok) or failed. */
  countSnapshotFetch(ok: bool): void {
    if (ok) host.incrementCounter(this.snapshotFetches);
    else host.incrementCounter(this.snapshotFailures);
  }

  recordSnapshot(ageMs: u64, version: i64): void {
    host.recordGauge(this.snapshotAge, ageMs);
    if (version >= 0) host.recordGauge(this.snapshotVersion, <u64>version);
  }

  countOutcome(label: OutcomeLabel): void {
    if (label == OutcomeLabel.ALLOW) host.incrementCounter(this.allow);
    else if (label == OutcomeLabel.DENY) host.incrementCounter(this.deny);
    else if (label == OutcomeLabel.SHADOW) host.incrementCounter(this.shadow);
    else if (label == OutcomeLabel.BYPASS) host.incrementCounter(this.bypass);
    else if (label == OutcomeLabel.INVALID) host.incrementCounter(this.invalid);
    else host.incrementCounter(this.unavailable);
  }
}
