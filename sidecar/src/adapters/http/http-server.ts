/**
 * HTTP/JSON edge of the sidecar: what the Wasm filter calls (POST /v1/check)
 * plus health, readiness, metrics, the filter snapshot and the order
 * service's reservation callbacks. Decisions also travel as summary headers
 * (x-atp-decision, -decision-id, -node, -degraded, -model-version,
 * -rules-version) so the filter never parses the response body.
 *
 * Request headers the edge understands:
 * - `x-atp-deadline-ms`: the caller's remaining budget in ms (the filter
 *   sends its call timeout); past it the answer is 504 DEADLINE_EXCEEDED.
 *   Without it DEFAULT_DEADLINE_MS applies: never an unbounded wait.
 * - `x-atp-route`: the route prefix the filter matched, for mode and
 *   kill-switch lookups (default: /checkout or /browse by channel).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { AtpError, errorBody } from '@mercato/platform/errors';
import { closeHttp, listenHttp } from '@mercato/platform/servers';
import {
  type CheckResponse,
  checkResponseToJson,
  MAX_BROWSE_ITEMS,
  MAX_CHECKOUT_ITEMS,
} from '@mercato/proto/v1/decision';
import { asObject, ContractError, reqArray, reqId } from '@mercato/proto/v1/validate';
import type { CheckContext, DecisionService, ReservationStore } from '../../decision/ports.js';
import type { DecisionRing } from '../../decision-log/decision-ring.js';
import { asAtpError, ERR } from '../../errors.js';
import { parseRegionalRequest } from '../request-region.js';
import { DECISIONS_PREFIX, decisionRoute } from './decision-routes.js';
import { HOLD_TOKEN_HEADER, HoldTokens } from './hold-token.js';
import { readBody } from './read-body.js';

/** A browse page of 100 SKUs is ~5 KiB; 64 KiB leaves room without inviting abuse. */
export const MAX_REQUEST_BODY_BYTES = 65_536;
/** Idle keep-alive connections close after this (above the 60 s idle timeout of common proxies). */
export const KEEP_ALIVE_TIMEOUT_MS = 65_000;
/**
 * Bound on receiving a whole request, headers and body: a client that stalls
 * is answered 408 and its socket closed, so slow senders cannot pin sockets
 * (Node's default is 300 s). The filter sends a few KiB at once.
 */
export const REQUEST_TIMEOUT_MS = 5_000;
/** Bound on receiving the request headers (at most REQUEST_TIMEOUT_MS). */
export const HEADERS_TIMEOUT_MS = 5_000;
/** How often Node checks those two bounds: a stalled request is cut within REQUEST_TIMEOUT_MS + this. */
export const TIMEOUT_CHECK_INTERVAL_MS = 500;
/** Budget when the caller sends none. */
export const DEFAULT_DEADLINE_MS = 1_000;
/** Largest budget a caller may ask for. */
export const MAX_DEADLINE_MS = 60_000;
export const DEADLINE_HEADER = 'x-atp-deadline-ms';
export const ROUTE_HEADER = 'x-atp-route';
const MAX_ROUTE_LENGTH = 256;

export interface HttpEdgeOptions {
  service: DecisionService;
  host?: string;
  port?: number;
  region: string;
  /** Regions whose requests are accepted too (`--failover-for`; the service answers them from escrow). */
  failoverFor?: ReadonlySet<string>;
  /** Readiness: false until stores are connected and the model is warmed. */
  isReady: () => boolean;
  /** What /readyz reports beside `status` (versions served: model, batch features, directory). */
  readiness?: () => Record<string, unknown>;
  /** The snapshot the filter pulls on its tick (modes, kill switches, holds, versions). */
  filterSnapshot: () => unknown;
  /** Order-service callbacks (confirm / release holds); 404 when absent. */
  reservations?: ReservationStore;
  /**
   * Hold tokens: checkout answers carry one (HOLD_TOKEN_HEADER); release
   * requires it, confirm verifies it when sent. Default: a key of this process.
   */
  holdTokens?: HoldTokens;
  clock?: () => number;
  /** Prometheus exposition for GET /metrics. */
  metrics?: () => Promise<{ contentType: string; body: string }>;
  /** Recent decisions for GET /v1/decisions/... (decision-routes.ts); 404 when absent. */
  decisions?: DecisionRing | null;
  /** The drift report for GET /v1/drift (proto/v1/drift-report.ts wire JSON); 404 when absent. */
  drift?: () => Record<string, unknown>;
  onError?: (e: AtpError) => void;
}

export class HttpEdge {
  private server: Server | null = null;
  port = 0;
  private readonly holdTokens: HoldTokens;

  constructor(private readonly opts: HttpEdgeOptions) {
    this.holdTokens = opts.holdTokens ?? HoldTokens.ephemeral();
  }

  async start(): Promise<number> {
    const server = createServer(
      {
        keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS,
        requestTimeout: REQUEST_TIMEOUT_MS,
        headersTimeout: HEADERS_TIMEOUT_MS,
        connectionsCheckingInterval: TIMEOUT_CHECK_INTERVAL_MS,
      },
      (req, res) => {
        this.handle(req, res).catch((err) => this.fail(res, asAtpError(err)));
      },
    );
    this.server = server;
    this.port = await listenHttp(server, this.opts.port, this.opts.host);
    return this.port;
  }

  /** Idempotent; requests in flight get the platform's stop grace, then their connections are cut. */
  async stop(): Promise<void> {
    const server = this.server;
    this.server = null;
    await closeHttp(server);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q < 0 ? url : url.slice(0, q);
    switch (path) {
      case '/v1/check':
      case '/v1/check-batch':
        return this.check(req, res, path === '/v1/check-batch');
      case '/healthz':
        return sendJson(res, 200, { status: 'ok' });
      case '/readyz':
        return this.opts.isReady()
          ? sendJson(res, 200, { status: 'ready', ...this.opts.readiness?.() })
          : this.fail(res, new AtpError(ERR.NOT_READY, 'sidecar is warming up'));
      case '/v1/filter-snapshot':
        return sendJson(res, 200, this.opts.filterSnapshot());
      case '/metrics': {
        if (this.opts.metrics === undefined) return this.fail(res, new AtpError(ERR.NOT_FOUND, 'no metrics'));
        const m = await this.opts.metrics();
        res.writeHead(200, { 'content-type': m.contentType, 'content-length': Buffer.byteLength(m.body) });
        res.end(m.body);
        return;
      }
      case '/v1/drift':
        if (this.opts.drift === undefined)
          return this.fail(res, new AtpError(ERR.NOT_FOUND, 'no drift monitor'));
        return sendJson(res, 200, this.opts.drift());
      case '/v1/reservations/confirm':
      case '/v1/reservations/release':
        return this.reservation(req, res, path.endsWith('confirm'));
      default:
        if (path.startsWith(DECISIONS_PREFIX) && this.opts.decisions)
          return sendJson(
            res,
            200,
            decisionRoute(this.opts.decisions, path, new URLSearchParams(q < 0 ? '' : url.slice(q + 1))),
          );
        return this.fail(res, new AtpError(ERR.NOT_FOUND, `no route ${path}`));
    }
  }

  private async check(req: IncomingMessage, res: ServerResponse, batch: boolean): Promise<void> {
    const ctx = requestContext(req);
    const raw = await readJson(req);
    const request = parseRegionalRequest(raw, this.opts.region, this.opts.failoverFor);
    if (batch && request.channel !== 'browse') {
      throw new ContractError('channel', `check-batch serves "browse" (up to ${MAX_BROWSE_ITEMS} SKUs)`);
    }
    const decision = await this.opts.service.check(request, ctx);
    const late = ctx.deadlineAt !== undefined && performance.now() > ctx.deadlineAt;
    if (late || res.destroyed) {
      // Nobody will receive this answer's hold token: give its holds back now rather than at their TTL.
      this.releaseUnanswered(decision);
      if (late) throw new AtpError(ERR.DEADLINE_EXCEEDED, 'decided after the deadline');
    }
    setDecisionHeaders(res, decision);
    if (decision.channel === 'checkout' && decision.decision === 'allow') {
      res.setHeader(HOLD_TOKEN_HEADER, this.holdTokens.sign(decision.decisionId));
    }
    sendJson(res, 200, checkResponseToJson(decision));
  }

  /**
   * Body `{"decision_id": "...", "hold_token": "...", "skus": ["..."]}`: the
   * order confirms or releases the decision's holds. A release without the
   * decision's hold token is refused 403 naming `hold_token`; so is a confirm
   * with a wrong one.
   */
  private async reservation(req: IncomingMessage, res: ServerResponse, confirm: boolean): Promise<void> {
    const store = this.opts.reservations;
    if (store === undefined)
      return this.fail(res, new AtpError(ERR.NOT_FOUND, 'reservations are not served here'));
    const o = asObject(await readJson(req), '$');
    const decisionId = reqId(o, 'decision_id', '', 128);
    this.checkHoldToken(o.hold_token, decisionId, !confirm);
    const skus = reqArray(o, 'skus', '', 1, MAX_CHECKOUT_ITEMS).map((v, i) =>
      reqId({ [`skus[${i}]`]: v }, `skus[${i}]`, ''),
    );
    const nowMs = (this.opts.clock ?? Date.now)();
    const results = await Promise.all(
      skus.map((sku) => (confirm ? store.confirm(sku, decisionId, nowMs) : store.release(sku, decisionId))),
    );
    sendJson(res, 200, {
      decision_id: decisionId,
      [confirm ? 'confirmed' : 'released']: results.filter(Boolean).length,
    });
  }

  /** Releases the holds of a checkout allow whose answer cannot reach its caller (best effort, not awaited). */
  private releaseUnanswered(decision: CheckResponse): void {
    const store = this.opts.reservations;
    if (store === undefined || decision.channel !== 'checkout' || decision.decision !== 'allow') return;
    for (const item of decision.items) {
      store.release(item.sku, decision.decisionId).catch(() => {
        // The hold expires at its TTL anyway.
      });
    }
  }

  private checkHoldToken(token: unknown, decisionId: string, required: boolean): void {
    const tokens = this.holdTokens;
    if (token === undefined && !required) return;
    if (typeof token !== 'string' || token.length > 64 || !tokens.verify(decisionId, token)) {
      const problem = token === undefined ? 'is required to release a hold' : 'does not match decision_id';
      throw new AtpError(ERR.HOLD_TOKEN_INVALID, `hold_token ${problem}`, 'hold_token');
    }
  }

  private fail(res: ServerResponse, e: AtpError): void {
    this.opts.onError?.(e);
    sendError(res, e);
  }
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  if (req.method !== 'POST') {
    throw new AtpError(ERR.METHOD_NOT_ALLOWED, `use POST, not ${req.method}`);
  }
  // The media type alone, parameters (charset) aside: `application/jsonx` is not JSON.
  const mediaType = (req.headers['content-type'] ?? '').split(';', 1)[0]!.trim().toLowerCase();
  if (mediaType !== 'application/json') {
    throw new AtpError(ERR.UNSUPPORTED_MEDIA_TYPE, 'content-type must be application/json');
  }
  const body = await readBody(req, MAX_REQUEST_BODY_BYTES);
  try {
    return JSON.parse(body.toString('utf8'));
  } catch (err) {
    throw new ContractError('$', `not valid JSON (${(err as Error).message})`);
  }
}

/** Deadline and route headers, validated (errors name the header). */
export function requestContext(req: IncomingMessage): CheckContext {
  const start = performance.now();
  const rawDeadline = req.headers[DEADLINE_HEADER];
  let budgetMs = DEFAULT_DEADLINE_MS;
  if (rawDeadline !== undefined) {
    const v = Number(rawDeadline);
    if (typeof rawDeadline !== 'string' || !Number.isFinite(v) || v <= 0 || v > MAX_DEADLINE_MS) {
      throw new ContractError(DEADLINE_HEADER, `expected a number of ms in (0, ${MAX_DEADLINE_MS}]`);
    }
    budgetMs = v;
  }
  const ctx: CheckContext = { deadlineAt: start + budgetMs };
  const route = req.headers[ROUTE_HEADER];
  if (route !== undefined) {
    if (typeof route !== 'string' || !route.startsWith('/') || route.length > MAX_ROUTE_LENGTH) {
      throw new ContractError(
        ROUTE_HEADER,
        `expected a path starting with "/" (at most ${MAX_ROUTE_LENGTH} chars)`,
      );
    }
    ctx.route = route;
  }
  return ctx;
}

function setDecisionHeaders(res: ServerResponse, d: CheckResponse): void {
  res.setHeader('x-atp-decision', d.decision);
  res.setHeader('x-atp-decision-id', d.decisionId);
  res.setHeader('x-atp-node', d.items[0]?.options[0]?.nodeId ?? '');
  res.setHeader('x-atp-degraded', d.degradations.join(','));
  res.setHeader('x-atp-model-version', d.modelVersion);
  res.setHeader('x-atp-rules-version', d.rulesVersion);
  // One conservative unit count per requested item, in request order: the filter keeps
  // them as last-known margins for its wide-margin answer while this sidecar is down.
  res.setHeader('x-atp-units-p10', d.items.map((i) => Math.max(0, Math.floor(i.unitsP10))).join(','));
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function sendError(res: ServerResponse, e: AtpError): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  if (e.spec === ERR.METHOD_NOT_ALLOWED) res.setHeader('allow', 'POST');
  sendJson(res, e.spec.httpStatus, errorBody(e));
}
