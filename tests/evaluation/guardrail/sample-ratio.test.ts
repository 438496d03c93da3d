/**
 * The experiment's sample-ratio check (issue 13 acceptance): buyers are
 * assigned by the real bucket hash of their key under a 50/50 experiment and
 * the assessment looks after every batch of units, as the guardrail monitor
 * does. A clean run never trips it (alpha 0.001, valid under continuous
 * looking); an injected 45/55 imbalance (a share of one arm's decisions
 * lost, as a logging fault would) trips it.
 */
import t from 'tap';
import {
  assessExperiment,
  type ExperimentAssessment,
} from '../../../evaluation/src/guardrail/experiment-assessment.js';
import { emptyCounts } from '../../../evaluation/src/join/join-counts.js';
import type { EvaluationReport } from '../../../evaluation/src/report/evaluation-report.js';
import { Prng } from '../../../platform/src/prng.js';
import { armForBucket, armTag, type Experiment, experimentBucket } from '../../../proto/v1/experiment.js';

const UNITS = 20_000;
const LOOK_EVERY = 250;
const CLEAN_RUNS = 10;

function experiment(salt: string): Experiment {
  return {
    id: 'ab-srm',
    revision: 1,
    state: 'running',
    salt,
    routes: ['/checkout'],
    regions: ['eu-west'],
    arms: [
      { name: 'control', kind: 'naive', weightBp: 5000, state: 'active' },
      { name: 'model', kind: 'champion', weightBp: 5000, state: 'active' },
    ],
    guardrail: { enabled: true, alpha: 0.05, minPromisedPerArm: 500, margin: 0 },
  };
}

/** The join's roll-ups as the monitor reads them: one row per arm tag with its items decided. */
function report(e: Experiment, requested: Record<string, number>): EvaluationReport {
  return {
    totals: e.arms.map((a) => ({
      region: 'eu-west',
      arm: armTag(e.id, a.name),
      modelVersion: 'm1',
      segment: null,
      counts: { ...emptyCounts(), requested: requested[a.name] ?? 0 },
    })),
  } as unknown as EvaluationReport;
}

/** Runs UNITS buyers through the assignment, dropping `model` units with probability `drop`; returns the first look that tripped, or null. */
function run(
  salt: string,
  drop: number,
  seed: number,
): { trippedAt: number | null; last: ExperimentAssessment | undefined } {
  const e = experiment(salt);
  const rng = new Prng(seed);
  const requested: Record<string, number> = { control: 0, model: 0 };
  let last: ExperimentAssessment | undefined;
  for (let u = 1; u <= UNITS; u++) {
    const arm = armForBucket(e.arms, experimentBucket(salt, `buyer-${seed}-${u}`))?.name ?? '?';
    if (arm === 'model' && rng.float() < drop) continue;
    requested[arm] = (requested[arm] ?? 0) + 1;
    if (u % LOOK_EVERY === 0) {
      last = assessExperiment(e, report(e, requested), last);
      if (last.srm?.mismatch === true) return { trippedAt: u, last };
    }
  }
  return { trippedAt: null, last };
}

t.test('a clean 50/50 assignment never trips the SRM check, looked at every 250 units', async (t) => {
  for (let i = 0; i < CLEAN_RUNS; i++) {
    const r = run(`salt-${i}`, 0, i + 1);
    t.equal(
      r.trippedAt,
      null,
      `run ${i}: p=${r.last?.srm?.pValue.toPrecision(3)} after ${r.last?.srm?.checks} looks`,
    );
    t.equal(r.last?.srm?.alpha, 0.001);
  }
});

t.test('an injected 45/55 imbalance trips it', async (t) => {
  // Keeping 45/55 of one arm's units turns 50/50 into 45/55.
  const r = run('salt-x', 1 - 45 / 55, 99);
  t.not(r.trippedAt, null, 'tripped');
  t.comment(`45/55 tripped after ${r.trippedAt} units (p=${r.last?.srm?.pValue.toPrecision(3)})`);
  t.ok((r.last?.srm?.pValue ?? 1) <= 0.001);
});
