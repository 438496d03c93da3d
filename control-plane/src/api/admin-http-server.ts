/**
 * The admin HTTP/JSON edge atpctl talks to (endpoint table: admin-routes.ts).
 * HTTPS when a certificate is configured (`tls`); plain HTTP only without
 * one (local development: the composition root warns). Every request
 * carries `authorization: Bearer <token>` except /healthz, /readyz and
 * /metrics. A source that keeps failing authentication is answered 429
 * before any token lookup or body read (AuthFailureLimiter). Changes go
 * through the ChangeService (which authorizes and audits); reads authorize
 * here. Errors are the platform's JSON body `{"error":{code, retriable,
 * message, field?, hint}}` with the code's HTTP status. Start and stop are
 * the platform's: a stop gives requests in flight STOP_GRACE_MS, then cuts
 * their connections.
 */
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { AtpError, errorBody } from '@mercato/platform/errors';
import { closeHttp, DEFAULT_STOP_GRACE_MS, listenHttp } from '@mercato/platform/servers';
import { ContractError } from '@mercato/proto/v1/validate';
import { type AuthFailureLimiter, sourceAddress } from '../auth/auth-failure-limiter.js';
import type { Authenticator } from '../auth/authenticator.js';
import type { Action, ChangeAction } from '../auth/roles.js';
import type { ChangeService } from '../changes/change-service.js';
import { MAX_MANIFEST_BYTES, MAX_MODEL_BYTES } from '../changes/model-commands.js';
import type { ConsoleFeed } from '../console/console-feed.js';
import { isConsolePath, serveConsole } from '../console/console-routes.js';
import { controlErrorOf, ERR } from '../errors.js';
import type { AuditExportQuery, AuditOutcome, AuditQuery } from '../store/audit-queries.js';
import { type AdminReads, AUDIT_DEFAULT_LIMIT, AUDIT_MAX_LIMIT, auditJson } from './admin-reads.js';
import { CHANGE_ENDPOINTS, MODEL_FILE_PATH_RE, READ_ENDPOINTS } from './admin-routes.js';
import { readJsonBody } from './read-body.js';

export const MAX_COMMAND_BODY_BYTES = 64 * 1024;
/** A push carries the bundle base64-encoded (4/3 of its size) plus JSON framing. */
export const MAX_PUSH_BODY_BYTES = Math.ceil(((MAX_MODEL_BYTES + MAX_MANIFEST_BYTES) * 4) / 3) + 64 * 1024;
export const KEEP_ALIVE_TIMEOUT_MS = 65_000;
/** Requests may not take longer than this to arrive (slowloris). */
export const REQUEST_TIMEOUT_MS = 120_000;
/** stop() lets requests in flight (a bundle download) finish for this long before cutting them. */
export const STOP_GRACE_MS = DEFAULT_STOP_GRACE_MS;
/** A refused request's body up to this size is read and dropped so the connection can be reused. */
export const MAX_DRAINED_BODY_BYTES = 16 * 1024;
/** Audit entries per page of an export (each page is one read transaction). */
export const AUDIT_EXPORT_PAGE = 1_000;

/** The admin API's certificate (HTTPS); null: plain HTTP. */
export interface HttpTls {
  cert: Buffer;
  key: Buffer;
}

export interface AdminHttpOptions {
  changes: ChangeService;
  reads: AdminReads;
  authenticator: Authenticator;
  limiter?: AuthFailureLimiter;
  host?: string;
  port?: number;
  isReady: () => boolean;
  metrics: () => Promise<{ contentType: string; body: string }>;
  onError?: (e: AtpError, path: string) => void;
  /** The operator console's live figures (console/console-feed.ts). */
  console: ConsoleFeed;
}

export class AdminHttpServer {
  private server: Server | null = null;
  private tls: HttpTls | null = null;
  port = 0;

  constructor(private readonly opts: AdminHttpOptions) {}

  get scheme(): 'http' | 'https' {
    return this.tls === null ? 'http' : 'https';
  }

  /** Listens over HTTPS with `tls`, plain HTTP without. */
  async start(tls: HttpTls | null = null): Promise<number> {
    this.tls = tls;
    const options = { keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS, requestTimeout: REQUEST_TIMEOUT_MS };
    const handler = (req: IncomingMessage, res: ServerResponse) => {
      this.handle(req, res).catch((err) => this.fail(req, res, controlErrorOf(err)));
    };
    // An https.Server is an http.Server on a TLS socket: the platform's listen and close work on both.
    const server: Server =
      tls === null
        ? createServer(options, handler)
        : (createHttpsServer({ ...options, cert: tls.cert, key: tls.key }, handler) as unknown as Server);
    this.port = await listenHttp(server, this.opts.port, this.opts.host);
    this.server = server;
    return this.port;
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = null;
    await closeHttp(server, STOP_GRACE_MS);
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
            new AtpError(ERR.STORE_UNAVAILABLE, 'the control plane is starting or its store is unreachable'),
          );
    }
    if (path === '/metrics') {
      const m = await this.opts.metrics();
      res.writeHead(200, { 'content-type': m.contentType, 'content-length': Buffer.byteLength(m.body) });
      res.end(m.body);
      return;
    }
    if (isConsolePath(path))
      return serveConsole(req, res, url, {
        authenticator: this.opts.authenticator,
        limiter: this.opts.limiter,
        feed: this.opts.console,
      });
    const change = CHANGE_ENDPOINTS[path];
    const source = sourceAddress(req.socket.remoteAddress ?? '?');
    if (change !== undefined) {
      if (method !== 'POST')
        throw new AtpError(ERR.METHOD_NOT_ALLOWED, `${path} changes state: use POST with a JSON body`);
      const limit = change === 'model.push' ? MAX_PUSH_BODY_BYTES : MAX_COMMAND_BODY_BYTES;
      const request = {
        source: `${req.socket.remoteAddress ?? '?'}:${req.socket.remotePort ?? '?'}`,
        sourceAddress: source,
      };
      await this.admitSource(req, res, source, change, request);
      const out = await this.opts.changes.execute({
        action: change,
        authorization: req.headers.authorization,
        body: () => readJsonBody(req, limit),
        authenticated: () => this.opts.limiter?.succeeded(source, req.headers.authorization),
        ...request,
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
    if (read === undefined && fileMatch === null) throw new AtpError(ERR.NOT_FOUND, `no endpoint ${path}`);
    if (method !== 'GET') throw new AtpError(ERR.METHOD_NOT_ALLOWED, `${path} is a read: use GET`);
    req.resume();
    await this.admitSource(req, res, source, null, null);
    await this.authorize(req, source, read ?? 'model.download');
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
      case 'audit.export':
        return this.exportAudit(res, exportQuery(url));
      case 'model.list':
        return sendJson(res, 200, await reads.models());
      case 'token.list':
        return sendJson(res, 200, await reads.tokens());
      case 'region.list':
        return sendJson(res, 200, await reads.regions());
      case 'experiment.list':
        return sendJson(res, 200, await reads.experiments(experimentIdParam(url)));
    }
  }

  /**
   * Refuses a source that used up its failed authentications (429, with
   * Retry-After) before anything is looked up or read; a refused change is
   * audited like any other refusal (counted per source and minute).
   */
  private async admitSource(
    req: IncomingMessage,
    res: ServerResponse,
    source: string,
    action: ChangeAction | null,
    request: { source: string; sourceAddress: string } | null,
  ): Promise<void> {
    const limiter = this.opts.limiter;
    if (limiter === undefined || limiter.admit(source, req.headers.authorization)) return;
    const e = new AtpError(ERR.RATE_LIMITED, `too many failed authentications from ${source}`);
    res.setHeader('retry-after', String(limiter.retryAfterS(source)));
    if (action !== null && request !== null) await this.opts.changes.refusedAtEdge(action, e, request);
    throw e;
  }

  /** Streams the audit log as NDJSON, oldest first, page by page (never all in memory). */
  private async exportAudit(
    res: ServerResponse,
    q: Omit<AuditExportQuery, 'afterId' | 'limit'>,
  ): Promise<void> {
    res.writeHead(200, { 'content-type': 'application/x-ndjson' });
    let afterId = 0;
    for (;;) {
      const rows = await this.opts.reads.auditExportPage({ ...q, afterId, limit: AUDIT_EXPORT_PAGE });
      if (rows.length > 0) {
        const text = `${rows.map((r) => JSON.stringify(auditJson(r))).join('\n')}\n`;
        if (!res.write(text)) await once(res, 'drain');
        afterId = rows.at(-1)?.id ?? afterId;
      }
      if (rows.length < AUDIT_EXPORT_PAGE || res.destroyed) break;
    }
    res.end();
  }

  private async authorize(req: IncomingMessage, source: string, action: Action): Promise<void> {
    const p = await this.opts.authenticator.principal(req.headers.authorization);
    this.opts.limiter?.succeeded(source, req.headers.authorization);
    this.opts.authenticator.authorize(p, action);
  }

  private fail(req: IncomingMessage, res: ServerResponse, e: AtpError): void {
    this.opts.onError?.(e, req.url ?? '');
    if (res.headersSent) {
      res.destroy();
      return;
    }
    // Refused before the body was read: a small declared body is drained and the connection kept
    // (a flood of refusals then costs no new connections, nor TLS handshakes); a large or
    // undeclared upload is cut by closing the connection rather than read for nothing.
    const declared = Number(req.headers['content-length'] ?? Number.NaN);
    const drain = !req.complete && Number.isFinite(declared) && declared <= MAX_DRAINED_BODY_BYTES;
    if (drain) req.resume();
    sendJson(res, e.spec.httpStatus, errorBody(e), !req.complete && !drain);
  }
}

/** `?id=` of GET /v1/experiments, validated like the ids the change commands take. */
function experimentIdParam(url: URL): string | null {
  const id = url.searchParams.get('id');
  if (id === null || id === '') return null;
  if (!/^[a-z0-9][a-z0-9-]{0,47}$/.test(id)) {
    throw new AtpError(ERR.INVALID_ARGUMENT, `expected an experiment id, got "${id.slice(0, 40)}"`, 'id');
  }
  return id;
}

function optInt(url: URL, key: string, min: number, max: number): number | undefined {
  const raw = url.searchParams.get(key);
  if (raw === null) return undefined;
  const v = Number(raw);
  if (!Number.isInteger(v) || v < min || v > max)
    throw new ContractError(key, `expected an integer in [${min}, ${max}], got "${raw.slice(0, 20)}"`);
  return v;
}

function auditQuery(url: URL): AuditQuery {
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

/** `since` / `until` as epoch ms or an ISO date-time; `until` defaults to now + 1 ms (everything so far). */
function exportQuery(url: URL): Omit<AuditExportQuery, 'afterId' | 'limit'> {
  return {
    sinceMs: timeParam(url, 'since') ?? 0,
    untilMs: timeParam(url, 'until') ?? Number.MAX_SAFE_INTEGER,
  };
}

function timeParam(url: URL, key: string): number | undefined {
  const raw = url.searchParams.get(key);
  if (raw === null || raw === '') return undefined;
  const ms = /^\d{1,16}$/.test(raw) ? Number(raw) : Date.parse(raw);
  if (!Number.isSafeInteger(ms) || ms < 0) {
    throw new ContractError(
      key,
      `expected epoch milliseconds or an ISO date-time, got "${raw.slice(0, 40)}"`,
    );
  }
  return ms;
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
