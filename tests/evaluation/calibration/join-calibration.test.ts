/**
 * Online calibration through the real join store (SQLite, in memory here:
 * the durability of the batch transaction is the join tests' subject): model promises with
 * p_fulfill and their outcomes build the reliability rows in the batch
 * transaction (duplicates and cancellations change nothing), the report and
 * /metrics show realized vs expected oversell and the ECE, and promises still
 * waiting for their outcome are estimated from their p before the outcomes land.
 */
import t from 'tap';
import { createEvaluationMetrics } from '../../../evaluation/src/evaluation-metrics.js';
import { OutcomeJoin } from '../../../evaluation/src/join/outcome-join.js';
import { SQLITE_MEMORY, SqliteJoinStore } from '../../../evaluation/src/join/sqlite-join-store.js';
import { buildReport, formatReport } from '../../../evaluation/src/report/evaluation-report.js';
import { Prng } from '../../../platform/src/prng.js';
import type { OutcomeStatus } from '../../../proto/v1/order-outcome.js';
import {
  batches,
  decision,
  dLine,
  item,
  MIN,
  oLine,
  outcome,
  REGION,
  type StreamLine,
  T0,
} from '../join/join-stream.js';

const CONFIG = { region: REGION, horizonMs: 60 * MIN, latenessMs: 10 * MIN };

/** n model decisions of one promise each; p in [0.9, 1); short-picked with probability failure(p). */
function stream(n: number, failure: (p: number) => number, resolvedShare: number) {
  const rng = new Prng(17);
  const lines: StreamLine[] = [];
  let expectedPending = 0;
  let pending = 0;
  let short = 0;
  let resolved = 0;
  for (let i = 0; i < n; i++) {
    const p = 0.9 + 0.1 * rng.float();
    const d = decision(`d-${i}`, T0 + i * 1000, [item(`S-${i}`, true, { pFulfill: p })]);
    lines.push(dLine(d));
    if (rng.float() >= resolvedShare) {
      pending++;
      expectedPending += 1 - p;
      continue;
    }
    const status: OutcomeStatus = rng.float() < failure(p) ? 'short-picked' : 'fulfilled';
    if (status === 'short-picked') short++;
    resolved++;
    const o = outcome(d, `S-${i}`, status, d.tsMs + MIN);
    lines.push(oLine(o), oLine(o)); // a producer duplicate: the first one counts
  }
  // A baseline-enforced promise and a cancellation: neither is a calibration observation.
  const base = decision('d-base', T0, [item('S-base', true, { pFulfill: 0.5 })], { enforced: 'baseline' });
  const cancelled = decision('d-cancel', T0, [item('S-cancel', true, { pFulfill: 0.95 })]);
  lines.push(dLine(base), oLine(outcome(base, 'S-base', 'short-picked', T0 + MIN)));
  lines.push(dLine(cancelled), oLine(outcome(cancelled, 'S-cancel', 'cancelled-buyer', T0 + MIN)));
  return { lines, pending, expectedPending, short, resolved };
}

t.test('calibrated promises: realized ~ expected, no alarm; pending ones estimated from p', async (t) => {
  const s = stream(2000, (p) => 1 - p, 0.75);
  const store = new SqliteJoinStore(SQLITE_MEMORY);
  t.teardown(() => store.close());
  const join = new OutcomeJoin(store, CONFIG);
  for (const b of batches(s.lines, 256)) join.apply(join.prepare(b));
  const [cal, ...others] = buildReport(store).calibration;
  t.equal(others.length, 0, 'one region x model version');
  t.equal(cal!.modelVersion, 'm1');
  t.equal(
    cal!.resolved.n,
    s.resolved,
    'each resolved model promise once: duplicates, baseline and cancellations left out',
  );
  t.ok(
    Math.abs(cal!.resolved.realizedFailureRate - s.short / s.resolved) < 1e-9,
    'realized = short-picked / resolved',
  );
  t.ok(
    Math.abs(cal!.resolved.realizedFailureRate - cal!.resolved.expectedFailureRate) < 0.015,
    'realized ~ expected',
  );
  t.notOk(cal!.resolved.alarm, `no alarm (ECE ${cal!.resolved.ece})`);
  t.equal(
    cal!.pending.promises,
    s.pending,
    'pending: the promises without an outcome (a cancellation is an outcome)',
  );
  t.ok(Math.abs(cal!.pending.expectedOversells - s.expectedPending) < 1e-6, 'estimated from their p');
  t.match(
    formatReport(buildReport(store)),
    /calibration eu-west m1: \d+ resolved: oversell .* realized vs .* expected, ECE/,
  );
  const text = await createEvaluationMetrics(store).registry.metrics();
  t.match(text, /atp_evaluation_online_ece\{region="eu-west",model_version="m1"\} 0\.0/);
  t.match(text, /atp_evaluation_calibration_alarm\{region="eu-west",model_version="m1"\} 0/);
  t.match(text, /atp_evaluation_pending_estimated_oversell_rate\{region="eu-west",model_version="m1"\} 0\.0/);
});

t.test('promises failing three times as often as their p says raise the calibration alarm', async (t) => {
  const s = stream(2000, (p) => Math.min(1, 3 * (1 - p)), 1);
  const store = new SqliteJoinStore(SQLITE_MEMORY);
  t.teardown(() => store.close());
  const join = new OutcomeJoin(store, CONFIG);
  for (const b of batches(s.lines, 256)) join.apply(join.prepare(b));
  const cal = buildReport(store).calibration[0]!;
  t.ok(cal.resolved.alarm, `alarm: ECE ${cal.resolved.ece}, HL p ${cal.resolved.hosmerLemeshow?.pValue}`);
  t.ok(cal.resolved.realizedFailureRate > 2.5 * cal.resolved.expectedFailureRate);
  const text = await createEvaluationMetrics(store).registry.metrics();
  t.match(text, /atp_evaluation_calibration_alarm\{region="eu-west",model_version="m1"\} 1/);
});
