/**
 * The operator console's edge, mounted in the admin HTTP server under
 * /console: the page, its bundle (preact + uPlot, built by esbuild: see
 * console-bundle.ts) and one read, /console/api/whoami, that says which
 * token name and role a bearer token has (the page greys the levers the
 * role may not pull; the admin API refuses them anyway).
 *
 * Sign-in and CSRF: the page keeps the token in memory (never a cookie,
 * never storage) and sends it as `authorization: Bearer` to the admin API
 * like atpctl does. A cross-site form or image cannot set that header, and
 * the admin API answers no CORS preflight, so no other origin can make a
 * browser send a change with the operator's authority. Every page response
 * carries a strict Content-Security-Policy: scripts, styles and requests
 * from this origin only, no inline script, no framing.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { AtpError } from '@mercato/platform/errors';
import { type AuthFailureLimiter, sourceAddress } from '../auth/auth-failure-limiter.js';
import type { Authenticator } from '../auth/authenticator.js';
import type { Principal } from '../auth/roles.js';
import { ERR } from '../errors.js';
import { consoleBundle } from './console-bundle.js';
import type { ConsoleFeed } from './console-feed.js';
import { REGION_RE } from './metrics-scraper.js';
import { OVERVIEW_RANGES_S } from './overview-stream.js';

export const CONSOLE_PREFIX = '/console';

export const CONSOLE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const SECURITY_HEADERS: Record<string, string> = {
  'content-security-policy': CONSOLE_CSP,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'cache-control': 'no-store',
};

/** The one page; everything else comes from the bundle. */
export const CONSOLE_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>ATP operator console</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="${CONSOLE_PREFIX}/app.css">
</head>
<body>
<div id="app"><p>Loading the console…</p></div>
<script type="module" src="${CONSOLE_PREFIX}/app.js"></script>
</body>
</html>
`;

/** True when `path` belongs to the console (the admin server hands it over). */
export function isConsolePath(path: string): boolean {
  return path === CONSOLE_PREFIX || path.startsWith(`${CONSOLE_PREFIX}/`);
}

/** What the console's routes need from the control plane. */
export interface ConsoleContext {
  authenticator: Authenticator;
  limiter?: AuthFailureLimiter | undefined;
  /** The live figures (scrape targets: serve --scrape region:kind:url). */
  feed: ConsoleFeed;
}

const DISAGREEMENTS_DEFAULT = 20;
const DISAGREEMENTS_MAX = 200;

/** Serves one console request; throws AtpError (the admin server turns it into its error body). */
export async function serveConsole(
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  ctx: ConsoleContext,
): Promise<void> {
  const path = url.pathname;
  const method = req.method ?? 'GET';
  req.resume();
  if (method !== 'GET' && method !== 'HEAD')
    throw new AtpError(ERR.METHOD_NOT_ALLOWED, `${path}: the console only answers GET`);
  if (path === CONSOLE_PREFIX || path === `${CONSOLE_PREFIX}/`)
    return send(res, 200, 'text/html; charset=utf-8', CONSOLE_HTML);
  if (path === `${CONSOLE_PREFIX}/app.js`)
    return send(res, 200, 'text/javascript; charset=utf-8', (await consoleBundle()).js);
  if (path === `${CONSOLE_PREFIX}/app.css`)
    return send(res, 200, 'text/css; charset=utf-8', (await consoleBundle()).css);
  if (!path.startsWith(API)) throw new AtpError(ERR.NOT_FOUND, `no console page ${path}`);
  // Every console read is a status read: the same guard and role as GET /v1/status.
  const p = await authorized(req, res, ctx);
  const route = path.slice(API.length);
  if (route === 'whoami')
    return sendJson(res, { name: p.name, role: p.role, expires_at_ms: p.expiresAtMs ?? null });
  const feed = ctx.feed;
  const region = regionParam(url);
  if (route === 'targets')
    return sendJson(res, { targets: feed.scraper.targets, regions: feed.scraper.series.regions() });
  if (route === 'overview') {
    const rangeS = Number(url.searchParams.get('range_s') ?? OVERVIEW_RANGES_S[0]);
    if (!(OVERVIEW_RANGES_S as readonly number[]).includes(rangeS))
      throw new AtpError(ERR.INVALID_ARGUMENT, `range_s: one of ${OVERVIEW_RANGES_S.join(', ')}`, 'range_s');
    if (!feed.streams.serve(res, feed.scraper.series, rangeS, SECURITY_HEADERS))
      throw new AtpError(ERR.RATE_LIMITED, 'too many open overview streams');
    return;
  }
  if (route === 'evaluation') return sendJson(res, { reports: await feed.scraper.evaluation(region) });
  if (route === 'disagreements') {
    const raw = url.searchParams.get('limit');
    const limit = raw === null ? DISAGREEMENTS_DEFAULT : Number(raw);
    if (!Number.isInteger(limit) || limit < 1 || limit > DISAGREEMENTS_MAX)
      throw new AtpError(ERR.INVALID_ARGUMENT, `limit: an integer 1..${DISAGREEMENTS_MAX}`, 'limit');
    return sendJson(res, { decisions: await feed.scraper.disagreements(region, limit) });
  }
  if (route.startsWith('decisions/')) {
    const id = decodeURIComponent(route.slice('decisions/'.length));
    if (!DECISION_ID_RE.test(id))
      throw new AtpError(ERR.INVALID_ARGUMENT, 'decision_id: 1-128 of A-Z a-z 0-9 . _ : -', 'decision_id');
    const found = await feed.scraper.decision(id, region);
    // The order's outcome, from the outcome join of the region whose sidecar kept the decision.
    return sendJson(res, { ...found, outcome: await feed.scraper.decisionOutcome(id, found.region) });
  }
  throw new AtpError(ERR.NOT_FOUND, `no console route ${path}`);
}

const API = `${CONSOLE_PREFIX}/api/`;
const DECISION_ID_RE = /^[A-Za-z0-9._:-]{1,128}$/;

function regionParam(url: URL): string | null {
  const r = url.searchParams.get('region');
  if (r === null || r === '') return null;
  if (!REGION_RE.test(r)) throw new AtpError(ERR.INVALID_ARGUMENT, `region: bad region name ${r}`, 'region');
  return r;
}

/** The caller's principal, allowed status.read; a source that keeps failing is refused before any lookup. */
async function authorized(
  req: IncomingMessage,
  res: ServerResponse,
  ctx: ConsoleContext,
): Promise<Principal> {
  const source = sourceAddress(req.socket.remoteAddress ?? '?');
  const limiter = ctx.limiter;
  if (limiter !== undefined && !limiter.admit(source, req.headers.authorization)) {
    res.setHeader('retry-after', String(limiter.retryAfterS(source)));
    throw new AtpError(ERR.RATE_LIMITED, `too many failed authentications from ${source}`);
  }
  const p = await ctx.authenticator.principal(req.headers.authorization);
  limiter?.succeeded(source, req.headers.authorization);
  ctx.authenticator.authorize(p, 'status.read');
  return p;
}

function sendJson(res: ServerResponse, body: unknown): void {
  send(res, 200, 'application/json', JSON.stringify(body));
}

function send(res: ServerResponse, status: number, type: string, body: string): void {
  res.writeHead(status, {
    ...SECURITY_HEADERS,
    'content-type': type,
    'content-length': Buffer.byteLength(body),
  });
  res.end(body);
}
