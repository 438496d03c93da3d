/**
 * `atpctl shadow report --outcomes`: shadow disagreements joined with order
 * outcomes and stock truths say, per disagreement class, which side was
 * right. A crafted shadow-mode decision stream (the rules baseline enforced,
 * the model's answer alongside) where each disagreeing item has a known
 * verdict: realized outcomes decide promised items, stock truths the rest,
 * cancellations decide nothing, the first outcome of a (decision, sku)
 * counts, a decision-log record is read too, and malformed outcome lines are
 * skipped and counted.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { shadowVerdicts } from '../../../control-plane/src/cli/shadow-verdicts.js';
import { type DecisionEvent, encodeDecisionEvent } from '../../../proto/v1/decision-event.js';
import { encodeOutcome, type OutcomeStatus } from '../../../proto/v1/order-outcome.js';
import { encodeStockTruth } from '../../../proto/v1/stock-truth.js';
import { startControlWorld, TOKENS, tempDir } from '../helpers/control-world.js';

const T = 1_767_571_200_000;

/** A shadow decision of one item: the baseline enforced (so `promised` is the baseline's answer). */
function shadow(id: string, model: boolean, baseline: boolean): DecisionEvent {
  return {
    decisionId: id,
    region: 'eu-west',
    tsMs: T,
    channel: 'checkout',
    mode: 'shadow',
    enforced: 'baseline',
    arm: 'none',
    modelVersion: 'm1',
    rulesVersion: 'r1',
    degradations: [],
    items: [
      {
        sku: `S-${id}`,
        qty: 1,
        hot: false,
        promised: baseline,
        node: 'WH-1',
        nodeType: 'warehouse',
        pFulfill: 0.9,
        modelAvailable: model,
        baselineAvailable: baseline,
      },
    ],
  };
}

const out = (id: string, status: OutcomeStatus) =>
  encodeOutcome({
    outcomeId: `${id}:S-${id}`,
    decisionId: id,
    region: 'eu-west',
    sku: `S-${id}`,
    node: 'WH-1',
    qty: 1,
    status,
    unitsPicked: status === 'fulfilled' ? 1 : 0,
    promisedAtMs: T,
    dueAtMs: T + 60_000,
    resolvedAtMs: T + 30_000,
    onTime: status === 'fulfilled',
  });
const truth = (id: string, available: boolean) =>
  encodeStockTruth({ decisionId: id, region: 'eu-west', sku: `S-${id}`, qty: 1, available, decidedAtMs: T });

function writeFiles(dir: string): { decisions: string; outcomes: string } {
  const decisions = join(dir, 'decisions.ndjson');
  const outcomes = join(dir, 'outcomes.ndjson');
  const events = [
    shadow('a1', true, false), // model allows, baseline denies; truth: stock there -> model right
    shadow('a2', true, false), // truth: no stock -> baseline right
    shadow('a3', true, false), // no evidence -> undecided
    shadow('b1', false, true), // model denies, baseline allows; short-picked -> model right
    shadow('b2', false, true), // fulfilled -> baseline right
    shadow('b3', false, true), // cancelled by the buyer (says nothing), truth: stock there -> baseline right
    shadow('c1', true, true), // agreement: not counted
  ];
  const decisionLog = {
    schema: 'atp.decision-log.v1',
    decision_id: 'L1',
    items: [{ sku: 'S-L1', model: { available: true }, baseline: { available: false } }],
  };
  writeFileSync(
    decisions,
    `${[...events.map(encodeDecisionEvent), JSON.stringify(decisionLog), encodeDecisionEvent(events[0] as DecisionEvent)].join('\n')}\n`,
  );
  writeFileSync(
    outcomes,
    `${[
      truth('a1', true),
      truth('a2', false),
      out('b1', 'short-picked'),
      out('b1', 'fulfilled'), // a later duplicate: the first outcome counts
      truth('b1', true), // an outcome outranks a truth
      out('b2', 'fulfilled'),
      out('b3', 'cancelled-buyer'),
      truth('b3', true),
      truth('L1', false), // decision-log record: model allowed, no stock -> baseline right
      '{"schema":"order.outcome.v1","decision_id":"x"}',
      'not json',
    ].join('\n')}\n`,
  );
  return { decisions, outcomes };
}

t.test('each disagreement class is credited to the side the outcomes proved right', async (t) => {
  const f = writeFiles(tempDir(t));
  const v = await shadowVerdicts([f.decisions], [f.outcomes]);
  t.same(v.classes.model_allows_baseline_denies, {
    items: 4,
    modelRight: 1,
    baselineRight: 2,
    undecided: 1,
    modelRightShare: 1 / 3,
    evidence: { fulfilled: 0, shortPicked: 0, truthAvailable: 1, truthUnavailable: 2 },
  });
  t.same(v.classes.model_denies_baseline_allows, {
    items: 3,
    modelRight: 1,
    baselineRight: 2,
    undecided: 0,
    modelRightShare: 1 / 3,
    evidence: { fulfilled: 1, shortPicked: 1, truthAvailable: 1, truthUnavailable: 0 },
  });
  t.equal(v.skippedOutcomeLines, 2, 'the malformed outcome and the non-JSON line');
  t.equal(v.outcomes, 4);
  t.equal(v.truths, 5);
});

t.test('atpctl shadow report --outcomes prints the verdicts and --json carries them', async (t) => {
  const w = await startControlWorld(t);
  const f = writeFiles(tempDir(t));
  const text = await w.atpctl(['shadow', 'report', f.decisions, '--outcomes', f.outcomes], TOKENS.viewer);
  t.equal(text.code, 0, text.stderr);
  t.match(
    text.stdout,
    /model allows \/ baseline denies: 4 item\(s\); model right 1, baseline right 2, undecided 1: the baseline was right more often/,
  );
  t.match(text.stdout, /model denies \/ baseline allows: 3 item\(s\); model right 1, baseline right 2/);
  const json = JSON.parse(
    (await w.atpctl(['--json', 'shadow', 'report', f.decisions, '--outcomes', f.outcomes], TOKENS.viewer))
      .stdout,
  );
  t.match(json.outcomes.classes.model_denies_baseline_allows, {
    items: 3,
    model_right: 1,
    baseline_right: 2,
  });
  const missing = await w.atpctl(
    ['shadow', 'report', f.decisions, '--outcomes', join(f.outcomes, 'nope')],
    TOKENS.viewer,
  );
  t.equal(missing.code, 2);
  t.match(missing.stderr, /cannot read decision logs or outcomes/);
});
