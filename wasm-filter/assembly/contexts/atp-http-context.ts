// The per-request (stream) context: holds only this request's state. On a
// configured route it resolves the mode (snapshot, rollout, kill switches),
// waits for the whole body, validates it, applies compliance holds and SKU
// kill switches locally, answers a recently denied basket from the shared
// cache, else asks the sidecar — and on the answer (or its absence: the
// route's failure policy) continues the request with annotation headers or
// answers it locally, at most once.

import { FilterDataStatusValues, FilterHeadersStatusValues } from '@solo-io/proxy-runtime';
import { writeDecisionKey } from '../cache/decision-cache';
import { Cached } from '../cache/decision-cache-store';
import { policyFailsOpen, policyUsesCache, policyUsesMargin } from '../config/failure-policy';
import { PluginConfig, RouteConfig } from '../config/plugin-config';
import { RouteMode } from '../config/route-mode';
import { matchRoute } from '../config/route-table';
import { MAX_REQUEST_ID_CHARS, NANOS_PER_MS, PAUSE_SLACK_MS } from '../constants';
import {
  ActionKind,
  localDecisionId,
  Outcome,
  outcomeForBypass,
  outcomeForCachedAllow,
  outcomeForCachedDeny,
  outcomeForFailOpen,
  outcomeForInvalidRequest,
  outcomeForRefusal,
  outcomeForSidecarUnavailable,
  outcomeForUnsupportedMediaType,
  outcomeForVerdict,
  outcomeForWideMargin,
} from '../decision/decision-outcome';
import * as host from '../host/host';
import { WHOLE_DOCUMENT } from '../json/field-reader';
import { Degradation } from '../metrics/filter-metrics';
import { CheckoutBody, CheckoutItem, parseCheckoutBody } from '../request/checkout-request';
import { ORIGIN_OWN, RequestHeaders } from '../request/request-headers';
import { stripDecisionHeaders } from '../request/strip-decision-headers';
import { screenBasket } from '../rules/basket-screen';
import { resolveRoute } from '../rules/effective-route';
import { writeSidecarRequest } from '../sidecar/sidecar-request';
import {
  armForBucket,
  experimentBucket,
  experimentFor,
  FilterExperiment,
} from '../experiments/filter-experiment';
import { noResponseVerdict, readVerdict, Verdict, VerdictKind } from '../sidecar/sidecar-verdict';
import { FilterSnapshot } from '../snapshot/filter-snapshot';
import { PluginState } from '../state/plugin-state';
import { ByteWriter } from '../text/byte-writer';
import { isIdentifier } from '../text/identifiers';
import { StreamContext } from './stream-context';

enum StreamState {
  /** Not an ATP request (or not yet seen): the filter stays out of the way. */
  PASSTHROUGH = 0,
  /** Waiting for the end of the body. */
  BUFFERING = 1,
  /** Sidecar call in flight; the request is paused. */
  CALLING = 2,
  /** Decided: continued upstream. */
  CONTINUED = 3,
  /** Decided: answered locally. */
  REPLIED = 4,
}

const POST = 'POST';
const NO_ITEMS: CheckoutItem[] = [];
/** A basket that cannot be cached (key too long) has this key. */
const NO_CACHE_KEY = new ArrayBuffer(0);

// Scratch shared by every stream of the worker (one hook runs at a time): the
// request headers read in place, the cache key and the sidecar request body.
const requestHeaders = new RequestHeaders();
const keyScratch = new ByteWriter(256);
const callBody = new ByteWriter(1024);

export class AtpHttpContext extends StreamContext {
  /** Handed down by the root context that created this stream; shared with every other stream. */
  private plugin: PluginState;
  private state: StreamState = StreamState.PASSTHROUGH;
  private mode: RouteMode = RouteMode.OFF;
  /** The plugin route matched (prefix and failure policy); null until the request is intercepted. */
  private route: RouteConfig | null = null;
  /** ATP is switched off for the path: only compliance holds are still checked. */
  private killed: bool = false;
  private requestId: string = '';
  private zoneHeader: string | null = null;
  private zone: string = '';
  /** The region the sidecar is asked for (and caches and margins are keyed by): own, or a failed-over origin. */
  private region: string = '';
  /** The basket as sent to the sidecar (after SKU kill switches). */
  private items: CheckoutItem[] = NO_ITEMS;
  /** The basket's decision-cache key (decision-cache.ts), computed once; empty: not cacheable. */
  private cacheKey: ArrayBuffer = NO_CACHE_KEY;
  private deadlineNs: u64 = 0;
  private callToken: u32 = 0;
  private hasCall: bool = false;
  /** The experiment covering this request (its bucket and arm), or null. */
  private experiment: FilterExperiment | null = null;
  private bucket: u32 = 0;
  private arm: string = '';

  constructor(contextId: u32, rootContextId: u32, plugin: PluginState) {
    super(contextId, rootContextId);
    this.plugin = plugin;
  }

  onRequestHeaders(_headers: u32, end_of_stream: bool): FilterHeadersStatusValues {
    // One host call for every header we need (not one per header): this hook is on the fast path.
    const size = host.borrowRequestHeaderPairs();
    const status = this.onHeaders(requestHeaders.scan(host.borrowedPtr(), size), end_of_stream);
    host.releaseBorrowed();
    return status;
  }

  /** The request headers, read in place from the borrowed map (released by the caller). */
  private onHeaders(headers: RequestHeaders, end_of_stream: bool): FilterHeadersStatusValues {
    const config = this.plugin.config;
    const path = headers.path();
    if (path === null) return FilterHeadersStatusValues.Continue;
    const route = matchRoute(config.routes, path);
    if (route === null) return FilterHeadersStatusValues.Continue;
    // On ATP routes the x-atp-* request headers are ours alone: a client must not forge a decision
    // (and the mesh's x-atp-origin-region, read below from this copy, stops here too).
    const forged = headers.forged();
    if (forged != 0) stripDecisionHeaders(forged);
    if (!headers.isMethod(POST)) return FilterHeadersStatusValues.Continue;
    const requestId = headers.requestId();
    if (requestId !== null && isIdentifier(requestId, MAX_REQUEST_ID_CHARS)) this.requestId = requestId;
    else this.requestId = this.plugin.nextRequestId(host.nowNs());
    const snapshot = this.plugin.snapshot;
    const effective = resolveRoute(route, snapshot, path, this.requestId);
    if (effective.mode == RouteMode.OFF) return FilterHeadersStatusValues.Continue;
    this.route = route;
    this.mode = effective.mode;
    this.killed = effective.killed;
    this.plugin.metrics.countIntercepted();
    this.region = this.requestRegion(config, headers);
    // Killed: holds are all that is left to check, and only enforce acts on them.
    if (this.killed && (this.mode != RouteMode.ENFORCE || !hasHolds(snapshot))) {
      return this.headersStatus(this.finish(outcomeForBypass(), false));
    }
    this.zoneHeader = headers.buyerZone();
    this.assignExperiment(snapshot, path, headers);
    if (end_of_stream) {
      return this.headersStatus(
        this.refuse(
          outcomeForInvalidRequest(this.mode, WHOLE_DOCUMENT, 'empty body: expected a JSON object'),
        ),
      );
    }
    if (!headers.contentTypeIsJsonOrAbsent()) {
      return this.headersStatus(this.refuse(outcomeForUnsupportedMediaType(this.mode)));
    }
    if (headers.contentLength() > <i64>config.maxBodyBytes) {
      return this.headersStatus(
        this.refuse(outcomeForInvalidRequest(this.mode, WHOLE_DOCUMENT, tooLarge(config))),
      );
    }
    this.state = StreamState.BUFFERING;
    return FilterHeadersStatusValues.StopIteration;
  }

  onRequestBody(body_buffer_length: usize, end_of_stream: bool): FilterDataStatusValues {
    if (this.state != StreamState.BUFFERING) {
      if (this.state == StreamState.CALLING) return FilterDataStatusValues.StopIterationAndBuffer;
      return FilterDataStatusValues.Continue;
    }
    const config = this.plugin.config;
    if (<u64>body_buffer_length > <u64>config.maxBodyBytes) {
      return this.dataStatus(
        this.refuse(outcomeForInvalidRequest(this.mode, WHOLE_DOCUMENT, tooLarge(config))),
      );
    }
    if (!end_of_stream) return FilterDataStatusValues.StopIterationAndBuffer;
    // Parsed in place: the body is borrowed only while it is scanned.
    const size = host.borrowRequestBody(<u32>body_buffer_length);
    const body = parseCheckoutBody(host.borrowedPtr(), size);
    host.releaseBorrowed();
    return this.dataStatus(this.decide(config, body));
  }

  /** The root context got our call's response (headers == 0: reset or timeout); effective context is set. */
  onSidecarResponse(headers: u32): void {
    if (this.state != StreamState.CALLING) return;
    this.hasCall = false;
    const verdict = this.readCallResponse(headers);
    if (verdict.kind == VerdictKind.FAILURE) {
      host.log(
        host.LOG_WARN,
        'atp-filter: request ' + this.requestId + ': sidecar failure: ' + verdict.failure,
      );
      this.onSidecarFailure(true);
      return;
    }
    if (verdict.holdTokenDropped) this.plugin.metrics.countHoldTokenDropped();
    this.remember(verdict);
    this.finish(outcomeForVerdict(this.mode, verdict), true);
  }

  /** The verdict in our call's response headers; headers == 0: the call was reset (Envoy's onHttpCallFailure). */
  private readCallResponse(headers: u32): Verdict {
    if (headers == 0) return noResponseVerdict();
    const plugin = this.plugin;
    const size = host.borrowHttpCallResponseHeaderPairs();
    const verdict = readVerdict(host.borrowedPtr(), size, plugin.rulesVersion(), plugin.modelVersion());
    host.releaseBorrowed();
    return verdict;
  }

  isOverdue(nowNs: u64): bool {
    return this.state == StreamState.CALLING && nowNs >= this.deadlineNs;
  }

  /** The tick found this stream past its deadline: the callback never came. Effective context is set. */
  onDeadline(): void {
    if (this.state != StreamState.CALLING) return;
    host.log(
      host.LOG_WARN,
      'atp-filter: request ' + this.requestId + ': no sidecar answer before the deadline',
    );
    this.onSidecarFailure(true);
  }

  onDelete(): void {
    // A late answer to our call must find nobody (the root also forgets this stream).
    if (this.hasCall) this.plugin.calls.forget(this.callToken, this.contextId);
  }

  /** The whole body is here: local rules, the fast path, then the sidecar. Returns true when the request continues now. */
  private decide(config: PluginConfig, body: CheckoutBody): bool {
    const screen = screenBasket(
      body,
      this.zoneHeader,
      this.plugin.snapshot,
      this.mode,
      this.killed,
      this.requestId,
    );
    const settled = screen.outcome;
    if (settled !== null) {
      if (screen.hold) this.plugin.metrics.countHold();
      return this.finish(settled, false);
    }
    const route = this.route;
    if (route === null) return this.finish(outcomeForSidecarUnavailable(this.mode), false);
    this.zone = screen.zone;
    this.items = screen.items;
    // A cached answer is per basket, not per arm: experiment traffic neither reads nor writes the cache.
    if (
      this.experiment === null &&
      writeDecisionKey(keyScratch, this.region, this.zone, route.prefix, this.items)
    ) {
      this.cacheKey = copyBytes(keyScratch);
    }
    // One clock read serves the cache lookup and the call's deadline.
    const nowNs = host.nowNs();
    if (this.answeredFromCache(route, nowNs / NANOS_PER_MS)) return false;
    return this.callSidecar(config, route, nowNs);
  }

  /** The fast path: a deny cached less than deny_fast_path_ttl_ms ago answers 409 without a call (enforce only). */
  private answeredFromCache(route: RouteConfig, nowMs: u64): bool {
    const ttlMs = route.policy.denyFastPathTtlMs;
    if (this.mode != RouteMode.ENFORCE || ttlMs == 0 || this.cacheKey.byteLength == 0) return false;
    const hit = this.cachedDecision(ttlMs, nowMs, false) == Cached.DENY;
    this.plugin.metrics.countCacheLookup(hit);
    if (!hit) return false;
    this.finish(outcomeForCachedDeny(localDecisionId(this.requestId), false), false);
    return true;
  }

  /** Own region, or the failover origin named by the mesh when failover_for lists it (others counted). */
  private requestRegion(config: PluginConfig, headers: RequestHeaders): string {
    const i = headers.originRegionIndex(config.failoverFor, config.region);
    if (i == ORIGIN_OWN) return config.region;
    this.plugin.metrics.countOrigin(i >= 0);
    return i >= 0 ? unchecked(config.failoverFor[i]) : config.region;
  }

  /** The bucket of the buyer key (read in place, never kept) when a running experiment covers the path. */
  private assignExperiment(snapshot: FilterSnapshot | null, path: string, headers: RequestHeaders): void {
    if (snapshot === null || snapshot.experiments.length == 0 || !headers.hasBuyerKey()) return;
    const e = experimentFor(snapshot.experiments, path);
    if (e === null) return;
    this.bucket = experimentBucket(e.salt, headers.buyerKeyPtr(), headers.buyerKeySize());
    this.arm = armForBucket(e, this.bucket);
    this.experiment = e;
  }

  /** Dispatches the sidecar call and pauses. Returns true when the request continues now (dispatch refused). */
  private callSidecar(config: PluginConfig, route: RouteConfig, nowNs: u64): bool {
    const body = writeSidecarRequest(
      callBody,
      this.requestId,
      this.region,
      this.zone,
      this.items,
      this.experiment,
      this.bucket,
      this.arm,
    );
    const result = host.httpCall(
      this.plugin.sidecarCalls.cluster,
      route.checkCallHeaders,
      body.dataStart,
      body.length,
      config.timeoutMs,
    );
    if (result != host.RESULT_OK) {
      host.log(
        host.LOG_WARN,
        'atp-filter: request ' +
          this.requestId +
          ': sidecar call not dispatched (result ' +
          result.toString() +
          ')',
      );
      return this.onSidecarFailure(false);
    }
    const token = host.lastCallToken();
    this.state = StreamState.CALLING;
    this.callToken = token;
    this.hasCall = true;
    this.deadlineNs = nowNs + (<u64>config.timeoutMs + PAUSE_SLACK_MS) * NANOS_PER_MS;
    this.plugin.calls.track(token, this.contextId);
    return false;
  }

  /**
   * No usable sidecar answer: the route's failure policy (DESIGN §6), step by
   * step — a cached decision younger than cache_ttl_ms, else a wide
   * last-known margin, else fail open (opt-in), else a retryable 503. Shadow
   * mode only annotates. Returns true when the request continues now.
   */
  private onSidecarFailure(resume: bool): bool {
    this.plugin.metrics.countSidecarFailure();
    const route = this.route;
    if (this.mode != RouteMode.ENFORCE || route === null) {
      return this.finish(outcomeForSidecarUnavailable(this.mode), resume);
    }
    const policy = route.policy;
    const id = localDecisionId(this.requestId);
    if (policyUsesCache(policy.onSidecarFailure) && this.cacheKey.byteLength > 0) {
      const cached = this.cachedDecision(policy.cacheTtlMs, host.nowNs() / NANOS_PER_MS, true);
      if (cached != Cached.NONE) {
        this.plugin.metrics.countDegraded(Degradation.CACHED_DECISION);
        if (cached == Cached.ALLOW) {
          return this.finish(outcomeForCachedAllow(id, this.plugin.decisionCache.lastNode), resume);
        }
        return this.finish(outcomeForCachedDeny(id, true), resume);
      }
    }
    if (policyUsesMargin(policy.onSidecarFailure) && this.wideMarginAllows(route)) {
      this.plugin.metrics.countDegraded(Degradation.WIDE_MARGIN);
      return this.finish(outcomeForWideMargin(id), resume);
    }
    if (policyFailsOpen(policy.onSidecarFailure)) {
      this.plugin.metrics.countDegraded(Degradation.FAIL_OPEN);
      return this.finish(outcomeForFailOpen(id), resume);
    }
    return this.finish(outcomeForSidecarUnavailable(this.mode), resume);
  }

  /** The usable cached decision for the basket (see DecisionCacheStore.lookup); its node in decisionCache.lastNode when wantNode. */
  private cachedDecision(maxAgeMs: u32, nowMs: u64, wantNode: bool): Cached {
    const plugin = this.plugin;
    return plugin.decisionCache.lookup(
      this.cacheKey,
      nowMs,
      maxAgeMs,
      plugin.rulesVersion(),
      plugin.modelVersion(),
      wantNode,
    );
  }

  /** Every item's last-known margin covers its qty with wide_margin_units to spare; the margins are spent. */
  private wideMarginAllows(route: RouteConfig): bool {
    const region = this.region;
    if (this.items.length == 0) return false;
    const p = route.policy;
    const nowMs = host.nowNs() / NANOS_PER_MS;
    const margins = this.plugin.margins;
    if (!margins.allowsAll(region, this.zone, this.items, p.wideMarginUnits, nowMs, p.marginMaxAgeMs))
      return false;
    return margins.consumeAll(region, this.zone, this.items, p.wideMarginUnits, nowMs, p.marginMaxAgeMs);
  }

  /** Keeps what the sidecar said: the decision in the cache, each item's units_p10 as its margin. */
  private remember(verdict: Verdict): void {
    const plugin = this.plugin;
    const nowMs = host.nowNs() / NANOS_PER_MS;
    if (this.cacheKey.byteLength > 0) {
      plugin.decisionCache.store(
        this.cacheKey,
        verdict.kind == VerdictKind.ALLOW,
        nowMs,
        verdict.decisionId,
        verdict.node,
        verdict.rulesVersion,
        verdict.modelVersion,
      );
    }
    const n = this.items.length;
    // Exactly one value per item of the request, or nothing is recorded.
    if (n == 0 || verdict.unitsCount != n) return;
    const region = this.region;
    for (let i = 0; i < n; i++) {
      plugin.margins.record(
        region,
        this.zone,
        unchecked(this.items[i]).sku,
        unchecked(verdict.units[i]),
        nowMs,
      );
    }
  }

  /** A refusal (400/415, or shadow-invalid); on a killed path ATP is off, so the request passes instead. */
  private refuse(outcome: Outcome): bool {
    return this.finish(outcomeForRefusal(this.killed, outcome), false);
  }

  /**
   * Applies an outcome exactly once. CONTINUE sets the annotation headers and,
   * when `resume` (we are in a callback, not in the stream's own hook),
   * resumes the paused request. Returns true when the request continues.
   */
  private finish(outcome: Outcome, resume: bool): bool {
    if (this.state == StreamState.REPLIED || this.state == StreamState.CONTINUED) return false;
    this.plugin.metrics.countOutcome(outcome.label);
    if (outcome.action == ActionKind.REPLY) {
      this.state = StreamState.REPLIED;
      host.sendLocalReply(outcome.status, outcome.details, outcome.body, outcome.headers);
      return false;
    }
    const h = outcome.headers;
    for (let i = 0; i + 1 < h.length; i += 2) {
      host.setRequestHeader(unchecked(h[i]), unchecked(h[i + 1]));
    }
    this.state = StreamState.CONTINUED;
    if (resume) host.continueRequest();
    return true;
  }

  private headersStatus(continued: bool): FilterHeadersStatusValues {
    if (continued) return FilterHeadersStatusValues.Continue;
    return FilterHeadersStatusValues.StopIteration;
  }

  private dataStatus(continued: bool): FilterDataStatusValues {
    if (continued) return FilterDataStatusValues.Continue;
    return FilterDataStatusValues.StopIterationAndBuffer;
  }
}

/** An exact-size copy of the writer's bytes (kept by the stream). */
function copyBytes(w: ByteWriter): ArrayBuffer {
  const copy = new ArrayBuffer(w.length);
  memory.copy(changetype<usize>(copy), w.dataStart, <usize>w.length);
  return copy;
}

function hasHolds(snapshot: FilterSnapshot | null): bool {
  if (snapshot === null) return false;
  return snapshot.heldSkus.size > 0;
}

function tooLarge(config: PluginConfig): string {
  return 'body larger than ' + config.maxBodyBytes.toString() + ' bytes';
}
