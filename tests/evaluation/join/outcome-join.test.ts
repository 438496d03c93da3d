/**
 * The outcome join over a real SQLite file: hand-computed figures on a
 * crafted stream; the batch recomputation matched through duplicates,
 * disorder within the lateness, and restarts (with re-delivery); late records
 * and outcomes beyond the horizon change nothing; malformed records become
 * dead letters naming the field.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join as joinPath } from 'node:path';
import t from 'tap';
import { OutcomeJoin, type RecordBatch } from '../../../evaluation/src/join/outcome-join.js';
import { SqliteJoinStore } from '../../../evaluation/src/join/sqlite-join-store.js';
import { buildReport } from '../../../evaluation/src/report/evaluation-report.js';
import { Prng } from '../../../platform/src/prng.js';
import {
  batches,
  decision,
  dLine,
  item,
  MIN,
  oLine,
  orderedLines,
  outcome,
  plain,
  REGION,
  randomWorld,
  recompute,
  type StreamLine,
  segmentsByKey,
  T0,
  tLine,
  truth,
  wilson95,
} from './join-stream.js';

const HORIZON_MS = 60 * MIN;
const LATENESS_MS = 10 * MIN;
const CONFIG = { region: REGION, horizonMs: HORIZON_MS, latenessMs: LATENESS_MS };

const dir = mkdtempSync(joinPath(tmpdir(), 'atp-eval-join-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
let dbSeq = 0;
const freshDb = () => joinPath(dir, `join-${dbSeq++}.sqlite`);

function run(store: SqliteJoinStore, bs: readonly RecordBatch[]): void {
  const join = new OutcomeJoin(store, CONFIG);
  for (const b of bs) join.apply(join.prepare(b));
}

t.test('a crafted stream gives the hand-computed counts and Wilson intervals', async (t) => {
  const d1 = decision('d1', T0, [item('S1', true)]);
  const d2 = decision('d2', T0 + MIN, [item('S2', true)]);
  const d3 = decision('d3', T0 + 2 * MIN, [item('S3', true)]);
  const d4 = decision('d4', T0 + 3 * MIN, [item('S4', true, { nodeType: 'store', hot: true })]);
  const d5 = decision('d5', T0 + 4 * MIN, [item('S5', false, { nodeType: 'seller' })]);
  const d6 = decision('d6', T0 + 5 * MIN, [item('S6', false, { nodeType: 'seller' })]);
  const d7 = decision('d7', T0 + 6 * MIN, [item('S7', true)]);
  const d8 = decision('d8', T0 + 7 * MIN, [item('S8', true), item('S9', false, { nodeType: 'none' })], {
    arm: 'challenger',
    degradations: ['model'],
  });
  const marker = decision('d-late-marker', T0 + 180 * MIN, [item('SX', false, { nodeType: 'none' })], {
    arm: 'marker',
  });
  const lines: StreamLine[] = [
    dLine(d1),
    oLine(outcome(d2, 'S2', 'short-picked', T0 + 20 * MIN)), // before its decision: waits as an orphan
    dLine(d2),
    dLine(d1), // duplicate decision
    dLine(d3),
    oLine(outcome(d1, 'S1', 'fulfilled', T0 + 15 * MIN)),
    dLine(d4),
    dLine(d5),
    tLine(truth(d5, 'S5', true)), // denied though stock was there: a false denial
    dLine(d6),
    tLine(truth(d6, 'S6', false)),
    oLine(outcome(d1, 'S1', 'fulfilled', T0 + 15 * MIN)), // duplicate outcome
    dLine(d7),
    dLine(d8),
    oLine(outcome(d3, 'S3', 'fulfilled', T0 + 40 * MIN, false)), // fulfilled late
    oLine(outcome(d4, 'S4', 'cancelled-buyer', T0 + 30 * MIN)), // arrives behind a newer event: within lateness
    oLine(outcome(d8, 'S8', 'fulfilled', T0 + 25 * MIN)),
    oLine(outcome(d7, 'S7', 'fulfilled', d7.tsMs + HORIZON_MS + MIN)), // resolved beyond the horizon
    // A decision and its truth 3 h later move both streams, hence the watermark, past every window above.
    dLine(marker),
    tLine(truth(marker, 'SX', false)),
    oLine(outcome(d7, 'S7', 'fulfilled', T0 + 30 * MIN)), // its window closed: late
    dLine(d1), // its window closed: late
  ];
  const store = new SqliteJoinStore(freshDb());
  t.teardown(() => store.close());
  run(store, batches(lines, 3));
  const report = buildReport(store, { region: REGION });
  const seg = (arm: string, nodeType: string, hotness = 'cold', degraded = 'healthy') =>
    report.segments.find(
      (r) =>
        r.arm === arm &&
        r.segment?.nodeType === nodeType &&
        r.segment.hotness === hotness &&
        r.segment.degraded === degraded,
    );
  // Champion warehouse/cold: d1 fulfilled on time, d2 short-picked, d3 fulfilled late, d7 unresolved.
  t.match(seg('champion', 'warehouse')?.counts, {
    requested: 4,
    promised: 4,
    outcomes: 3,
    fulfilled: 2,
    on_time: 1,
    short_picked: 1,
    unresolved: 1,
  });
  t.match(seg('champion', 'store', 'hot')?.counts, {
    requested: 1,
    promised: 1,
    outcomes: 1,
    cancelled_buyer: 1,
  });
  t.match(seg('champion', 'seller')?.counts, {
    requested: 2,
    promised: 0,
    truth_known: 2,
    truth_available: 1,
    denied_truth: 2,
    false_denied: 1,
  });
  t.match(seg('challenger', 'warehouse', 'cold', 'degraded')?.counts, {
    requested: 1,
    promised: 1,
    fulfilled: 1,
    on_time: 1,
  });
  t.match(seg('challenger', 'none', 'cold', 'degraded')?.counts, { requested: 1, promised: 0 });

  const champion = report.totals.find((r) => r.arm === 'champion');
  t.ok(champion, 'a champion roll-up');
  const r = champion!.rates;
  const expect = (
    got: { rate: number | null; lower: number | null; upper: number | null },
    x: number,
    n: number,
    what: string,
  ) => {
    const w = wilson95(x, n);
    t.equal(got.rate, w.rate, `${what} = ${x}/${n}`);
    t.ok(
      Math.abs((got.lower ?? -1) - w.lower) < 1e-12 && Math.abs((got.upper ?? -1) - w.upper) < 1e-12,
      `${what}: Wilson 95% interval`,
    );
  };
  expect(r.promiseRate, 5, 7, 'promise rate');
  expect(r.oversellRate, 1, 3, 'realized oversell (short / picked)');
  expect(r.fulfilmentReliability, 1, 3, 'reliability (on time / outcomes not cancelled by the buyer)');
  expect(r.conversionProxy, 2, 7, 'conversion proxy (fulfilled / requested)');
  expect(r.falseDenialRate, 1, 2, 'false denials (denied with stock / denied with truth)');
  t.equal(
    seg('champion', 'store', 'hot')?.rates.fulfilmentReliability.rate,
    null,
    'no denominator: null, not 0',
  );

  t.match(report.counters, {
    duplicate_decisions: 1,
    duplicate_outcomes: 1,
    beyond_horizon: 1,
    late_outcomes: 1,
    late_decisions: 1,
    dead_lettered: 0,
    records_applied: lines.length,
  });
  t.equal(report.pendingDecisions, 1, 'only the marker decision is still open');
});

t.test('duplicates, disorder within the lateness and restarts give the batch recomputation', async (t) => {
  const world = randomWorld(600, 7);
  const expected = plain(recompute(world, HORIZON_MS));
  const ordered = orderedLines(world);
  // Disorder: swap neighbours up to 5 positions apart (records 20 s apart: well within the lateness);
  // duplicate one line in 15 (a producer retry writes it twice).
  const rnd = new Prng(11);
  const lines: StreamLine[] = [];
  for (const l of ordered) {
    lines.push(l);
    if (rnd.float() < 1 / 15) lines.push(l);
  }
  for (let i = 0; i < lines.length; i++) {
    const j = Math.min(lines.length - 1, i + rnd.index(6));
    [lines[i], lines[j]] = [lines[j] as StreamLine, lines[i] as StreamLine];
  }
  const all = batches(lines, 17);
  const end = decision('d-end', T0 + 1_000 * MIN, [item('SE', false, { nodeType: 'none' })], {
    arm: 'marker',
  });
  const closing = batches([dLine(end), tLine(truth(end, 'SE', false))], 1).map((b) => ({
    ...b,
    records: b.records.map((r) => ({ ...r, offset: 1_000_000 })),
  }));

  // Uninterrupted.
  const one = new SqliteJoinStore(freshDb());
  t.teardown(() => one.close());
  run(one, [...all, ...closing]);
  // Restarted twice, each time re-delivering the batches before the crash point (as Kafka does when
  // the offset commit was lost after the SQLite commit).
  const path = freshDb();
  const cuts = [Math.floor(all.length / 3), Math.floor((2 * all.length) / 3)];
  let s = new SqliteJoinStore(path);
  run(s, all.slice(0, cuts[0]));
  s.close();
  s = new SqliteJoinStore(path);
  run(s, all.slice(0, cuts[1])); // re-delivers everything before cut 0
  s.close();
  s = new SqliteJoinStore(path);
  t.teardown(() => s.close());
  run(s, all.slice((cuts[1] ?? 0) - 5)); // re-delivers five batches
  run(s, closing);

  const marker = (m: Map<string, unknown>) => new Map([...m].filter(([k]) => !k.includes('|marker|')));
  const gotOne = plain(marker(segmentsByKey(buildReport(one).segments)) as never);
  const gotRestarted = plain(marker(segmentsByKey(buildReport(s).segments)) as never);
  t.same(gotOne, expected, 'uninterrupted run = batch recomputation');
  t.same(gotRestarted, expected, 'restarted run = batch recomputation');
  const c = buildReport(s).counters;
  t.ok(c.records_replayed > 0, `re-delivered records were skipped (${c.records_replayed})`);
  t.equal(c.records_applied, lines.length + 2, 'every record applied exactly once');
  t.equal(buildReport(s).pendingDecisions, 1, 'every window but the closing marker closed');
  t.ok(c.duplicate_decisions + c.duplicate_outcomes > 0, 'duplicates were seen and ignored');
  t.equal(c.late_outcomes + c.late_decisions + c.orphaned_outcomes, 0, 'nothing was late');
});

t.test('a record arriving later than the lateness changes no figure and is counted late', async (t) => {
  const d = decision('d1', T0, [item('S1', true)]);
  const store = new SqliteJoinStore(freshDb());
  t.teardown(() => store.close());
  const withinLateness = [
    dLine(d),
    dLine(decision('d2', T0 + HORIZON_MS + LATENESS_MS - 1, [item('S2', false, { nodeType: 'none' })])),
    oLine(outcome(d, 'S1', 'short-picked', T0 + 5 * MIN)),
  ];
  run(store, batches(withinLateness, 10));
  t.match(
    buildReport(store).totals[0]?.counts,
    { short_picked: 1, unresolved: 0 },
    'one ms inside the window: counted',
  );

  const other = new SqliteJoinStore(freshDb());
  t.teardown(() => other.close());
  const beyondLateness = [
    dLine(d),
    dLine(decision('d2', T0 + HORIZON_MS + LATENESS_MS, [item('S2', false, { nodeType: 'none' })])),
    oLine(outcome(d, 'S1', 'short-picked', T0 + 5 * MIN)),
  ];
  run(other, batches(beyondLateness, 10));
  t.match(
    buildReport(other).totals[0]?.counts,
    { short_picked: 0, unresolved: 1 },
    'window closed: unresolved, not oversold',
  );
  t.equal(buildReport(other).counters.late_outcomes, 1);
});

t.test('an outcome whose decision never comes is dropped as orphaned when its window closes', async (t) => {
  const ghost = decision('ghost', T0, [item('S1', true)]);
  const store = new SqliteJoinStore(freshDb());
  t.teardown(() => store.close());
  // The outcomes partition is caught up after its batch (idle), so the decisions alone move the watermark.
  run(
    store,
    batches([oLine(outcome(ghost, 'S1', 'fulfilled', T0 + MIN))], 10).map((b) => ({ ...b, caughtUp: true })),
  );
  t.equal(buildReport(store).pendingOrphans, 1, 'waits for its decision');
  run(
    store,
    batches([dLine(decision('d9', T0 + 2 * HORIZON_MS, [item('S9', false, { nodeType: 'none' })]))], 10),
  );
  const r = buildReport(store);
  t.equal(r.pendingOrphans, 0);
  t.equal(r.counters.orphaned_outcomes, 1);
});

t.test('a partition that is ahead closes no window while another has records to deliver', async (t) => {
  const d = decision('d1', T0, [item('S1', true)]);
  const store = new SqliteJoinStore(freshDb());
  t.teardown(() => store.close());
  const join = new OutcomeJoin(store, CONFIG);
  // Two decision partitions with a backlog; partition 1 is read entirely first (a backfill).
  join.registerPartitions([
    { source: 'atp.decisions.eu-west', partition: 0, endOffset: 1 },
    { source: 'atp.decisions.eu-west', partition: 1, endOffset: 1 },
    { source: 'order.outcomes.eu-west', partition: 0, endOffset: 0 },
  ]);
  const later = decision('d2', T0 + 5 * HORIZON_MS, [item('S2', false, { nodeType: 'none' })]);
  const feed = (partition: number, line: StreamLine, caughtUp: boolean) =>
    join.apply(join.prepare({ ...batches([line], 1)[0]!, partition, caughtUp }));
  feed(1, dLine(later), true);
  t.equal(store.watermarkMs(), 0, 'partition 0 has not delivered: the watermark waits');
  feed(0, dLine(d), false);
  join.apply(
    join.prepare({ ...batches([oLine(outcome(d, 'S1', 'short-picked', T0 + MIN))], 1)[0]!, caughtUp: true }),
  );
  const r = buildReport(store);
  t.equal(r.counters.late_decisions, 0);
  t.match(
    r.totals[0]?.counts,
    { promised: 1, short_picked: 1 },
    'the older decision and its outcome counted',
  );
});

t.test('malformed records become dead letters naming the field; the rest of the batch applies', async (t) => {
  const d = decision('d1', T0, [item('S1', true)]);
  const store = new SqliteJoinStore(freshDb());
  t.teardown(() => store.close());
  const join = new OutcomeJoin(store, CONFIG);
  const good = dLine(d).text;
  const bad = (mut: (o: Record<string, unknown>) => void) => {
    const o = JSON.parse(good) as Record<string, unknown>;
    mut(o);
    return JSON.stringify(o);
  };
  const values = [
    '{not json',
    bad((o) => {
      o.request_id = 'r-1';
    }),
    bad((o) => {
      o.region = 'us-east';
      o.decision_id = 'd-us';
    }),
    bad((o) => {
      (o.items as Record<string, unknown>[])[0]!.qty = 0;
    }),
    good,
  ];
  const p = join.prepare({
    stream: 'decisions',
    source: 'atp.decisions.eu-west',
    partition: 2,
    records: values.map((v, i) => ({ offset: 40 + i, key: null, value: v })),
  });
  t.same(
    p.deadLetters.map((l) => [l.offset, l.field]),
    [
      [40, '$'],
      [41, 'request_id'],
      [42, 'region'],
      [43, 'items[0].qty'],
    ],
  );
  t.ok(p.deadLetters.every((l) => l.code === 'ATP_ERR_EVALUATION_MALFORMED_RECORD' && l.reason.length > 0));
  const outcomeBad = join.prepare({
    stream: 'outcomes',
    source: 'order.outcomes.eu-west',
    partition: 0,
    records: [{ offset: 0, key: null, value: JSON.stringify({ schema: 'something.else.v1' }) }],
  });
  t.equal(outcomeBad.deadLetters[0]?.field, 'schema');
  join.apply(p);
  const r = buildReport(store);
  t.equal(r.counters.dead_lettered, 4);
  t.equal(r.totals[0]?.counts.requested, 1, 'the valid record of the batch counted');
  t.same(
    store.offsets(),
    [{ source: 'atp.decisions.eu-west', partition: 2, next_offset: 45 }],
    'offset past the dead letters',
  );
});

t.test('a batch that fails half-way leaves no trace; its re-delivery counts once', async (t) => {
  const world = randomWorld(120, 21);
  const all = batches(orderedLines(world), 25);
  const reference = new SqliteJoinStore(freshDb());
  t.teardown(() => reference.close());
  run(reference, all);

  const store = new SqliteJoinStore(freshDb());
  t.teardown(() => store.close());
  const join = new OutcomeJoin(store, CONFIG);
  const failAt = Math.floor(all.length / 2);
  const original = store.addAggregate.bind(store);
  for (const [i, b] of all.entries()) {
    const p = join.prepare(b);
    if (i === failAt) {
      // The disk fails while the batch's figures are written (after its records were applied in the transaction).
      store.addAggregate = () => {
        throw new Error('disk I/O error');
      };
      t.throws(() => join.apply(p), /disk I\/O error/);
      store.addAggregate = original;
      join.apply(join.prepare(b)); // re-delivered
    } else {
      join.apply(p);
    }
  }
  t.same(
    buildReport(store).segments,
    buildReport(reference).segments,
    'same figures as a run without the failure',
  );
  t.same(buildReport(store).counters, buildReport(reference).counters, 'same counters');
  t.equal(store.watermarkMs(), reference.watermarkMs());
});
