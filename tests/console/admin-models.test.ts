/**
 * Acceptance (issue 19): an admin sees the model registry with each
 * bundle's manifest metrics, promotes a model from the console (reason,
 * confirmation), promotes a second one, then rolls back; the control plane's
 * snapshot follows each step and the page shows the states and the audit.
 */
import { createPrivateKey, randomBytes } from 'node:crypto';
import t from 'tap';
import { signManifest } from '../../proto/v1/bundle-signature.js';
import { fakeManifest } from '../control-plane/helpers/control-world.js';
import {
  type ConsoleWorld,
  openBrowser,
  pullLever,
  screenshot,
  signIn,
  startConsoleWorld,
  TOKENS,
  unlabelledControls,
  waitForText,
} from './helpers/console-world.js';

/** Pushes a signed bundle whose manifest carries `metrics` (setup: as atpctl model push would). */
async function push(w: ConsoleWorld, version: string, metrics: Record<string, unknown>): Promise<void> {
  const model = randomBytes(2048);
  const manifest = Buffer.from(JSON.stringify({ ...fakeManifest(version, model), metrics }));
  const res = await w.api('/v1/models/push', TOKENS.admin, {
    manifest_b64: manifest.toString('base64'),
    model_b64: model.toString('base64'),
    signature_b64: signManifest(manifest, createPrivateKey(w.keys.privatePem)).trim(),
    reason: `push ${version}`,
  });
  if (res.status !== 200) throw new Error(`push ${version}: ${JSON.stringify(res.json)}`);
}

async function activeModel(w: ConsoleWorld): Promise<string> {
  const s = (await w.api('/v1/status', TOKENS.viewer)).json as { model: { active: string } };
  return s.model.active;
}

t.test('an admin promotes and rolls back a model from the console', async (t) => {
  const w = await startConsoleWorld(t);
  await push(w, 'm-2026-11-01', { auc: 0.912345, oversell_rate: 0.0031, test: { rows: 120000 } });
  await push(w, 'm-2026-12-01', { auc: 0.923456, oversell_rate: 0.0024, test: { rows: 150000 } });
  const initial = await activeModel(w);

  const { page, consoleErrors } = await openBrowser(t);
  await signIn(page, w.url, TOKENS.admin);
  t.match(await page.textContent('[data-testid=who]'), /admin-1 \(admin\)/);

  // Models page: the registry with each manifest's metrics.
  await page.click('nav button:text-is("Models")');
  await page.waitForSelector('tr[data-model="m-2026-12-01"] dl.metrics');
  const newer = await page.textContent('tr[data-model="m-2026-12-01"]');
  t.match(newer, /auc0\.9235/, 'manifest metric auc shown');
  t.match(newer, /test\.rows150000/, 'nested metric flattened');
  t.equal(await page.textContent('[data-testid="state-m-2026-12-01"]'), 'pushed');
  await screenshot(page, 'admin-models');

  // Promote the first, then the second, from the Levers page.
  await page.click('nav button:text-is("Levers")');
  await page.waitForSelector('#promote-version option[value="m-2026-11-01"]', { state: 'attached' });
  t.same(await unlabelledControls(page), [], 'levers: every control labelled');
  for (const version of ['m-2026-11-01', 'm-2026-12-01']) {
    await page.waitForSelector(`#promote-version option[value="${version}"]`, { state: 'attached' });
    await page.selectOption('#promote-version', version);
    await page.fill('#lever-promote-reason', `promote ${version}: better auc`);
    await page.click('#lever-promote button[type=submit]');
    await page.waitForSelector('#lever-promote .confirm');
    t.match(await page.textContent('#lever-promote .confirm'), new RegExp(`promote model ${version}`));
    await page.click('#lever-promote .confirm button:text-is("Confirm")');
    await page.waitForSelector(`#lever-promote [role=status]:has-text("Done: promote model ${version}")`);
    t.equal(await activeModel(w), version, `${version} is active in the snapshot`);
  }
  await screenshot(page, 'admin-promoted');

  // Roll back: the previous model is active again.
  await pullLever(page, 'lever-rollback', 'rollback drill');
  await page.waitForSelector('#lever-rollback [role=status]:has-text("Done")');
  t.equal(await activeModel(w), 'm-2026-11-01', 'rollback: the previous model is active again');
  t.not(initial, 'm-2026-11-01');

  // The page follows: overview and models, and the audit trail names the admin and reasons.
  await waitForText(page, '[data-testid=audit]', /rollback drill/, 5_000);
  const audit = await page.textContent('[data-testid=audit]');
  t.match(audit, /admin-1 \(admin\)model\.rollback/);
  t.match(audit, /promote m-2026-12-01: better auc/);
  await page.click('nav button:text-is("Models")');
  await waitForText(page, '[data-testid="state-m-2026-11-01"]', /^active$/, 5_000);
  t.pass('the registry shows the rolled-back-to model active');
  await page.click('nav button:text-is("Overview")');
  await page.waitForSelector('[data-testid=active-model]:text-is("m-2026-11-01")');
  await screenshot(page, 'admin-rolled-back');
  t.same(
    consoleErrors.filter((e) => !e.startsWith('Failed to load resource')),
    [],
    'no script error and no CSP violation',
  );
});
