/**
 * The admin HTTP/JSON edge atpctl talks to (endpoint table: admin-routes.ts).
 * Every request carries `authorization: Bearer <token>` except /healthz,
 * /readyz and /metrics. Changes go through the ChangeService (which
 * authorizes and audits); reads authorize here. Errors are the registry's
 * JSON body `{"error":{code, retriable, message, hint, field?}}` with the
 * code's HTTP status.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ContractError } from '@mercato/proto/v1/validate';
import type { Authenticator } from '../auth/authenticator.js';
import type { Action } from '../auth/roles.js';
import type { ChangeService } from '../changes/change-service.js';
import { MAX_MANIFEST_BYTES, MAX_MODEL_BYTES } from '../changes/model-commands.js';
import { type ControlError, ERR, ControlError as Err, errorBody, toControlError } from '../errors.js';
import type { AuditOutcome } from '../store/control-store.js';
import { type AdminReads, AUDIT_DEFAULT_LIMIT, AUDIT_MAX_LIMIT } from './admin-reads.js';
import { CHANGE_ENDPOINTS, MODEL_FILE_PATH_RE, READ_ENDPOINTS } from './admin-routes.js';
import { readJsonBody } from './read-body.js';

export const MAX_COMMAND_BODY_BYTES = 64 * 1024;
/** A push carries the bundle base64-encoded (4/3 of its size) plus JSON framing. */
export const MAX_PUSH_BODY_BYTES = Math.ceil(((MAX_MODEL_BYTES + MAX_MANIFEST_BYTES) * 4) / 3) + 64 * 1024;
export const KEEP_ALIVE_TIMEOUT_MS = 65_000;
/** Requests may not take longer than this to arrive (slowloris). */
export const REQUEST_TIMEOUT_MS = 120_000;

export interface AdminHttpOptions {
  changes: ChangeService;
  reads: AdminReads;
  authenticator: Authenticator;
  host?: string;
  port?: number;
  isReady: () => boolean;
  metrics: () => Promise<{ contentType: string; body: string }>;
  onError?: (e: ControlError, path: string) => void;
}

export class AdminHttpServer {
  private server: Server | null = null;
  port = 0;

  constructor(private readonly opts: AdminHttpOptions) {}

  async start(): Promise<number> {
    const server = createServer(
      { keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS, requestTimeout: REQUEST_TIMEOUT_MS },
      (req, res) => {
        this.handle(req, res).catch((err) => this.fail(req, res, toControlError(err)));
      },
    );
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.opts.port ?? 0, this.opts.host ?? '127.0.0.1', () => resolve());
    });
    this.server = server;
    this.port = (server.address() as AddressInfo).port;
    return this.port;
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = null;
    if (server === null) return;
    server.closeIdleConnections();
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://admin');
    const path = url.pathname;
    const method = req.method ?? 'GET';
    if (path === '/healthz') return sendJson(res, 200, { status: 'ok' });
    if (path === '/readyz') {
      return this.opts.isReady()
        ? sendJson(res, 200, { status: 'ready' })
        : this.fail(
            req,
            res,
            new Err(ERR.STORE_UNAVAILABLE, 'the control plane is starting or its store is unreachable'),
          );
    }
    if (path === '/metrics') {
      const m = await this.opts.metrics();
      res.writeHead(200, { 'content-type': m.contentType, 'content-length': Buffer.byteLength(m.body) });
      res.end(m.body);
      return;
    }
    const change = CHANGE_ENDPOINTS[path];
    if (change !== undefined) {
      if (method !== 'POST')
        throw new Err(ERR.METHOD_NOT_ALLOWED, `${path} changes state: use POST with a JSON body`);
      const limit = change === 'model.push' ? MAX_PUSH_BODY_BYTES : MAX_COMMAND_BODY_BYTES;
      const out = await this.opts.changes.execute({
        action: change,
        authorization: req.headers.authorization,
        body: () => readJsonBody(req, limit),
        source: `${req.socket.remoteAddress ?? '?'}:${req.socket.remotePort ?? '?'}`,
      });
      return sendJson(res, 200, {
        ok: true,
        action: out.action,
        target: out.target,
        changed: out.changed,
        snapshot: { version: out.snapshot.version, content_hash: out.snapshot.contentHash },
        ...out.result,
      });
    }
    const read = READ_ENDPOINTS[path];
    const fileMatch = MODEL_FILE_PATH_RE.exec(path);
    if (read === undefined && fileMatch === null) throw new Err(ERR.NOT_FOUND, `no endpoint ${path}`);
    if (method !== 'GET') throw new Err(ERR.METHOD_NOT_ALLOWED, `${path} is a read: use GET`);
    req.resume();
    await this.authorize(req, read ?? 'model.download');
    const reads = this.opts.reads;
    if (fileMatch !== null) {
      const f = await reads.modelFile(fileMatch[1]!, fileMatch[2]!);
      res.writeHead(200, { 'content-type': f.contentType, 'content-length': f.bytes.length });
      res.end(f.bytes);
      return;
    }
    switch (read) {
      case 'status.read':
        return sendJson(res, 200, await reads.status());
      case 'snapshot.read':
        return sendJson(
          res,
          200,
          await reads.snapshot(optInt(url, 'version', 1, Number.MAX_SAFE_INTEGER) ?? null),
        );
      case 'audit.read':
        return sendJson(res, 200, await reads.audit(auditQuery(url)));
      case 'model.list':
        return sendJson(res, 200, await reads.models());
      case 'token.list':
        return sendJson(res, 200, await reads.tokens());
    }
  }

  private async authorize(req: IncomingMessage, action: Action): Promise<void> {
    const p = await this.opts.authenticator.principal(req.headers.authorization);
    this.opts.authenticator.authorize(p, action);
  }

  private fail(req: IncomingMessage, res: ServerResponse, e: ControlError): void {
    this.opts.onError?.(e, req.url ?? '');
    if (res.headersSent) {
      res.destroy();
      return;
    }
    // Refused before the body was read: close the connection rather than drain an upload nobody will use.
    sendJson(res, e.spec.httpStatus, errorBody(e), !req.complete);
  }
}

function optInt(url: URL, key: string, min: number, max: number): number | undefined {
  const raw = url.searchParams.get(key);
  if (raw === null) return undefined;
  const v = Number(raw);
  if (!Number.isInteger(v) || v < min || v > max)
    throw new ContractError(key, `expected an integer in [${min}, ${max}], got "${raw.slice(0, 20)}"`);
  return v;
}

function auditQuery(url: URL) {
  const outcome = url.searchParams.get('outcome');
  if (outcome !== null && outcome !== 'accepted' && outcome !== 'refused') {
    throw new ContractError('outcome', 'expected accepted | refused');
  }
  const beforeId = optInt(url, 'before_id', 1, Number.MAX_SAFE_INTEGER);
  const actor = url.searchParams.get('actor');
  const action = url.searchParams.get('action');
  return {
    limit: optInt(url, 'limit', 1, AUDIT_MAX_LIMIT) ?? AUDIT_DEFAULT_LIMIT,
    ...(beforeId === undefined ? {} : { beforeId }),
    ...(actor === null ? {} : { actor }),
    ...(action === null ? {} : { action }),
    ...(outcome === null ? {} : { outcome: outcome as AuditOutcome }),
  };
}

function sendJson(res: ServerResponse, status: number, body: unknown, close = false): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    ...(close ? { connection: 'close' } : {}),
  });
  res.end(text);
}
