/**
 * The operator console's browser tests: a real control plane process (SQLite
 * file, one bootstrap token per role, a trusted bundle key), Debian's
 * chromium driven by playwright-core, and screenshots kept under
 * tests/console/artifacts/ (gitignored; CI keeps them as artifacts).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { type Browser, chromium, type Page } from 'playwright-core';
import type { Test } from 'tap';
import { generateSigningKeys, type SigningKeys } from '../../../proto/v1/bundle-signature.js';
import { TOKENS, tempDir, waitFor } from '../../control-plane/helpers/control-world.js';
import { REPO_ROOT } from '../../helpers/fixtures.js';

export { TOKENS };

const START_TIMEOUT_MS = 60_000;
export const CHROMIUM = process.env.ATP_CHROMIUM ?? '/usr/bin/chromium';
export const ARTIFACTS = join(REPO_ROOT, 'tests', 'console', 'artifacts');

export interface ConsoleWorld {
  url: string;
  grpc: string;
  keys: SigningKeys;
  dir: string;
  proc: ChildProcess;
  /** A request to the admin API outside the browser (setup and checks). */
  api(
    path: string,
    token: string,
    body?: unknown,
  ): Promise<{ status: number; json: Record<string, unknown> }>;
}

/** Starts `control-plane/src/main.ts serve` on free ports (plus `extraArgs`, e.g. --scrape) and waits for its listening line. */
export async function startConsoleWorld(t: Test, extraArgs: readonly string[] = []): Promise<ConsoleWorld> {
  const dir = tempDir(t, 'atp-console-');
  const keys = generateSigningKeys();
  writeFileSync(join(dir, 'bundle.pub.pem'), keys.publicPem);
  writeFileSync(
    join(dir, 'tokens.json'),
    JSON.stringify(Object.entries(TOKENS).map(([role, token]) => ({ name: `${role}-1`, role, token }))),
  );
  const args = [
    ...['--db', `sqlite:${join(dir, 'cp.db')}`, '--trusted-key', join(dir, 'bundle.pub.pem')],
    ...['--bootstrap-tokens', join(dir, 'tokens.json'), '--log-level', 'info'],
    ...['--http-port', '0', '--grpc-port', '0'],
    ...extraArgs,
  ];
  const proc = spawn(process.execPath, ['--import', 'tsx', 'control-plane/src/main.ts', 'serve', ...args], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  t.teardown(() => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
  });
  let stderr = '';
  proc.stderr!.on('data', (c: Buffer) => {
    stderr += c.toString();
  });
  const ports = await new Promise<{ httpPort: number; grpcPort: number }>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`control plane did not listen: ${stderr}`)),
      START_TIMEOUT_MS,
    );
    proc.once('exit', (code) => reject(new Error(`control plane exited ${code}: ${stderr}`)));
    createInterface({ input: proc.stdout! }).on('line', (line) => {
      try {
        const j = JSON.parse(line) as { event?: string; httpPort?: number; grpcPort?: number };
        if (j.event === 'listening') {
          clearTimeout(timer);
          proc.removeAllListeners('exit');
          resolve({ httpPort: j.httpPort!, grpcPort: j.grpcPort! });
        }
      } catch {
        // not a log line
      }
    });
  });
  const url = `http://127.0.0.1:${ports.httpPort}`;
  return {
    url,
    grpc: `127.0.0.1:${ports.grpcPort}`,
    keys,
    dir,
    proc,
    async api(path, token, body) {
      const res = await fetch(url + path, {
        method: body === undefined ? 'GET' : 'POST',
        headers: {
          authorization: `Bearer ${token}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      return { status: res.status, json: (await res.json()) as Record<string, unknown> };
    },
  };
}

/** Headless chromium and one page; console errors (a CSP violation among them) are collected. */
export async function openBrowser(
  t: Test,
): Promise<{ browser: Browser; page: Page; consoleErrors: string[] }> {
  if (!existsSync(CHROMIUM)) throw new Error(`no chromium at ${CHROMIUM} (apt-get install -y chromium)`);
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu'],
  });
  t.teardown(() => browser.close());
  const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
  const consoleErrors: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') consoleErrors.push(m.text());
  });
  page.on('pageerror', (e) => consoleErrors.push(e.message));
  return { browser, page, consoleErrors };
}

/** Signs in with the keyboard only: Tab to the token field, type, Enter. */
export async function signIn(page: Page, url: string, token: string): Promise<void> {
  await page.goto(`${url}/console`);
  await page.waitForSelector('#token');
  await page.keyboard.press('Tab');
  await page.keyboard.type(token);
  await page.keyboard.press('Enter');
  await page.waitForSelector('[data-testid=who]');
}

export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(ARTIFACTS, { recursive: true });
  const path = join(ARTIFACTS, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}

/** Controls (input, select, button) that have no accessible name: label, aria-label(ledby) or text. */
export async function unlabelledControls(page: Page): Promise<string[]> {
  // Runs in the page (DOM types are not in this project's lib): as source text.
  return (await page.evaluate(`[...document.querySelectorAll('input, select, button, textarea')]
    .filter((el) => {
      if ((el.labels?.length ?? 0) > 0) return false;
      if (el.getAttribute('aria-label') || el.getAttribute('aria-labelledby')) return false;
      return el.tagName !== 'BUTTON' || (el.textContent ?? '').trim() === '';
    })
    .map((el) => el.outerHTML.slice(0, 120))`)) as string[];
}

/** Waits until the element's text matches `re` (the page refreshes every second). */
export async function waitForText(
  page: Page,
  selector: string,
  re: RegExp,
  timeoutMs: number,
): Promise<void> {
  await waitFor(
    async () => re.test((await page.textContent(selector, { timeout: timeoutMs })) ?? ''),
    timeoutMs,
    `${selector} to match ${re}`,
    50,
  );
}

/** Pulls a lever in the page: fill the reason, submit, then confirm. */
export async function pullLever(page: Page, leverId: string, reason: string): Promise<void> {
  await page.fill(`#${leverId}-reason`, reason);
  await page.click(`#${leverId} button[type=submit]`);
  await page.click(`#${leverId} .confirm button:text-is("Confirm")`);
}

/**
 * Presses Tab from the top of the page until focus comes back around (or
 * `maxSteps`), and returns the enabled controls Tab never reached (their
 * outerHTML head): keyboard users can reach every one when this is empty.
 */
export async function controlsTabMisses(page: Page, maxSteps = 200): Promise<string[]> {
  // Tag each enabled, visible control with an index (DOM types are not in this project's lib: source text).
  const count = (await page.evaluate(`(() => {
    const all = [...document.querySelectorAll('input, select, button, textarea, a[href]')]
      .filter((el) => !el.disabled && el.offsetParent !== null);
    all.forEach((el, i) => el.setAttribute('data-tab-probe', String(i)));
    return all.length;
  })()`)) as number;
  await page.evaluate('document.activeElement?.blur(); window.getSelection()?.removeAllRanges()');
  await page.focus('body');
  const reached = new Set<string>();
  for (let i = 0; i < maxSteps && reached.size < count; i++) {
    await page.keyboard.press('Tab');
    const probe = (await page.evaluate(
      "document.activeElement?.getAttribute('data-tab-probe') ?? ''",
    )) as string;
    if (probe !== '') reached.add(probe);
  }
  return (await page.evaluate(`[...document.querySelectorAll('[data-tab-probe]')]
    .filter((el) => !${JSON.stringify([...reached])}.includes(el.getAttribute('data-tab-probe')))
    .map((el) => el.outerHTML.slice(0, 120))`)) as string[];
}
