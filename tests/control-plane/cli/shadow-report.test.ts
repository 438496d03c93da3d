/**
 * `atpctl shadow report` over sidecar decision logs: counts of agreement and
 * disagreement between the model and the rules baseline, split by direction,
 * enforced side, mode, model version and region; the denying side's reasons;
 * sample decision ids. Records are written with the sidecar's own
 * serializer, so the report reads exactly what sidecars write.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { shadowReport } from '../../../control-plane/src/cli/shadow-report.js';
import type { Reason } from '../../../proto/v1/decision.js';
import {
  DECISION_LOG_SCHEMA,
  type DecisionLogRecord,
  decisionLogToJson,
  type SideOutcome,
} from '../../../sidecar/src/decision-log/decision-log-record.js';
import { startControlWorld, TOKENS, tempDir } from '../helpers/control-world.js';

const side = (available: boolean, reasons: Reason[]): SideOutcome => ({
  available,
  node: available ? 'WH-1' : '',
  p: available ? 0.97 : 0.4,
  unitsP10: 3,
  reasons,
});

function record(
  i: number,
  model: 'allow' | 'deny' | null,
  baseline: 'allow' | 'deny',
  over: Partial<DecisionLogRecord> = {},
): DecisionLogRecord {
  const m =
    model === null ? null : side(model === 'allow', model === 'allow' ? ['ATP_OK'] : ['BELOW_THRESHOLD']);
  const b = side(baseline === 'allow', baseline === 'allow' ? ['ATP_OK'] : ['INSUFFICIENT_ATP']);
  return {
    schema: DECISION_LOG_SCHEMA,
    ts: 1_700_000_000_000 + i,
    decisionId: `d-${i}`,
    requestId: `r-${i}`,
    region: 'eu-west',
    zone: 'Z1',
    channel: 'checkout',
    mode: 'shadow',
    enforced: 'baseline',
    decision: baseline,
    modelDecision: model,
    baselineDecision: baseline,
    modelVersion: 'gbdt-v3',
    rulesVersion: 'rules-x',
    degradations: [],
    latencyUs: 900,
    items: [
      {
        sku: `SKU-${i}`,
        qty: 1,
        hot: false,
        ratePerMin: 1,
        lagMs: 0,
        source: 'store',
        model: m,
        baseline: b,
        candidates: [],
        final: b,
        reservation: 'skipped',
      },
    ],
    ...over,
  };
}

function writeLog(path: string, recs: DecisionLogRecord[], extra: string[] = []): void {
  writeFileSync(path, [...recs.map((r) => JSON.stringify(decisionLogToJson(r))), ...extra].join('\n') + '\n');
}

t.test('counts disagreements by direction and groups, with reasons and samples', async (t) => {
  const dir = tempDir(t);
  const recs = [
    record(1, 'allow', 'allow'),
    record(2, 'allow', 'deny'),
    record(3, 'deny', 'allow'),
    record(4, 'deny', 'allow', {
      enforced: 'model',
      mode: 'enforce',
      decision: 'deny',
      modelVersion: 'gbdt-v2',
    }),
    record(5, null, 'allow'),
    record(6, 'deny', 'deny', { region: 'us-east' }),
  ];
  writeLog(join(dir, 'a.ndjson'), recs.slice(0, 3), ['{"event":"not a decision"}', 'garbage']);
  writeLog(join(dir, 'b.ndjson'), recs.slice(3));
  const r = await shadowReport([dir], 2);
  t.equal(r.files.length, 2);
  t.equal(r.records, 6);
  t.equal(r.skippedLines, 2);
  t.equal(r.compared, 5, 'a record without a model answer is not compared');
  t.equal(r.disagreements, 3);
  t.equal(r.modelAllowsBaselineDenies, 1);
  t.equal(r.modelDeniesBaselineAllows, 2);
  t.same(r.byEnforced, {
    baseline: { compared: 4, disagreements: 2 },
    model: { compared: 1, disagreements: 1 },
  });
  t.same(r.byModelVersion['gbdt-v2'], { compared: 1, disagreements: 1 });
  t.same(r.byRegion['us-east'], { compared: 1, disagreements: 0 });
  t.same(r.reasons, [
    { side: 'model', reason: 'BELOW_THRESHOLD', count: 2 },
    { side: 'baseline', reason: 'INSUFFICIENT_ATP', count: 1 },
  ]);
  t.same(
    r.samples.map((s) => s.decisionId),
    ['d-2', 'd-3'],
  );
  t.same(r.samples[0]?.skus, ['SKU-2']);
});

t.test('atpctl shadow report prints text and --json, and says what to do with a bad path', async (t) => {
  const w = await startControlWorld(t);
  const dir = tempDir(t);
  const file = join(dir, 'decisions.ndjson');
  writeLog(file, [record(1, 'allow', 'deny'), record(2, 'allow', 'allow')]);
  const text = await w.atpctl(['shadow', 'report', file], TOKENS.viewer);
  t.equal(text.code, 0, text.stderr);
  t.match(text.stdout, /disagreements 1 \(50.00%\)/);
  t.match(text.stdout, /baseline\s+INSUFFICIENT_ATP\s+1/);
  t.match(text.stdout, /d-1\s+eu-west\s+model allow\s+baseline deny/);
  const json = JSON.parse((await w.atpctl(['--json', 'shadow', 'report', file], TOKENS.viewer)).stdout);
  t.same([json.compared, json.disagreements, json.samples[0].decision_id], [2, 1, 'd-1']);
  const missing = await w.atpctl(['shadow', 'report', join(dir, 'nope.ndjson')], TOKENS.viewer);
  t.equal(missing.code, 2);
  t.match(missing.stderr, /cannot read decision logs[\s\S]*what to do: pass decision-log files/);
});
