/**
 * HTTP/JSON edge of the sidecar: what the Wasm filter calls (POST /v1/check)
 * plus health and the filter snapshot. Decisions also travel as summary
 * headers (x-atp-decision, -decision-id, -node, -degraded, -model-version,
 * -rules-version) so the filter never parses the response body.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  type CheckResponse,
  checkResponseToJson,
  MAX_BROWSE_ITEMS,
  parseCheckRequest,
} from '../../../../proto/v1/decision.js';
import { ContractError } from '../../../../proto/v1/validate.js';
import type { DecisionEngine } from '../../decision/decision-engine.js';
import { AtpError, ERR, errorBody, toAtpError } from '../../errors.js';
import { readBody } from './read-body.js';

/** A browse page of 100 SKUs is ~5 KiB; 64 KiB leaves room without inviting abuse. */
export const MAX_REQUEST_BODY_BYTES = 65_536;
export const KEEP_ALIVE_TIMEOUT_MS = 65_000;

export interface HttpEdgeOptions {
  engine: DecisionEngine;
  host?: string;
  port?: number;
  region: string;
  /** Readiness: false until features and model are loaded. */
  isReady: () => boolean;
  /** The snapshot the filter pulls on its tick (modes, kill switches, holds, versions). */
  filterSnapshot: () => Record<string, unknown>;
}

export class HttpEdge {
  private server: Server | null = null;
  port = 0;

  constructor(private readonly opts: HttpEdgeOptions) {}

  async start(): Promise<number> {
    const server = createServer({ keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS }, (req, res) => {
      this.handle(req, res).catch((err) => sendError(res, toAtpError(err)));
    });
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.opts.port ?? 0, this.opts.host ?? '127.0.0.1', () => resolve());
    });
    this.port = (server.address() as AddressInfo).port;
    return this.port;
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = null;
    if (server === null) return;
    server.closeIdleConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0];
    switch (path) {
      case '/v1/check':
      case '/v1/check-batch':
        return this.check(req, res, path === '/v1/check-batch');
      case '/healthz':
        return sendJson(res, 200, { status: 'ok' });
      case '/readyz':
        return this.opts.isReady()
          ? sendJson(res, 200, { status: 'ready' })
          : sendError(res, new AtpError(ERR.NOT_READY, 'sidecar is warming up'));
      case '/v1/filter-snapshot':
        return sendJson(res, 200, this.opts.filterSnapshot());
      default:
        return sendError(res, new AtpError(ERR.NOT_FOUND, `no route ${path}`));
    }
  }

  private async check(req: IncomingMessage, res: ServerResponse, batch: boolean): Promise<void> {
    if (req.method !== 'POST') {
      res.setHeader('allow', 'POST');
      return sendError(res, new AtpError(ERR.METHOD_NOT_ALLOWED, `use POST, not ${req.method}`));
    }
    const ctype = req.headers['content-type'] ?? '';
    if (!ctype.startsWith('application/json')) {
      return sendError(
        res,
        new AtpError(ERR.UNSUPPORTED_MEDIA_TYPE, 'content-type must be application/json'),
      );
    }
    const body = await readBody(req, MAX_REQUEST_BODY_BYTES);
    let raw: unknown;
    try {
      raw = JSON.parse(body.toString('utf8'));
    } catch (err) {
      throw new ContractError('$', `not valid JSON (${(err as Error).message})`);
    }
    const request = parseCheckRequest(raw, { region: this.opts.region });
    if (batch && request.channel !== 'browse') {
      throw new ContractError('channel', `check-batch serves "browse" (up to ${MAX_BROWSE_ITEMS} SKUs)`);
    }
    const decision = await this.opts.engine.check(request);
    setDecisionHeaders(res, decision);
    sendJson(res, 200, checkResponseToJson(decision));
  }
}

function setDecisionHeaders(res: ServerResponse, d: CheckResponse): void {
  res.setHeader('x-atp-decision', d.decision);
  res.setHeader('x-atp-decision-id', d.decisionId);
  res.setHeader('x-atp-node', d.items[0]?.options[0]?.nodeId ?? '');
  res.setHeader('x-atp-degraded', d.degradations.join(','));
  res.setHeader('x-atp-model-version', d.modelVersion);
  res.setHeader('x-atp-rules-version', d.rulesVersion);
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
  sendJson(res, e.spec.httpStatus, errorBody(e));
}
