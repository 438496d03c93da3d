/**
 * GET /v1/decisions/<id>/outcome of the join's HTTP edge, over a real SQLite
 * join store fed through the outcome join: a promised item's outcome (status,
 * node, units, times) once joined; `pending` while the window is open,
 * `unresolved` once it closed without one, `nothing-promised` for a denial;
 * still answered after the join itself forgot the decision (window closed);
 * the newest N item rows kept; 404 for an unknown id, 400 naming the field
 * for a malformed one.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join as joinPath } from 'node:path';
import { Registry } from 'prom-client';
import t, { type Test } from 'tap';
import { EvaluationHttpServer } from '../../../evaluation/src/evaluation-http-server.js';
import { OutcomeJoin } from '../../../evaluation/src/join/outcome-join.js';
import { OUTCOME_LOOKUP_ROWS } from '../../../evaluation/src/join/outcome-lookup.js';
import { SqliteJoinStore } from '../../../evaluation/src/join/sqlite-join-store.js';
import { runPartsFromFlags } from '../../../evaluation/src/main.js';
import { createLogger } from '../../../platform/src/logger.js';
import { batches, decision, dLine, item, MIN, oLine, outcome, REGION, T0 } from './join-stream.js';

const CONFIG = { region: REGION, horizonMs: 60 * MIN, latenessMs: 10 * MIN };

const dir = mkdtempSync(joinPath(tmpdir(), 'atp-eval-lookup-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

async function serve(t: Test, store: SqliteJoinStore) {
  const http = new EvaluationHttpServer(store, new Registry());
  const port = await http.start(0, '127.0.0.1');
  t.teardown(() => http.stop());
  return async (id: string) => {
    const res = await fetch(`http://127.0.0.1:${port}/v1/decisions/${id}/outcome`);
    return { status: res.status, json: (await res.json()) as Record<string, any> };
  };
}

t.test("a decision's items and outcomes, by id, through the window's close", async (t) => {
  const store = new SqliteJoinStore(joinPath(dir, 'join.sqlite'));
  t.teardown(() => store.close());
  const join = new OutcomeJoin(store, CONFIG);
  const get = await serve(t, store);
  const d1 = decision('d-1', T0, [item('S1', true, { qty: 2 }), item('S2', false, { nodeType: 'none' })]);
  const d2 = decision('d-2', T0 + MIN, [item('S3', true)]);
  const d3 = decision('d-3', T0 + 2 * MIN, [item('S4', false, { nodeType: 'none' })]);
  const o1 = outcome(d1, 'S1', 'fulfilled', T0 + 15 * MIN);
  // Later, both streams move past every window (one offset sequence per stream: one batches() call).
  const marker = decision('d-marker', T0 + 200 * MIN, [item('SX', true)]);
  const oMarker = outcome(marker, 'SX', 'short-picked', T0 + 201 * MIN);
  const all = batches([dLine(d1), dLine(d2), dLine(d3), oLine(o1), dLine(marker), oLine(oMarker)], 10);
  t.equal(all.length, 4);
  for (const b of all.slice(0, 2)) join.apply(join.prepare(b));

  const r1 = await get('d-1');
  t.equal(r1.status, 200);
  t.equal(r1.json.state, 'resolved', 'every promised item has its outcome');
  t.equal(r1.json.ts_ms, T0);
  t.same(r1.json.items[0], {
    sku: 'S1',
    qty: 2,
    promised: true,
    node: 'N-warehouse',
    outcome: {
      status: 'fulfilled',
      node: 'N-x',
      units_picked: 2,
      due_at_ms: T0 + 20 * MIN,
      resolved_at_ms: T0 + 15 * MIN,
      on_time: true,
    },
  });
  t.same(r1.json.items[1], { sku: 'S2', qty: 1, promised: false, node: '', outcome: null });
  t.equal((await get('d-2')).json.state, 'pending', 'promised, no outcome, window open');
  t.equal((await get('d-3')).json.state, 'nothing-promised');

  // The join closes and forgets d-1..d-3; the lookup keeps them.
  for (const b of all.slice(2)) join.apply(join.prepare(b));
  t.equal(store.decision('d-2'), undefined, "the join's own state of d-2 is gone");
  const r2 = await get('d-2');
  t.equal(r2.json.state, 'unresolved', 'the window closed without an outcome');
  t.equal((await get('d-1')).json.items[0].outcome.status, 'fulfilled', 'still answered after the close');
  t.equal((await get('d-marker')).json.items[0].outcome.status, 'short-picked');

  const unknown = await get('d-never');
  t.equal(unknown.status, 404);
  t.equal(unknown.json.error.code, 'ATP_ERR_NOT_FOUND');
  const bad = await get('bad%20id');
  t.equal(bad.status, 400);
  t.equal(bad.json.error.field, 'decision_id', 'the error names the field');
  t.equal((await get(`${'x'.repeat(129)}`)).status, 400, 'an id over 128 characters is refused');
});

t.test('only the newest item rows are kept', async (t) => {
  const store = new SqliteJoinStore(joinPath(dir, 'bounded.sqlite'), { outcomeLookupRows: 3 });
  t.teardown(() => store.close());
  const join = new OutcomeJoin(store, CONFIG);
  const get = await serve(t, store);
  const lines = [0, 1, 2, 3, 4].map((i) => dLine(decision(`d-${i}`, T0 + i * MIN, [item(`S${i}`, true)])));
  for (const b of batches(lines, 1)) join.apply(join.prepare(b));
  t.equal((await get('d-0')).status, 404, 'the oldest decision was pruned');
  t.equal((await get('d-1')).status, 404);
  for (const id of ['d-2', 'd-3', 'd-4']) t.equal((await get(id)).status, 200, `${id} kept`);
});

t.test(
  'atp-evaluate run --outcome-lookup-rows sets the bound; a bad value is refused naming the flag',
  async (t) => {
    const dir = mkdtempSync(joinPath(tmpdir(), 'atp-lookup-flag-'));
    t.teardown(() => rmSync(dir, { recursive: true, force: true }));
    const flags = (rows: string | undefined) => ({
      region: 'eu-west',
      db: joinPath(dir, 'eval.sqlite'),
      decisionsFile: joinPath(dir, 'd.ndjson'),
      outcomesFile: joinPath(dir, 'o.ndjson'),
      httpPort: 'off',
      ...(rows === undefined ? {} : { outcomeLookupRows: rows }),
    });
    const logger = createLogger({ level: 'silent' });
    t.equal(runPartsFromFlags(flags('5000'), logger).outcomeLookupRows, 5000);
    t.equal(runPartsFromFlags(flags(undefined), logger).outcomeLookupRows, OUTCOME_LOOKUP_ROWS);
    for (const bad of ['-1', 'many', '1e9'])
      t.throws(() => runPartsFromFlags(flags(bad), logger), { message: /--outcome-lookup-rows/ }, bad);
  },
);
