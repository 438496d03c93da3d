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
import { ERR } from '../errors.js';
import { consoleBundle } from './console-bundle.js';

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

const SECURITY_HEADERS = {
  'content-security-policy': CONSOLE_CSP,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'cache-control': 'no-store',
} as const;

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

/** Serves one console request; throws AtpError (the admin server turns it into its error body). */
export async function serveConsole(
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
  authenticator: Authenticator,
  limiter?: AuthFailureLimiter,
): Promise<void> {
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
  if (path === `${CONSOLE_PREFIX}/api/whoami`) {
    // Same guard as every admin read: a source that keeps failing is refused before any lookup.
    const source = sourceAddress(req.socket.remoteAddress ?? '?');
    if (limiter !== undefined && !limiter.admit(source, req.headers.authorization)) {
      res.setHeader('retry-after', String(limiter.retryAfterS(source)));
      throw new AtpError(ERR.RATE_LIMITED, `too many failed authentications from ${source}`);
    }
    const p = await authenticator.principal(req.headers.authorization);
    limiter?.succeeded(source, req.headers.authorization);
    authenticator.authorize(p, 'status.read');
    return send(
      res,
      200,
      'application/json',
      JSON.stringify({ name: p.name, role: p.role, expires_at_ms: p.expiresAtMs ?? null }),
    );
  }
  throw new AtpError(ERR.NOT_FOUND, `no console page ${path}`);
}

function send(res: ServerResponse, status: number, type: string, body: string): void {
  res.writeHead(status, {
    ...SECURITY_HEADERS,
    'content-type': type,
    'content-length': Buffer.byteLength(body),
  });
  res.end(body);
}
