// The per-request (stream) context: holds only this request's state. On a
// configured route it resolves the mode (snapshot, rollout, kill switches),
// waits for the whole body, validates it, applies compliance holds and SKU
// kill switches locally, answers a recently denied basket from the shared
// cache, else asks the sidecar — and on the answer (or its absence: the
// route's failure policy) continues the request with annotation headers or
// answers it locally, at most once.

import { FilterDataStatusValues, FilterHeadersStatusValues } from '@solo-io/proxy-runtime';
import { AtpRootContext } from './atp-root-context';
import { CheckoutItem, parseCheckoutBody } from './checkout-request';
import {
  HEADER_DECISION,
  HEADER_DECISION_ID,
  HEADER_DEGRADED,
  HEADER_NODE,
  HEADER_PATH,
  HEADER_REASON,
  MAX_BUYER_ZONE_CHARS,
  MAX_REQUEST_ID_CHARS,
  NANOS_PER_MS,
  PAUSE_SLACK_MS,
} from './constants';
import { isJsonContentType } from './content-type';
import { CachedDecision, decisionKey, isUsable } from './decision-cache';
import {
  ActionKind,
  localDecisionId,
  Outcome,
  outcomeForBypass,
  outcomeForCachedAllow,
  outcomeForCachedDeny,
  outcomeForFailOpen,
  outcomeForHold,
  outcomeForInvalidRequest,
  outcomeForSidecarUnavailable,
  outcomeForUnsupportedMediaType,
  outcomeForVerdict,
  outcomeForWideMargin,
} from './decision-outcome';
import { resolveRoute } from './effective-route';
import { policyFailsOpen, policyUsesCache, policyUsesMargin } from './failure-policy';
import { WHOLE_DOCUMENT } from './field-reader';
import { FilterSnapshot } from './filter-snapshot';
import { Degradation } from './filter-metrics';
import * as host from './host';
import { IDENTIFIER_RULE, isIdentifier, parseDecimal } from './identifiers';
import { firstHeldSku, withoutKilledSkus } from './local-rules';
import { marginKey, parseUnitsList } from './margin-book';
import { PluginConfig, RouteConfig } from './plugin-config';
import {
  FORGED_DECISION,
  FORGED_DECISION_ID,
  FORGED_DEGRADED,
  FORGED_NODE,
  FORGED_REASON,
  readRequestHeaders,
} from './request-headers';
import { matchRoute } from './route-table';
import { RouteMode } from './route-mode';
import { buildSidecarRequestJson } from './sidecar-request';
import { StreamContext } from './stream-context';
import { readSummary, readVerdict, SidecarSummary, Verdict, VerdictKind } from './sidecar-verdict';

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

export class AtpHttpContext extends StreamContext {
  private root: AtpRootContext;
  private state: StreamState = StreamState.PASSTHROUGH;
  private mode: RouteMode = RouteMode.OFF;
  /** The plugin route matched (prefix and failure policy); null until the request is intercepted. */
  private route: RouteConfig | null = null;
  /** ATP is switched off for the path: only compliance holds are still checked. */
  private killed: bool = false;
  private requestId: string = '';
  private zoneHeader: string | null = null;
  private zone: string = '';
  /** The basket as sent to the sidecar (after SKU kill switches). */
  private items: CheckoutItem[] = [];
  private cacheKey: string = '';
  private deadlineNs: u64 = 0;
  private callToken: u32 = 0;
  private hasCall: bool = false;

  constructor(context_id: u32, root: AtpRootContext) {
    super(context_id, root);
    this.root = root;
  }

  onRequestHeaders(_headers: u32, end_of_stream: bool): FilterHeadersStatusValues {
    const config = this.root.config;
    if (config === null) return FilterHeadersStatusValues.Continue;
    const path = host.getRequestHeader(HEADER_PATH);
    if (path === null) return FilterHeadersStatusValues.Continue;
    const route = matchRoute(config.routes, path);
    if (route === null) return FilterHeadersStatusValues.Continue;
    // One host call for every header we need (not one per header): this hook is on the fast path.
    const headers = readRequestHeaders(host.requestHeaderPairs());
    // On ATP routes the x-atp-* request headers are ours alone: a client must not forge a decision.
    if (headers.forged != 0) stripDecisionHeaders(headers.forged);
    const method = headers.method;
    if (method === null || method != POST) return FilterHeadersStatusValues.Continue;
    const requestId = headers.requestId;
    if (requestId !== null && isIdentifier(requestId, MAX_REQUEST_ID_CHARS)) this.requestId = requestId;
    else this.requestId = this.root.nextRequestId();
    const snapshot = this.root.snapshot;
    const effective = resolveRoute(route, snapshot, path, this.requestId);
    if (effective.mode == RouteMode.OFF) return FilterHeadersStatusValues.Continue;
    this.route = route;
    this.mode = effective.mode;
    this.killed = effective.killed;
    this.root.metrics.countIntercepted();
    // Killed: holds are all that is left to check, and only enforce acts on them.
    if (this.killed && (this.mode != RouteMode.ENFORCE || !hasHolds(snapshot))) {
      return this.headersStatus(this.finish(outcomeForBypass(), false));
    }
    this.zoneHeader = headers.buyerZone;
    if (end_of_stream) {
      return this.headersStatus(
        this.refuse(
          outcomeForInvalidRequest(this.mode, WHOLE_DOCUMENT, 'empty body: expected a JSON object'),
        ),
      );
    }
    const contentType = headers.contentType;
    if (contentType !== null && !isJsonContentType(contentType)) {
      return this.headersStatus(this.refuse(outcomeForUnsupportedMediaType(this.mode)));
    }
    const contentLength = headers.contentLength;
    if (contentLength !== null && parseDecimal(contentLength) > <i64>config.maxBodyBytes) {
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
    const config = this.root.config;
    if (config === null) return FilterDataStatusValues.Continue;
    if (<u64>body_buffer_length > <u64>config.maxBodyBytes) {
      return this.dataStatus(
        this.refuse(outcomeForInvalidRequest(this.mode, WHOLE_DOCUMENT, tooLarge(config))),
      );
    }
    if (!end_of_stream) return FilterDataStatusValues.StopIterationAndBuffer;
    return this.dataStatus(this.decide(config, host.requestBody(<u32>body_buffer_length)));
  }

  /** The root context got our call's response (headers == 0: reset or timeout); effective context is set. */
  onSidecarResponse(headers: u32): void {
    if (this.state != StreamState.CALLING) return;
    this.hasCall = false;
    // headers == 0: the call was reset (Envoy's onHttpCallFailure); nothing to read.
    let summary = new SidecarSummary();
    if (headers > 0) summary = readSummary(host.httpCallResponseHeaderPairs());
    const verdict = readVerdict(summary);
    if (verdict.kind == VerdictKind.FAILURE) {
      host.log(
        host.LOG_WARN,
        'atp-filter: request ' + this.requestId + ': sidecar failure: ' + verdict.failure,
      );
      this.onSidecarFailure(true);
      return;
    }
    this.remember(verdict);
    this.finish(outcomeForVerdict(this.mode, verdict), true);
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
    this.root.forgetStream(this.context_id, this.callToken, this.hasCall);
  }

  /** The whole body is here: local rules, the fast path, then the sidecar. Returns true when the request continues now. */
  private decide(config: PluginConfig, bytes: Uint8Array): bool {
    const body = parseCheckoutBody(bytes);
    if (!body.valid)
      return this.refuse(outcomeForInvalidRequest(this.mode, body.errorField, body.errorMessage));
    let zone = body.buyerZone;
    if (zone.length == 0) {
      const fromHeader = this.zoneHeader;
      if (fromHeader === null) {
        return this.refuse(
          outcomeForInvalidRequest(this.mode, 'buyer_zone', 'expected a string, got undefined'),
        );
      }
      if (!isIdentifier(fromHeader, MAX_BUYER_ZONE_CHARS)) {
        const why =
          '(from x-atp-buyer-zone) ' +
          IDENTIFIER_RULE +
          ', at most ' +
          MAX_BUYER_ZONE_CHARS.toString() +
          ' characters';
        return this.refuse(outcomeForInvalidRequest(this.mode, 'buyer_zone', why));
      }
      zone = fromHeader;
    }
    const snapshot = this.root.snapshot;
    let items = body.items;
    if (snapshot !== null) {
      const held = firstHeldSku(snapshot.heldSkus, items);
      if (held.length > 0) {
        this.root.metrics.countHold();
        return this.finish(outcomeForHold(this.mode, localDecisionId(this.requestId), held), false);
      }
      if (this.killed) return this.finish(outcomeForBypass(), false);
      items = withoutKilledSkus(snapshot.killedSkus, items);
      if (items.length == 0) return this.finish(outcomeForBypass(), false);
    } else if (this.killed) {
      return this.finish(outcomeForBypass(), false);
    }
    const route = this.route;
    if (route === null) return this.finish(outcomeForSidecarUnavailable(this.mode), false);
    this.zone = zone;
    this.items = items;
    this.cacheKey = decisionKey(config.region, zone, route.prefix, items);
    if (this.answeredFromCache(route)) return false;
    return this.callSidecar(config, route);
  }

  /** The fast path: a deny cached less than deny_fast_path_ttl_ms ago answers 409 without a call (enforce only). */
  private answeredFromCache(route: RouteConfig): bool {
    const ttlMs = route.policy.denyFastPathTtlMs;
    if (this.mode != RouteMode.ENFORCE || ttlMs == 0 || this.cacheKey.length == 0) return false;
    const cached = this.usableCachedDecision(ttlMs);
    let hit = false;
    if (cached !== null) hit = !cached.allow;
    this.root.metrics.countCacheLookup(hit);
    if (!hit) return false;
    this.finish(outcomeForCachedDeny(localDecisionId(this.requestId), false), false);
    return true;
  }

  /** Dispatches the sidecar call and pauses. Returns true when the request continues now (dispatch refused). */
  private callSidecar(config: PluginConfig, route: RouteConfig): bool {
    const json = buildSidecarRequestJson(this.requestId, config.region, this.zone, this.items);
    const call = host.httpCall(
      this.root.sidecarCalls.cluster,
      route.checkCallHeaders,
      json,
      config.timeoutMs,
    );
    if (call.result != host.RESULT_OK) {
      host.log(
        host.LOG_WARN,
        'atp-filter: request ' +
          this.requestId +
          ': sidecar call not dispatched (result ' +
          call.result.toString() +
          ')',
      );
      return this.onSidecarFailure(false);
    }
    this.state = StreamState.CALLING;
    this.callToken = call.token;
    this.hasCall = true;
    this.deadlineNs = host.nowNs() + (<u64>config.timeoutMs + PAUSE_SLACK_MS) * NANOS_PER_MS;
    this.root.trackCall(call.token, this.context_id);
    return false;
  }

  /**
   * No usable sidecar answer: the route's failure policy (DESIGN §6), step by
   * step — a cached decision younger than cache_ttl_ms, else a wide
   * last-known margin, else fail open (opt-in), else a retryable 503. Shadow
   * mode only annotates. Returns true when the request continues now.
   */
  private onSidecarFailure(resume: bool): bool {
    this.root.metrics.countSidecarFailure();
    const route = this.route;
    if (this.mode != RouteMode.ENFORCE || route === null) {
      return this.finish(outcomeForSidecarUnavailable(this.mode), resume);
    }
    const policy = route.policy;
    const id = localDecisionId(this.requestId);
    if (policyUsesCache(policy.onSidecarFailure) && this.cacheKey.length > 0) {
      const cached = this.usableCachedDecision(policy.cacheTtlMs);
      if (cached !== null) {
        this.root.metrics.countDegraded(Degradation.CACHED_DECISION);
        if (cached.allow) return this.finish(outcomeForCachedAllow(id, cached.node), resume);
        return this.finish(outcomeForCachedDeny(id, true), resume);
      }
    }
    if (policyUsesMargin(policy.onSidecarFailure) && this.wideMarginAllows(route)) {
      this.root.metrics.countDegraded(Degradation.WIDE_MARGIN);
      return this.finish(outcomeForWideMargin(id), resume);
    }
    if (policyFailsOpen(policy.onSidecarFailure)) {
      this.root.metrics.countDegraded(Degradation.FAIL_OPEN);
      return this.finish(outcomeForFailOpen(id), resume);
    }
    return this.finish(outcomeForSidecarUnavailable(this.mode), resume);
  }

  private usableCachedDecision(maxAgeMs: u32): CachedDecision | null {
    const cached = this.root.decisionCache.lookup(this.cacheKey);
    if (cached === null) return null;
    const nowMs = host.nowNs() / NANOS_PER_MS;
    if (!isUsable(cached, this.cacheKey, nowMs, maxAgeMs, this.root.rulesVersion(), this.root.modelVersion()))
      return null;
    return cached;
  }

  /** Every item's last-known margin covers its qty with wide_margin_units to spare; the margins are spent. */
  private wideMarginAllows(route: RouteConfig): bool {
    const config = this.root.config;
    const n = this.items.length;
    if (config === null || n == 0) return false;
    const keys: string[] = [];
    const qtys: i32[] = [];
    for (let i = 0; i < n; i++) {
      const item = unchecked(this.items[i]);
      keys.push(marginKey(config.region, this.zone, item.sku));
      qtys.push(item.qty);
    }
    const p = route.policy;
    const nowMs = host.nowNs() / NANOS_PER_MS;
    const margins = this.root.margins;
    if (!margins.allowsAll(keys, qtys, p.wideMarginUnits, nowMs, p.marginMaxAgeMs)) return false;
    return margins.consumeAll(keys, qtys, p.wideMarginUnits, nowMs, p.marginMaxAgeMs);
  }

  /** Keeps what the sidecar said: the decision in the cache, each item's units_p10 as its margin. */
  private remember(verdict: Verdict): void {
    const config = this.root.config;
    if (config === null) return;
    const nowMs = host.nowNs() / NANOS_PER_MS;
    if (this.cacheKey.length > 0) {
      const d = new CachedDecision();
      d.allow = verdict.kind == VerdictKind.ALLOW;
      d.decisionId = verdict.decisionId;
      d.node = verdict.node;
      d.rulesVersion = verdict.rulesVersion;
      d.modelVersion = verdict.modelVersion;
      d.storedAtMs = nowMs;
      d.key = this.cacheKey;
      this.root.decisionCache.store(d);
    }
    const units = parseUnitsList(verdict.unitsP10, this.items.length);
    if (units === null) return;
    for (let i = 0; i < units.length; i++) {
      const sku = unchecked(this.items[i]).sku;
      this.root.margins.record(marginKey(config.region, this.zone, sku), unchecked(units[i]), nowMs);
    }
  }

  /** A refusal (400/415, or shadow-invalid); on a killed path ATP is off, so the request passes instead. */
  private refuse(outcome: Outcome): bool {
    if (this.killed) return this.finish(outcomeForBypass(), false);
    return this.finish(outcome, false);
  }

  /**
   * Applies an outcome exactly once. CONTINUE sets the annotation headers and,
   * when `resume` (we are in a callback, not in the stream's own hook),
   * resumes the paused request. Returns true when the request continues.
   */
  private finish(outcome: Outcome, resume: bool): bool {
    if (this.state == StreamState.REPLIED || this.state == StreamState.CONTINUED) return false;
    this.root.metrics.countOutcome(outcome.label);
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

/** Removes the x-atp-* headers a client sent (FORGED_* bits). */
function stripDecisionHeaders(forged: u32): void {
  if ((forged & FORGED_DECISION) != 0) host.removeRequestHeader(HEADER_DECISION);
  if ((forged & FORGED_DECISION_ID) != 0) host.removeRequestHeader(HEADER_DECISION_ID);
  if ((forged & FORGED_NODE) != 0) host.removeRequestHeader(HEADER_NODE);
  if ((forged & FORGED_DEGRADED) != 0) host.removeRequestHeader(HEADER_DEGRADED);
  if ((forged & FORGED_REASON) != 0) host.removeRequestHeader(HEADER_REASON);
}

function hasHolds(snapshot: FilterSnapshot | null): bool {
  if (snapshot === null) return false;
  return snapshot.heldSkus.size > 0;
}

function tooLarge(config: PluginConfig): string {
  return 'body larger than ' + config.maxBodyBytes.toString() + ' bytes';
}
