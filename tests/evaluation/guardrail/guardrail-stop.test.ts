/**
 * The guardrail stops a bad challenger without a person (issue 13 item 4):
 * a real control plane runs two experiments, `atp-evaluate run` (built from
 * its own flags, --control-plane and --control-token-file) joins their
 * decisions and outcomes, and its monitor stops the challenger whose
 * lowered thresholds oversell, through the admin API: audited under the
 * monitor's operator token with the statistic in the reason. An experiment
 * whose challenger oversells no more than control is left running. The
 * decisions are generated here (a seeded world: buyers bucketed by the real
 * hash, oversell drawn per promise at each arm's true rate); everything
 * from the join on is the product.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { EvaluationService } from '../../../evaluation/src/evaluation-service.js';
import { runPartsFromFlags } from '../../../evaluation/src/main.js';
import { createLogger } from '../../../platform/src/logger.js';
import { Prng } from '../../../platform/src/prng.js';
import { parseControlSnapshot } from '../../../proto/v1/control-snapshot.js';
import { encodeDecisionEvent } from '../../../proto/v1/decision-event.js';
import { armForBucket, armTag, experimentBucket } from '../../../proto/v1/experiment.js';
import { encodeOutcome } from '../../../proto/v1/order-outcome.js';
import { ExperimentAssigner } from '../../../sidecar/src/experiments/experiment-assigner.js';
import {
  pushBody,
  startControlWorld,
  TOKENS,
  tempDir,
  waitFor,
  writeFakeBundle,
} from '../../control-plane/helpers/control-world.js';
import { decision, item, MIN, outcome, T0 } from '../join/join-stream.js';

type Obj = Record<string, unknown>;
const BUYERS = 3000;
const MIN_PROMISED = 300;
/** True oversell per promise: control, the bad challenger (thresholds lowered), a harmless one. */
const P_OVERSELL = { control: 0.02, bad: 0.12, same: 0.02 };
const STOP_SLO_MS = 2000;

const arms = (chal: string) => [
  { name: 'control', kind: 'naive', weight_bp: 5000 },
  {
    name: chal,
    kind: 'challenger',
    weight_bp: 5000,
    model_version: 'm-2',
    thresholds: { checkout_cold: 0.3, checkout_hot: 0.4 },
  },
];

t.test('a challenger that oversells is stopped by the guardrail, audited, without a person', async (t) => {
  const w = await startControlWorld(t);
  const dir = tempDir(t, 'atp-guardrail-');
  t.equal(
    (await w.post('/v1/models/push', pushBody(writeFakeBundle(join(dir, 'm2'), 'm-2', w.keys)), TOKENS.admin))
      .status,
    200,
  );
  const guardrail = { min_promised_per_arm: MIN_PROMISED, alpha: 0.05 };
  for (const [id, route, chal] of [
    ['ab-bad', '/checkout', 'bad'],
    ['ab-same', '/cart', 'same'],
  ] as const) {
    const r = await w.post(
      '/v1/experiments/create',
      {
        id,
        routes: [route],
        regions: ['eu-west'],
        arms: arms(chal),
        guardrail,
        start: true,
        reason: 'lowered thresholds',
      },
      TOKENS.operator,
    );
    t.equal(r.status, 200, JSON.stringify(r.json));
  }
  const startedAtMs = Date.now();

  // The world: each buyer's decisions go to the arm of its key's bucket; outcomes at each arm's true rate.
  const rng = new Prng(13);
  const decisions: string[] = [];
  const outcomes: string[] = [];
  for (let b = 0; b < BUYERS; b++) {
    const id = b % 2 === 0 ? 'ab-bad' : 'ab-same';
    const arm = armForBucket(
      arms(id === 'ab-bad' ? 'bad' : 'same').map((a) => ({ ...a, weightBp: a.weight_bp })),
      experimentBucket(id, `buyer-${b}`),
    );
    const name = arm?.name ?? 'control';
    const d = decision(`d-${b}`, T0 + b * 100, [item(`SKU-${b % 50}`, true)], {
      arm: armTag(id, name),
      experiment: id,
      enforced: name === 'control' ? 'naive' : 'model',
    });
    decisions.push(encodeDecisionEvent(d));
    const oversold = rng.float() < P_OVERSELL[name as keyof typeof P_OVERSELL];
    outcomes.push(
      encodeOutcome(outcome(d, `SKU-${b % 50}`, oversold ? 'short-picked' : 'fulfilled', d.tsMs + 5 * MIN)),
    );
  }
  const decisionsFile = join(dir, 'decisions.ndjson');
  const outcomesFile = join(dir, 'outcomes.ndjson');
  writeFileSync(decisionsFile, `${decisions.join('\n')}\n`);
  writeFileSync(outcomesFile, `${outcomes.join('\n')}\n`);
  const tokenFile = join(dir, 'operator.token');
  writeFileSync(tokenFile, `${TOKENS.operator}\n`);

  // atp-evaluate run --control-plane URL --control-token-file F, from its flags.
  const service = new EvaluationService(
    runPartsFromFlags(
      {
        region: 'eu-west',
        db: join(dir, 'eval.sqlite'),
        decisionsFile,
        outcomesFile,
        closeAll: true,
        httpPort: '0',
        controlPlane: w.url,
        controlTokenFile: tokenFile,
        guardrailPeriodMs: '200',
      },
      createLogger({ level: 'silent' }),
    ),
  );
  await service.start();
  t.teardown(() => service.stop());
  await service.finished();

  // The monitor stops the bad challenger by itself.
  await waitFor(() => (service.monitor?.stops.length ?? 0) > 0, 20_000, 'the guardrail to stop an arm');
  const stop = service.monitor?.stops[0];
  t.equal(stop?.experiment, 'ab-bad');
  t.equal(stop?.arm, 'bad');
  t.match(stop?.reason, /oversell-guardrail .*treatment-oversells-more.*p=.* <= alpha 0.05/);
  t.comment(
    `guardrail: experiment started -> arm stopped in ${(stop?.acceptedAtMs ?? 0) - startedAtMs} ms ` +
      `(decision -> accepted by the control plane ${(stop?.acceptedAtMs ?? 0) - (stop?.decidedAtMs ?? 0)} ms)`,
  );

  // Audited under the monitor's token, the reason naming the statistic.
  const audit = (await w.get('/v1/audit?action=experiment.arm-stop', TOKENS.viewer)).json.entries as Obj[];
  const entry = audit.find((a) => a.outcome === 'accepted');
  t.equal(entry?.target, 'ab-bad:bad');
  t.match(entry?.reason, /oversell-guardrail/);
  t.equal(entry?.actor, 'operator-1', 'the stop is the monitor token, no person');

  // The signed snapshot sidecars receive no longer serves the arm: a sidecar applying it maps its buckets to no arm.
  const snapshot = parseControlSnapshot((await w.get('/v1/snapshot', TOKENS.viewer)).json);
  const assigner = new ExperimentAssigner(() => snapshot, 'eu-west');
  const badKey = Array.from({ length: 100 }, (_, i) => `k-${i}`).find(
    (k) =>
      armForBucket(
        arms('bad').map((a) => ({ ...a, weightBp: a.weight_bp })),
        experimentBucket('ab-bad', k),
      )?.name === 'bad',
  );
  const tagged = assigner.assign({ id: 'ab-bad', bucket: experimentBucket('ab-bad', badKey ?? '') });
  t.equal(tagged?.arm, 'none');
  t.equal(tagged?.kind, 'naive', "a stopped arm's buckets get the control policy");
  t.ok(
    (stop?.acceptedAtMs ?? 0) - (stop?.decidedAtMs ?? 0) < STOP_SLO_MS,
    'published well inside 2 s of the decision',
  );

  // The harmless challenger keeps running; the report shows figures, intervals and the SRM check.
  await new Promise((r) => setTimeout(r, 600));
  t.equal(service.monitor?.stops.length, 1, 'nothing else was stopped');
  const report = await w.atpctl(
    ['experiment', 'report', 'ab-same', '--evaluation', `http://127.0.0.1:${service.httpPort}`],
    null,
  );
  t.equal(report.code, 0, report.stderr);
  t.match(report.stdout, /same\s+challenger\s+active/);
  t.match(report.stdout, /SRM: ok/);
  const json = (await (
    await fetch(`http://127.0.0.1:${service.httpPort}/v1/experiments/ab-bad`)
  ).json()) as Obj;
  const bad = (json.arms as Obj[]).find((a) => a.arm === 'bad') as Obj;
  t.equal(bad.state, 'stopped');
  t.ok(
    Number((bad.oversell_rate as Obj).lower) > P_OVERSELL.control,
    'the bad arm oversells significantly more',
  );
  const unknown = await fetch(`http://127.0.0.1:${service.httpPort}/v1/experiments/Bad_Id`);
  t.equal(unknown.status, 400, 'a malformed id is a 400 naming it');
});
