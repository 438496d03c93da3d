/**
 * Issue 19, the decision explorer: a decision id -> the served feature
 * vectors and the order's outcome, read from the page. Real parts: a sidecar
 * with the committed ONNX bundle and its recent-decision ring (HTTP edge on a
 * free port), its decision stream joined with an order outcome by the
 * outcome join on a SQLite file and served by the evaluation HTTP edge, and
 * the control plane process scraping both (--scrape region:sidecar|evaluation:url);
 * Debian's chromium reads the page. A decision with no outcome yet reads
 * `pending`; an evaluation service's malformed answer is refused naming the
 * field; no evaluation service known gives no outcome with the reason.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join as joinPath } from 'node:path';
import { Registry } from 'prom-client';
import t from 'tap';
import type { KeyedRecord } from '../../adapters/src/event-producer.js';
import {
  MAX_SERVED_ROWS,
  outcomeFromEvaluation,
  parseDecisionOutcome,
  parseServedFeatures,
} from '../../control-plane/src/console/decision-outcome.js';
import { EvaluationHttpServer } from '../../evaluation/src/evaluation-http-server.js';
import { OutcomeJoin } from '../../evaluation/src/join/outcome-join.js';
import { SqliteJoinStore } from '../../evaluation/src/join/sqlite-join-store.js';
import { encodeOutcome } from '../../proto/v1/order-outcome.js';
import { resolveBundleDir } from '../../sidecar/src/model/model-bundle.js';
import { checkout, WORLD_NOW, worldSidecar } from '../helpers/sidecar-world.js';
import {
  openBrowser,
  screenshot,
  signIn,
  startConsoleWorld,
  TOKENS,
  unlabelledControls,
} from './helpers/console-world.js';

const REGION = 'eu-west';
const MIN = 60_000;

t.test('the explorer shows the served feature vectors and the order outcome', async (t) => {
  const dir = mkdtempSync(joinPath(tmpdir(), 'atp-explorer-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));

  // The sidecar: ring on, every decision also on its decision stream (captured for the join).
  const published: KeyedRecord[] = [];
  const sc = worldSidecar({
    recentDecisions: 64,
    decisionStreamSink: {
      publish: async (batch) => {
        published.push(...batch);
      },
      close: async () => {},
    },
    httpPort: 0,
    grpcPort: 0,
    host: '127.0.0.1',
  });
  const { httpPort } = await sc.start();
  t.teardown(() => sc.stop());
  await sc.models.loadAndActivate(await resolveBundleDir('models'));
  const fulfilled = await sc.engine.check(checkout('IN-STOCK', 2, 'r-fulfilled'));
  const waiting = await sc.engine.check(checkout('IN-STOCK', 1, 'r-waiting'));
  t.equal(fulfilled.decision, 'allow');
  t.notOk(fulfilled.degradations.includes('model'), 'the model scored');
  await sc.decisionStream!.flush();
  t.equal(published.length, 2, 'both decisions on the stream');
  const node = fulfilled.items[0]!.options[0]!.nodeId;

  // The outcome join: both decision events, the order outcome of the first one (the second waits).
  const store = new SqliteJoinStore(joinPath(dir, 'join.sqlite'));
  t.teardown(() => store.close());
  const join = new OutcomeJoin(store, { region: REGION, horizonMs: 48 * 60 * MIN, latenessMs: 10 * MIN });
  const outcome = {
    outcomeId: `${fulfilled.decisionId}:IN-STOCK`,
    decisionId: fulfilled.decisionId,
    region: REGION,
    sku: 'IN-STOCK',
    node,
    qty: 2,
    status: 'fulfilled' as const,
    unitsPicked: 2,
    promisedAtMs: WORLD_NOW,
    dueAtMs: WORLD_NOW + 60 * MIN,
    resolvedAtMs: WORLD_NOW + 30 * MIN,
    onTime: true,
  };
  join.apply(
    join.prepare({
      stream: 'decisions',
      source: `atp.decisions.${REGION}`,
      partition: 0,
      records: published.map((r, i) => ({ offset: i, key: r.key, value: String(r.value) })),
    }),
  );
  const outcomes = join.prepare({
    stream: 'outcomes',
    source: `order.outcomes.${REGION}`,
    partition: 0,
    records: [{ offset: 0, key: outcome.decisionId, value: encodeOutcome(outcome) }],
  });
  t.same(outcomes.deadLetters, [], 'the order outcome is well formed');
  join.apply(outcomes);
  const evaluation = new EvaluationHttpServer(store, new Registry());
  const evalPort = await evaluation.start(0, '127.0.0.1');
  t.teardown(() => evaluation.stop());

  const w = await startConsoleWorld(t, [
    ...['--scrape', `${REGION}:sidecar:http://127.0.0.1:${httpPort}`],
    ...['--scrape', `${REGION}:evaluation:http://127.0.0.1:${evalPort}`],
  ]);

  // The console route, outside the browser: the sidecar's rows and the join's outcome together.
  const api = await w.api(`/console/api/decisions/${fulfilled.decisionId}`, TOKENS.viewer);
  t.equal(api.status, 200);
  const record = api.json.record as { served_features: { node: string; features: Record<string, number> }[] };
  const rows = record.served_features;
  t.ok(rows.length >= 2, `${rows.length} served rows through the control plane`);
  const outcomeJson = api.json.outcome as { outcome: { state: string }; evaluation: string };
  t.equal(outcomeJson.outcome.state, 'resolved');
  t.equal(outcomeJson.evaluation, `http://127.0.0.1:${evalPort}`);

  const { page, consoleErrors } = await openBrowser(t);
  await signIn(page, w.url, TOKENS.viewer);
  await page.click('nav button:text-is("Decisions")');
  await page.fill('#decision-id', fulfilled.decisionId);
  await page.keyboard.press('Enter');
  await page.waitForSelector(`[data-decision="${fulfilled.decisionId}"]`, { timeout: 10_000 });

  // Served features: every candidate's column, every feature's value as the sidecar served it.
  const table = '[data-testid=served-features][data-sku="IN-STOCK"]';
  await page.waitForSelector(table);
  const names = Object.keys(rows[0]!.features);
  t.equal((await page.$$(`${table} tbody tr`)).length, names.length, 'one table row per feature');
  let cells = 0;
  for (const r of rows) {
    for (const name of names) {
      const shown = await page.getAttribute(
        `${table} tr[data-feature="${name}"] td[data-node="${r.node}"]`,
        'data-value',
      );
      if (Number(shown) === r.features[name]) cells++;
      else t.fail(`${r.node} ${name}: page ${shown}, sidecar ${r.features[name]}`);
    }
  }
  t.equal(cells, rows.length * names.length, `all ${cells} served values read back from the page`);

  // The outcome: fulfilled at the node the sidecar promised.
  t.equal(await page.getAttribute('[data-testid=order-outcome]', 'data-state'), 'resolved');
  const item = '[data-testid=order-outcome-items] tr[data-sku="IN-STOCK"]';
  t.equal(await page.getAttribute(item, 'data-status'), 'fulfilled');
  t.match(await page.textContent(item), new RegExp(`IN-STOCK2${node}fulfilled${node}2`));
  t.same(await unlabelledControls(page), [], 'explorer: every control labelled');
  await screenshot(page, 'viewer-decision-explorer-outcome');

  // The second decision: joined, no outcome yet.
  await page.fill('#decision-id', waiting.decisionId);
  await page.keyboard.press('Enter');
  await page.waitForSelector(`[data-decision="${waiting.decisionId}"]`, { timeout: 10_000 });
  t.equal(await page.getAttribute('[data-testid=order-outcome]', 'data-state'), 'pending');
  t.match(await page.textContent('[data-testid=order-outcome-items]'), /no outcome yet/);
  t.same(
    consoleErrors.filter((e) => !e.startsWith('Failed to load resource')),
    [],
    'no script error and no CSP violation',
  );

  // No evaluation service for a region: no outcome, and the reason says what to configure.
  const none = await outcomeFromEvaluation([], fulfilled.decisionId, 'us-east');
  t.equal(none.outcome, null);
  t.match(none.reason, /--scrape us-east:evaluation:URL/);
  // An evaluation service that does not know the id: no outcome, "not joined".
  const unknown = await outcomeFromEvaluation([`http://127.0.0.1:${evalPort}`], 'd-unknown', REGION);
  t.equal(unknown.outcome, null);
  t.match(unknown.reason, /not joined/);
});

t.test("an evaluation service's answer is parsed, bounded and refused naming the field", async (t) => {
  const good = {
    decision_id: 'd-1',
    ts_ms: 1,
    window_closes_at_ms: 2,
    state: 'resolved',
    items: [
      {
        sku: 'S1',
        qty: 1,
        promised: true,
        node: 'WH-1',
        outcome: {
          status: 'short-picked',
          node: 'WH-1',
          units_picked: 0,
          due_at_ms: 3,
          resolved_at_ms: 4,
          on_time: false,
        },
      },
    ],
  };
  t.equal(parseDecisionOutcome(good).items[0]!.outcome?.status, 'short-picked');
  const bad = (over: Record<string, unknown>, field: RegExp) => {
    let err: unknown = null;
    try {
      parseDecisionOutcome({ ...good, ...over });
    } catch (e) {
      err = e;
    }
    t.match((err as { field?: string } | null)?.field, field, `refused, naming ${field}`);
  };
  bad({ state: 'exploded' }, /^state$/);
  bad({ items: Array.from({ length: 201 }, () => good.items[0]) }, /^items$/);
  bad({ items: [{ ...good.items[0], sku: '<script>' }] }, /^items\[0\]\.sku$/);
  bad({ items: [{ ...good.items[0], outcome: { ...good.items[0]!.outcome, status: 'lost' } }] }, /status$/);
  bad({ ts_ms: Number.NaN }, /^ts_ms$/);

  // A sidecar's served rows: bounded, names checked; a non-finite value (JSON null) shows as null.
  const row = { sku: 'S1', node: 'WH-1', features: { qty: 1, stock_age_s: null } };
  t.same(parseServedFeatures([row])[0]!.features, { qty: 1, stock_age_s: null });
  t.same(parseServedFeatures(undefined), [], 'an older sidecar sends none');
  t.throws(() => parseServedFeatures(Array.from({ length: MAX_SERVED_ROWS + 1 }, () => row)), /at most/);
  t.throws(() => parseServedFeatures([{ ...row, features: { '<b>': 1 } }]), /bad feature name/);
  t.throws(() => parseServedFeatures([{ ...row, features: { qty: '1' } }]), /features\.qty/);
});
