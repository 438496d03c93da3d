/**
 * One look at a running experiment from the outcome join's figures: per arm
 * the counts and rates with Wilson intervals, the oversell guardrail of each
 * active treatment arm against the control arm (stats/oversell-guardrail.ts,
 * valid under continuous looking), and the sample-ratio check over the
 * active arms (stats/sample-ratio-mismatch.ts, alpha 0.001, also valid under
 * continuous looking). Pure: the monitor passes the previous assessment back
 * so both sequential tests keep their running evidence.
 *
 * The join counts items, not buyers: the SRM units are items decided per
 * arm. Baskets of one buyer land in one arm, so items are mildly clustered;
 * at the sizes a checkout basket has this makes the check slightly less
 * conservative than per-decision units would (written down in decisions.md).
 * Oversell follows the report's definition: short-picked / picked.
 */
import { armTag, controlArm, type Experiment, type ExperimentArm } from '@mercato/proto/v1/experiment';
import { AGGREGATE_COLUMNS, type AggregateCounts, emptyCounts } from '../join/join-counts.js';
import { type EvaluationReport, type RateFigure, rateFigure } from '../report/evaluation-report.js';
import { type GuardrailDecision, oversellGuardrail } from '../stats/oversell-guardrail.js';
import { type SrmResult, sampleRatioMismatch } from '../stats/sample-ratio-mismatch.js';
import { DEFAULT_CONFIDENCE } from '../stats/wilson-interval.js';

export interface ArmAssessment {
  arm: string;
  kind: ExperimentArm['kind'];
  state: ExperimentArm['state'];
  counts: AggregateCounts;
  promiseRate: RateFigure;
  oversellRate: RateFigure;
  conversionProxy: RateFigure;
  /** The guardrail's look at this arm against control; null for the control arm and stopped arms. */
  guardrail: GuardrailDecision | null;
}

export interface ExperimentAssessment {
  id: string;
  revision: number;
  state: Experiment['state'];
  control: string | null;
  checks: number;
  arms: ArmAssessment[];
  /** Null until an active arm has units. */
  srm: SrmResult | null;
  /** The active arms the SRM evidence is about (it restarts when they change). */
  srmArms: string;
  /** Treatment arms the guardrail says to stop at this look (the monitor stops them). */
  stop: { arm: string; reason: string }[];
}

/** An arm's counts: every roll-up row (any region, any model version) of its tag. */
function armCounts(report: EvaluationReport, tag: string): AggregateCounts {
  const c = emptyCounts();
  for (const row of report.totals) {
    if (row.arm !== tag) continue;
    for (const k of AGGREGATE_COLUMNS) c[k] += row.counts[k];
  }
  return c;
}

const oversellOf = (c: AggregateCounts) => ({
  promised: c.fulfilled + c.short_picked,
  oversold: c.short_picked,
});

export function assessExperiment(
  e: Experiment,
  report: EvaluationReport,
  previous?: ExperimentAssessment,
): ExperimentAssessment {
  const control = controlArm(e);
  const controlCounts = control === null ? emptyCounts() : armCounts(report, armTag(e.id, control.name));
  const stop: { arm: string; reason: string }[] = [];
  const arms = e.arms.map((a): ArmAssessment => {
    const counts = armCounts(report, armTag(e.id, a.name));
    let guardrail: GuardrailDecision | null = null;
    if (control !== null && a !== control && a.state === 'active' && e.guardrail.enabled) {
      const before = previous?.arms.find((x) => x.arm === a.name)?.guardrail ?? undefined;
      guardrail = oversellGuardrail(
        { treatment: oversellOf(counts), control: oversellOf(controlCounts) },
        {
          alpha: e.guardrail.alpha,
          minPromisedPerArm: e.guardrail.minPromisedPerArm,
          margin: e.guardrail.margin,
        },
        before,
      );
      if (guardrail.action === 'stop')
        stop.push({ arm: a.name, reason: stopReason(a.name, control.name, guardrail) });
    }
    return {
      arm: a.name,
      kind: a.kind,
      state: a.state,
      counts,
      promiseRate: rateFigure(counts.promised, counts.requested, DEFAULT_CONFIDENCE),
      oversellRate: rateFigure(
        counts.short_picked,
        counts.fulfilled + counts.short_picked,
        DEFAULT_CONFIDENCE,
      ),
      conversionProxy: rateFigure(counts.fulfilled, counts.requested, DEFAULT_CONFIDENCE),
      guardrail,
    };
  });
  return {
    id: e.id,
    revision: e.revision,
    state: e.state,
    control: control?.name ?? null,
    checks: (previous?.checks ?? 0) + 1,
    arms,
    ...srmOf(e, arms, previous),
    stop,
  };
}

/**
 * SRM over the active arms, their weights renormalised (a stopped arm's
 * buckets leave the analysis). The running evidence restarts when the set
 * of active arms changed: the expected shares are then different ones.
 */
function srmOf(
  e: Experiment,
  arms: readonly ArmAssessment[],
  previous: ExperimentAssessment | undefined,
): { srm: SrmResult | null; srmArms: string } {
  const active = e.arms.filter((a) => a.state === 'active' && a.weightBp > 0);
  const srmArms = active.map((a) => a.name).join(',');
  const counts = active.map((a) => arms.find((x) => x.arm === a.name)?.counts.requested ?? 0);
  if (active.length < 2 || counts.every((n) => n === 0)) return { srm: null, srmArms };
  const total = active.reduce((s, a) => s + a.weightBp, 0);
  const before = previous?.srmArms === srmArms ? (previous.srm ?? undefined) : undefined;
  return {
    srm: sampleRatioMismatch(
      counts,
      active.map((a) => a.weightBp / total),
      {},
      before,
    ),
    srmArms,
  };
}

function stopReason(arm: string, control: string, g: GuardrailDecision): string {
  const pct = (x: number) => `${(x * 100).toFixed(2)}%`;
  return (
    `guardrail: oversell-guardrail (one-sided mixture SPRT) ${g.reason}: ${arm} oversells ${pct(g.treatmentRate)} ` +
    `vs ${control} ${pct(g.controlRate)}, always-valid p=${g.pValue.toPrecision(3)} <= alpha ${g.alpha} ` +
    `(lower bound ${pct(g.lowerBound)}, margin ${g.margin}, ${g.checks} looks)`
  );
}

/** The JSON the evaluation service serves on GET /v1/experiments/<id> (atpctl experiment report prints it). */
export function assessmentToJson(a: ExperimentAssessment): Record<string, unknown> {
  const rate = (f: RateFigure) => ({
    successes: f.successes,
    trials: f.trials,
    rate: f.rate,
    lower: f.lower,
    upper: f.upper,
  });
  return {
    id: a.id,
    revision: a.revision,
    state: a.state,
    control: a.control,
    checks: a.checks,
    arms: a.arms.map((x) => ({
      arm: x.arm,
      kind: x.kind,
      state: x.state,
      requested: x.counts.requested,
      promised: x.counts.promised,
      picked: x.counts.fulfilled + x.counts.short_picked,
      short_picked: x.counts.short_picked,
      promise_rate: rate(x.promiseRate),
      oversell_rate: rate(x.oversellRate),
      conversion_proxy: rate(x.conversionProxy),
      guardrail:
        x.guardrail === null
          ? null
          : {
              action: x.guardrail.action,
              reason: x.guardrail.reason,
              difference: Number.isFinite(x.guardrail.difference) ? x.guardrail.difference : null,
              lower_bound: x.guardrail.lowerBound,
              p_value: x.guardrail.pValue,
              alpha: x.guardrail.alpha,
            },
    })),
    srm:
      a.srm === null
        ? null
        : {
            mismatch: a.srm.mismatch,
            p_value: a.srm.pValue,
            alpha: a.srm.alpha,
            total: a.srm.total,
            checks: a.srm.checks,
          },
  };
}
