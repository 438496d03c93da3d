/**
 * Acceptance (issue 19): a viewer signs in by token and sees everything
 * (overview, levers, audit, models) but can pull nothing: every lever is
 * disabled in the page, and the same change forged from the page (viewer
 * token) or as a cross-site form would send it (no bearer header) is
 * refused by the server, leaving the snapshot unchanged. The page obeys its
 * Content-Security-Policy (no violation logged) and every control is
 * labelled and reachable by keyboard.
 */
import t from 'tap';
import { CONSOLE_CSP } from '../../control-plane/src/console/console-routes.js';
import {
  controlsTabMisses,
  openBrowser,
  screenshot,
  signIn,
  startConsoleWorld,
  TOKENS,
  unlabelledControls,
} from './helpers/console-world.js';

t.test('a viewer sees everything and can pull nothing', async (t) => {
  const w = await startConsoleWorld(t);
  const { page, consoleErrors } = await openBrowser(t);

  // The page and its bundle come with the strict CSP; nothing from another origin.
  const res = await fetch(`${w.url}/console`);
  t.equal(res.status, 200);
  t.equal(res.headers.get('content-security-policy'), CONSOLE_CSP);
  t.notMatch(await res.text(), /https?:\/\//, 'the page loads nothing from another origin');
  const whoAnon = await fetch(`${w.url}/console/api/whoami`);
  t.equal(whoAnon.status, 401, 'whoami without a token is refused');

  // A wrong token is refused at sign-in with the server's reason.
  await page.goto(`${w.url}/console`);
  await page.fill('#token', 'not-a-token');
  await page.click('button:text-is("Sign in")');
  await page.waitForSelector('[role=alert]:has-text("UNAUTHENTICATED")');

  await signIn(page, w.url, TOKENS.viewer);
  t.match(await page.textContent('[data-testid=who]'), /viewer-1 \(viewer\)/);
  await page.waitForSelector('[data-testid=snapshot-version]');
  t.equal(await page.textContent('[data-testid=snapshot-version]'), '1', 'overview shows the snapshot');
  await page.waitForSelector('#chart-range');
  t.same(await unlabelledControls(page), [], 'overview: every control labelled');
  await screenshot(page, 'viewer-overview');

  await page.click('nav button:text-is("Levers")');
  await page.waitForSelector('#lever-kill');
  for (const id of [
    'lever-kill',
    'lever-mode',
    'lever-rollout',
    'lever-experiment',
    'lever-promote',
    'lever-rollback',
  ]) {
    t.ok(await page.isDisabled(`#${id} button[type=submit]`), `${id}: disabled for a viewer`);
    t.ok(await page.isDisabled(`#${id}-reason`), `${id}: reason field disabled`);
  }
  t.match(await page.textContent('#lever-kill'), /Needs the operator role \(you are viewer\)/);
  t.same(await unlabelledControls(page), [], 'levers: every control labelled');
  await page.waitForSelector('[data-testid=audit] tbody tr');
  await screenshot(page, 'viewer-levers');

  // Forged from the page with the viewer's token: refused by the server (FORBIDDEN).
  t.equal(await page.$('#token'), null, 'no token field left in the page after sign-in');
  const forgedViewer = await page.evaluate(async (token) => {
    const r = await fetch('/v1/kill-switches/set', {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ scope: 'global', reason: 'forged by a viewer' }),
    });
    return { status: r.status, body: (await r.json()) as { error: { code: string } } };
  }, TOKENS.viewer);
  t.equal(forgedViewer.status, 403, 'a viewer token cannot set a kill switch');
  t.equal(forgedViewer.body.error.code, 'ATP_ERR_FORBIDDEN');
  // What a cross-site form can send: no authorization header (cookies are not a credential here).
  const csrf = await fetch(`${w.url}/v1/kill-switches/set`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', origin: 'https://evil.example' },
    body: 'scope=global&reason=csrf',
  });
  t.equal(csrf.status, 401, 'a cross-site form post is refused');
  const status = await w.api('/v1/status', TOKENS.viewer);
  t.same(status.json.kill_switches, [], 'no kill switch was set');
  t.equal(status.json.version, 1, 'the snapshot did not move');

  await page.click('nav button:text-is("Models")');
  await page.waitForSelector('[data-testid=models]');
  await page.waitForSelector('[data-testid=disagreements]');
  t.same(await unlabelledControls(page), [], 'models: every control labelled');
  await screenshot(page, 'viewer-models');
  await page.click('nav button:text-is("Decisions")');
  await page.waitForSelector('#decision-id');
  t.same(await unlabelledControls(page), [], 'decision explorer: every control labelled');
  t.same(await controlsTabMisses(page), [], 'decision explorer: Tab reaches every control');

  // Keyboard: Tab from the top reaches sign-out and every page of the console.
  await page.focus('body');
  const reached = new Set<string>();
  for (let i = 0; i < 12; i++) {
    await page.keyboard.press('Tab');
    reached.add(String(await page.evaluate("document.activeElement?.textContent?.trim() ?? ''")));
  }
  for (const name of ['Sign out', 'Overview', 'Levers', 'Models', 'Decisions'])
    t.ok(reached.has(name), `Tab reaches ${name}`);
  // The refused requests above log "Failed to load resource" (expected); anything else is a fault.
  const faults = consoleErrors.filter((e) => !e.startsWith('Failed to load resource'));
  t.same(faults, [], 'no script error and no CSP violation in the page');
});
