/**
 * The oversell guardrail, asked after every batch of outcomes: a treatment
 * that oversells no more than control is (almost) never stopped; one that
 * oversells twice as much is stopped, never before the minimum sample; one
 * that oversells less is never stopped; the stop is sticky and the audit
 * numbers agree with it.
 */
import t from 'tap';
import { EVALUATION_ERR } from '../../../evaluation/src/evaluation-errors.js';
import {
  DEFAULT_GUARDRAIL_ALPHA,
  DEFAULT_MIN_PROMISED_PER_ARM,
  type GuardrailDecision,
  type GuardrailOptions,
  oversellGuardrail,
} from '../../../evaluation/src/stats/oversell-guardrail.js';
import { throwsCoded } from './expect-error.js';
import { binomial, monteCarloSlack, Prng } from './simulation.js';

const CHECKS = 2000;
/** Promises per arm between two checks. */
const BATCH = 20;

interface GuardrailRun {
  /** Promises per arm when it stopped, or 0. */
  stoppedAt: number;
  /** The last decision, stopped or not. */
  last: GuardrailDecision | undefined;
}

function runGuardrail(seed: number, pT: number, pC: number, options: GuardrailOptions = {}): GuardrailRun {
  const random = new Prng(seed);
  const treatment = { promised: 0, oversold: 0 };
  const control = { promised: 0, oversold: 0 };
  let last: GuardrailDecision | undefined;
  for (let check = 0; check < CHECKS; check++) {
    treatment.oversold += binomial(random, BATCH, pT);
    treatment.promised += BATCH;
    control.oversold += binomial(random, BATCH, pC);
    control.promised += BATCH;
    last = oversellGuardrail({ treatment, control }, options, last);
    if (last.action === 'stop') return { stoppedAt: treatment.promised, last };
  }
  return { stoppedAt: 0, last };
}

t.test('A/A at oversell rates of 2% and 0.5%: false stops stay under alpha', async (t) => {
  for (const [p, runs, seedBase] of [
    [0.02, 500, 80_000],
    [0.005, 300, 90_000],
  ] as const) {
    const started = performance.now();
    let stops = 0;
    for (let run = 0; run < runs; run++) if (runGuardrail(seedBase + run, p, p).stoppedAt > 0) stops++;
    const rate = stops / runs;
    t.comment(
      `A/A oversell ${p}, ${BATCH} promises/arm per check, ${CHECKS} checks, ${runs} runs: ` +
        `false stops ${rate} at alpha ${DEFAULT_GUARDRAIL_ALPHA}; ${((performance.now() - started) / 1000).toFixed(1)} s`,
    );
    t.ok(
      rate <= DEFAULT_GUARDRAIL_ALPHA + monteCarloSlack(DEFAULT_GUARDRAIL_ALPHA, runs),
      `false stops ${rate}`,
    );
  }
});

t.test('a challenger that oversells 4% against 2% is stopped, never before the minimum sample', async (t) => {
  const runs = 200;
  const stops: number[] = [];
  for (let run = 0; run < runs; run++) {
    const r = runGuardrail(100_000 + run, 0.04, 0.02);
    if (r.stoppedAt > 0) stops.push(r.stoppedAt);
    if (r.last?.action === 'stop') {
      t.ok(r.last.lowerBound > r.last.margin, 'the lower bound cleared the margin');
    }
  }
  stops.sort((a, b) => a - b);
  const median = stops[Math.floor(stops.length / 2)] ?? 0;
  t.comment(
    `4% vs 2%: stopped in ${stops.length} of ${runs} runs; promises per arm at the stop: ` +
      `min ${stops[0]}, median ${median}, max ${stops[stops.length - 1]}`,
  );
  t.equal(stops.length, runs, 'every run is stopped');
  t.ok((stops[0] ?? 0) >= DEFAULT_MIN_PROMISED_PER_ARM, 'never before the minimum sample');
});

t.test('a challenger that oversells less is never stopped (one-sided)', async (t) => {
  let stops = 0;
  for (let run = 0; run < 100; run++) if (runGuardrail(110_000 + run, 0.01, 0.02).stoppedAt > 0) stops++;
  t.equal(stops, 0);
});

t.test('a margin tolerates a small excess', async (t) => {
  // 2.3% vs 2% is within a 0.5-point margin: H0 holds, stops stay rare.
  let stops = 0;
  const runs = 100;
  for (let run = 0; run < runs; run++) {
    if (runGuardrail(120_000 + run, 0.023, 0.02, { margin: 0.005 }).stoppedAt > 0) stops++;
  }
  t.ok(
    stops / runs <= DEFAULT_GUARDRAIL_ALPHA + monteCarloSlack(DEFAULT_GUARDRAIL_ALPHA, runs),
    `${stops} stops`,
  );
});

t.test('decisions: too few promises, sticky stop, audit fields', async (t) => {
  const few = oversellGuardrail({
    treatment: { promised: 499, oversold: 499 },
    control: { promised: 600, oversold: 0 },
  });
  t.equal(few.action, 'continue');
  t.equal(few.reason, 'too-few-promises');
  t.equal(few.pValue, 1);
  t.equal(few.lowerBound, -1);

  const bad = oversellGuardrail({
    treatment: { promised: 2000, oversold: 100 },
    control: { promised: 2000, oversold: 30 },
  });
  t.equal(bad.action, 'stop');
  t.equal(bad.reason, 'treatment-oversells-more');
  t.ok(bad.pValue <= bad.alpha && bad.logLikelihoodRatio >= Math.log(bad.threshold));
  t.ok(bad.lowerBound > 0 && bad.lowerBound < bad.difference, `lower bound ${bad.lowerBound}`);
  t.equal(bad.threshold, 1 / DEFAULT_GUARDRAIL_ALPHA);
  t.equal(bad.minPromisedPerArm, DEFAULT_MIN_PROMISED_PER_ARM);

  // Later counts that look harmless do not undo a stop that already fired.
  const later = oversellGuardrail(
    { treatment: { promised: 4000, oversold: 110 }, control: { promised: 4000, oversold: 100 } },
    {},
    bad,
  );
  t.equal(later.action, 'stop');
  t.equal(later.pValue, bad.pValue);
  t.equal(later.checks, 2);

  const early = { treatment: { promised: 300, oversold: 30 }, control: { promised: 300, oversold: 3 } };
  t.equal(oversellGuardrail(early).reason, 'too-few-promises', 'held back by the default minimum');
  t.equal(oversellGuardrail(early, { minPromisedPerArm: 200 }).action, 'stop', 'the minimum is a parameter');
});

t.test('bad inputs are coded errors', async (t) => {
  const arm = { promised: 10, oversold: 1 };
  throwsCoded(
    t,
    () => oversellGuardrail({ treatment: { promised: 1, oversold: 2 }, control: arm }),
    EVALUATION_ERR.INVALID_COUNTS,
    'treatment.oversold',
  );
  throwsCoded(
    t,
    () => oversellGuardrail({ treatment: arm, control: { promised: -1, oversold: 0 } }),
    EVALUATION_ERR.INVALID_COUNTS,
    'control.promised',
  );
  throwsCoded(
    t,
    () => oversellGuardrail({ treatment: arm, control: arm }, { minPromisedPerArm: 0.5 }),
    EVALUATION_ERR.INVALID_COUNTS,
    'minPromisedPerArm',
  );
  throwsCoded(
    t,
    () => oversellGuardrail({ treatment: arm, control: arm }, { alpha: 2 }),
    EVALUATION_ERR.INVALID_PARAMETER,
    'alpha',
  );
  throwsCoded(
    t,
    () => oversellGuardrail({ treatment: arm, control: arm }, { margin: Number.NaN }),
    EVALUATION_ERR.INVALID_PARAMETER,
    'margin',
  );
});
