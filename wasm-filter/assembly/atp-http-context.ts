// The per-request (stream) context: holds only this request's state. It
// intercepts POSTs on configured routes, waits for the whole body, validates
// it, asks the sidecar, and on the answer (or its absence) continues the
// request with annotation headers or answers it locally — at most once.

import { FilterDataStatusValues, FilterHeadersStatusValues } from '@solo-io/proxy-runtime';
import { AtpRootContext } from './atp-root-context';
import { parseCheckoutBody } from './checkout-request';
import {
  HEADER_BUYER_ZONE,
  HEADER_CONTENT_LENGTH,
  HEADER_DECISION,
  HEADER_DECISION_ID,
  HEADER_DEGRADED,
  HEADER_METHOD,
  HEADER_MODEL_VERSION,
  HEADER_NODE,
  HEADER_PATH,
  HEADER_REQUEST_ID,
  HEADER_RULES_VERSION,
  HEADER_STATUS,
  MAX_BUYER_ZONE_CHARS,
  MAX_REQUEST_ID_CHARS,
  NANOS_PER_MS,
  PAUSE_SLACK_MS,
} from './constants';
import {
  ActionKind,
  Outcome,
  outcomeForInvalidRequest,
  outcomeForSidecarFailure,
  outcomeForVerdict,
} from './decision-outcome';
import { WHOLE_DOCUMENT } from './field-reader';
import * as host from './host';
import { IDENTIFIER_RULE, isIdentifier, parseDecimal } from './identifiers';
import { PluginConfig, RouteMode } from './plugin-config';
import { matchRoute } from './route-table';
import { buildSidecarRequestJson } from './sidecar-request';
import { StreamContext } from './stream-context';
import { readVerdict, SidecarSummary, VerdictKind } from './sidecar-verdict';

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
const SIDECAR_CONTENT_TYPE = 'application/json';

export class AtpHttpContext extends StreamContext {
  private root: AtpRootContext;
  private state: StreamState = StreamState.PASSTHROUGH;
  private mode: RouteMode = RouteMode.OFF;
  private requestId: string = '';
  private zoneHeader: string | null = null;
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
    // On ATP routes the x-atp-* request headers are ours alone: a client must not forge a decision.
    this.stripDecisionHeaders();
    const method = host.getRequestHeader(HEADER_METHOD);
    if (route.mode == RouteMode.OFF || method === null || method != POST) {
      return FilterHeadersStatusValues.Continue;
    }
    this.mode = route.mode;
    this.root.metrics.countIntercepted();
    const requestId = host.getRequestHeader(HEADER_REQUEST_ID);
    if (requestId !== null && isIdentifier(requestId, MAX_REQUEST_ID_CHARS)) this.requestId = requestId;
    else this.requestId = this.root.nextRequestId();
    this.zoneHeader = host.getRequestHeader(HEADER_BUYER_ZONE);
    if (end_of_stream) {
      const o = outcomeForInvalidRequest(this.mode, WHOLE_DOCUMENT, 'empty body: expected a JSON object');
      return this.finish(o, false)
        ? FilterHeadersStatusValues.Continue
        : FilterHeadersStatusValues.StopIteration;
    }
    const contentLength = host.getRequestHeader(HEADER_CONTENT_LENGTH);
    if (contentLength !== null && parseDecimal(contentLength) > <i64>config.maxBodyBytes) {
      const o = outcomeForInvalidRequest(this.mode, WHOLE_DOCUMENT, tooLarge(config));
      return this.finish(o, false)
        ? FilterHeadersStatusValues.Continue
        : FilterHeadersStatusValues.StopIteration;
    }
    this.state = StreamState.BUFFERING;
    return FilterHeadersStatusValues.StopIteration;
  }

  onRequestBody(body_buffer_length: usize, end_of_stream: bool): FilterDataStatusValues {
    if (this.state != StreamState.BUFFERING) {
      return this.state == StreamState.CALLING
        ? FilterDataStatusValues.StopIterationAndBuffer
        : FilterDataStatusValues.Continue;
    }
    const config = this.root.config;
    if (config === null) return FilterDataStatusValues.Continue;
    if (<u64>body_buffer_length > <u64>config.maxBodyBytes) {
      return this.dataStatus(
        this.finish(outcomeForInvalidRequest(this.mode, WHOLE_DOCUMENT, tooLarge(config)), false),
      );
    }
    if (!end_of_stream) return FilterDataStatusValues.StopIterationAndBuffer;
    return this.dataStatus(this.askSidecar(config, host.requestBody(<u32>body_buffer_length)));
  }

  /** The root context got our call's response (headers == 0: reset or timeout); effective context is set. */
  onSidecarResponse(headers: u32): void {
    if (this.state != StreamState.CALLING) return;
    this.hasCall = false;
    const summary = new SidecarSummary();
    summary.received = headers > 0;
    if (summary.received) {
      summary.status = orEmpty(host.getHttpCallResponseHeader(HEADER_STATUS));
      summary.decision = orEmpty(host.getHttpCallResponseHeader(HEADER_DECISION));
      summary.decisionId = orEmpty(host.getHttpCallResponseHeader(HEADER_DECISION_ID));
      summary.node = orEmpty(host.getHttpCallResponseHeader(HEADER_NODE));
      summary.degraded = orEmpty(host.getHttpCallResponseHeader(HEADER_DEGRADED));
      summary.modelVersion = orEmpty(host.getHttpCallResponseHeader(HEADER_MODEL_VERSION));
      summary.rulesVersion = orEmpty(host.getHttpCallResponseHeader(HEADER_RULES_VERSION));
    }
    const verdict = readVerdict(summary);
    const config = this.root.config;
    if (config === null) return;
    if (verdict.kind == VerdictKind.FAILURE) {
      host.log(
        host.LOG_WARN,
        'atp-filter: request ' + this.requestId + ': sidecar failure: ' + verdict.failure,
      );
    } else {
      host.log(
        host.LOG_DEBUG,
        'atp-filter: request ' +
          this.requestId +
          ': decision ' +
          verdict.decisionId +
          ' model ' +
          summary.modelVersion +
          ' rules ' +
          summary.rulesVersion,
      );
    }
    this.finish(outcomeForVerdict(this.mode, verdict, config.onSidecarFailure), true);
  }

  isOverdue(nowNs: u64): bool {
    return this.state == StreamState.CALLING && nowNs >= this.deadlineNs;
  }

  /** The tick found this stream past its deadline: the callback never came. Effective context is set. */
  onDeadline(): void {
    const config = this.root.config;
    if (config === null || this.state != StreamState.CALLING) return;
    host.log(
      host.LOG_WARN,
      'atp-filter: request ' + this.requestId + ': no sidecar answer before the deadline',
    );
    this.finish(outcomeForSidecarFailure(this.mode, config.onSidecarFailure), true);
  }

  onDelete(): void {
    this.root.forgetStream(this.context_id, this.callToken, this.hasCall);
    super.onDelete();
  }

  /** Validates the body and dispatches the sidecar call. Returns true when the request continues now. */
  private askSidecar(config: PluginConfig, bytes: Uint8Array): bool {
    const body = parseCheckoutBody(bytes);
    if (!body.valid)
      return this.finish(outcomeForInvalidRequest(this.mode, body.errorField, body.errorMessage), false);
    let zone = body.buyerZone;
    if (zone.length == 0) {
      const fromHeader = this.zoneHeader;
      if (fromHeader === null) {
        return this.finish(
          outcomeForInvalidRequest(this.mode, 'buyer_zone', 'expected a string, got undefined'),
          false,
        );
      }
      if (!isIdentifier(fromHeader, MAX_BUYER_ZONE_CHARS)) {
        const why =
          '(from x-atp-buyer-zone) ' +
          IDENTIFIER_RULE +
          ', at most ' +
          MAX_BUYER_ZONE_CHARS.toString() +
          ' characters';
        return this.finish(outcomeForInvalidRequest(this.mode, 'buyer_zone', why), false);
      }
      zone = fromHeader;
    }
    const json = buildSidecarRequestJson(this.requestId, config.region, zone, body.items);
    const headers: string[] = [
      ':method',
      POST,
      ':path',
      config.sidecarPath,
      ':authority',
      config.sidecarAuthority,
      'content-type',
      SIDECAR_CONTENT_TYPE,
      'accept',
      SIDECAR_CONTENT_TYPE,
    ];
    const call = host.httpCall(config.sidecarCluster, headers, json, config.timeoutMs);
    if (call.result != host.RESULT_OK) {
      host.log(
        host.LOG_WARN,
        'atp-filter: request ' +
          this.requestId +
          ': sidecar call not dispatched (result ' +
          call.result.toString() +
          ')',
      );
      return this.finish(outcomeForSidecarFailure(this.mode, config.onSidecarFailure), false);
    }
    this.state = StreamState.CALLING;
    this.callToken = call.token;
    this.hasCall = true;
    this.deadlineNs = host.nowNs() + (<u64>config.timeoutMs + PAUSE_SLACK_MS) * NANOS_PER_MS;
    this.root.trackCall(call.token, this.context_id);
    return false;
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

  private dataStatus(continued: bool): FilterDataStatusValues {
    return continued ? FilterDataStatusValues.Continue : FilterDataStatusValues.StopIterationAndBuffer;
  }

  private stripDecisionHeaders(): void {
    stripHeader(HEADER_DECISION);
    stripHeader(HEADER_DECISION_ID);
    stripHeader(HEADER_NODE);
    stripHeader(HEADER_DEGRADED);
  }
}

function stripHeader(name: string): void {
  if (host.getRequestHeader(name) !== null) host.removeRequestHeader(name);
}

function orEmpty(s: string | null): string {
  if (s === null) return '';
  return s;
}

function tooLarge(config: PluginConfig): string {
  return 'body larger than ' + config.maxBodyBytes.toString() + ' bytes';
}
