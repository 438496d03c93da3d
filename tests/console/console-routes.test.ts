/**
 * The console's edge on the admin server, without a browser: the page and
 * bundle carry the strict CSP, whoami names the token's role (and refuses
 * no/unknown tokens), only GET is answered, unknown console paths are 404s,
 * and the admin API around it is unchanged.
 */
import t from 'tap';
import { CONSOLE_CSP } from '../../control-plane/src/console/console-routes.js';
import { startControlWorld, TOKENS } from '../control-plane/helpers/control-world.js';

t.test('console routes: page, bundle, whoami, refusals', async (t) => {
  const w = await startControlWorld(t);
  for (const [path, type] of [
    ['/console', 'text/html'],
    ['/console/', 'text/html'],
    ['/console/app.js', 'text/javascript'],
    ['/console/app.css', 'text/css'],
  ] as const) {
    const res = await fetch(w.url + path);
    t.equal(res.status, 200, path);
    t.match(res.headers.get('content-type'), type, `${path}: ${type}`);
    t.equal(res.headers.get('content-security-policy'), CONSOLE_CSP, `${path}: CSP`);
    t.equal(res.headers.get('x-frame-options'), 'DENY');
    const body = await res.text();
    t.ok(body.length > 0, `${path}: a body`);
    if (path === '/console/app.js') t.notMatch(body, /https?:\/\/(cdn|unpkg|jsdelivr)/, 'nothing from a CDN');
  }
  t.match(CONSOLE_CSP, /script-src 'self'/);
  t.notMatch(CONSOLE_CSP, /unsafe-inline|unsafe-eval/);

  for (const [role, token] of Object.entries(TOKENS)) {
    const who = await w.get('/console/api/whoami', token);
    t.same([who.status, who.json.role, who.json.name], [200, role, `${role}-1`], `whoami ${role}`);
  }
  const anon = await w.get('/console/api/whoami', null);
  t.equal(anon.status, 401);
  t.equal((anon.json.error as { code: string }).code, 'ATP_ERR_UNAUTHENTICATED');
  t.equal((await w.get('/console/api/whoami', 'wrong-token-0123456789')).status, 401);

  const post = await fetch(`${w.url}/console`, { method: 'POST', body: 'x=1' });
  t.equal(post.status, 405, 'the console answers GET only');
  await post.text();
  t.equal((await w.get('/console/nope', TOKENS.admin)).status, 404);
  t.equal((await w.get('/consolex', TOKENS.admin)).status, 404, 'a prefix lookalike is not the console');
  t.equal((await w.get('/v1/status', TOKENS.viewer)).status, 200, 'the admin API is unchanged');
});
