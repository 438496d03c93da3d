/**
 * The closed-loop A/B (issue 13 acceptance): model vs naive ATP in ONE
 * world, 50/50 by the buyer's session key, as production would run it. The
 * world's operator creates and starts the experiment through `atpctl`
 * before the sidecars start (they receive it in their first signed
 * snapshot); the filter buckets `x-atp-session` inside the pod, the
 * sidecars map the bucket and apply the arm's policy; every decision
 * carries its arm to the outcome join. At the end `atp-evaluate report`
 * writes the business-impact report (HTML + JSON) from the join's store,
 * and the world reads the comparison back: the treatment's differences
 * from the control with their Newcombe intervals, and the sample-ratio
 * check.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { commands } from './commands.js';
import type { WorldInfra } from './world-stack.js';

export const AB_EXPERIMENT_ID = 'world-ab';
export const AB_CONTROL_ARM = 'naive';
export const AB_TREATMENT_ARM = 'model';
/** The arms as the decision stream and the join tag them. */
export const AB_CONTROL_TAG = `${AB_EXPERIMENT_ID}:${AB_CONTROL_ARM}`;
export const AB_TREATMENT_TAG = `${AB_EXPERIMENT_ID}:${AB_TREATMENT_ARM}`;
export const AB_REPORT_HTML = 'ab-report.html';
export const AB_REPORT_JSON = 'ab-report.json';

/** Creates and starts the 50/50 experiment on `route` in the world's region (before the sidecars start). */
export async function startAbExperiment(infra: WorldInfra, route: string): Promise<void> {
  await infra.atpctl([
    'experiment',
    'create',
    AB_EXPERIMENT_ID,
    '--route',
    route,
    '--region',
    infra.region,
    '--arm',
    `${AB_CONTROL_ARM}:naive:5000`,
    '--arm',
    `${AB_TREATMENT_ARM}:champion:5000`,
    // The world measures both arms to the end; a guardrail stop would end the comparison early.
    '--no-guardrail',
    '--start',
    '--reason',
    'closed-loop world: model vs naive ATP, 50/50 by session',
  ]);
}

export interface AbDifference {
  estimate: number;
  lower: number;
  upper: number;
}

/** The treatment (model) against the control (naive), read from the business-impact report. */
export interface AbSummary {
  control: string;
  treatment: string;
  /** Decisions per arm (the sample-ratio check's units). */
  decisions: Record<string, number>;
  /** The sample-ratio check's verdict; null when it could not run. */
  srmMismatch: boolean | null;
  /** treatment - control, at the report's confidence; null when an arm had no trials. */
  promiseRate: AbDifference | null;
  oversellRate: AbDifference | null;
  confidence: number;
  html: string;
  json: string;
}

/** Runs `atp-evaluate report` on the join's store and reads the roll-up comparison back. */
export async function abReport(infra: WorldInfra, outDir: string): Promise<AbSummary> {
  const html = join(outDir, AB_REPORT_HTML);
  const json = join(outDir, AB_REPORT_JSON);
  await infra.runOnce(
    'ab-report',
    commands.evaluate([
      'report',
      '--db',
      join(infra.runDir, 'evaluation.sqlite'),
      '--region',
      infra.region,
      '--control-arm',
      AB_CONTROL_TAG,
      '--html',
      html,
      '--json-file',
      json,
    ]),
  );
  return readAbSummary(json, html);
}

interface ReportShape {
  confidence?: number;
  comparisons?: {
    arm?: string;
    segment?: unknown;
    metrics?: { metric?: string; difference?: AbDifference | null }[];
  }[];
  srm?: { arms?: string[]; decisions?: number[]; result?: { mismatch?: boolean } | null }[];
}

/** The A/B summary of a business-impact report file (the evaluation CLI's output, read as untrusted). */
export function readAbSummary(jsonPath: string, htmlPath: string): AbSummary {
  const r = JSON.parse(readFileSync(jsonPath, 'utf8')) as ReportShape;
  const rollup = (r.comparisons ?? []).find((c) => c.arm === AB_TREATMENT_TAG && c.segment === null);
  const diff = (metric: string): AbDifference | null => {
    const d = rollup?.metrics?.find((m) => m.metric === metric)?.difference;
    return d === undefined || d === null || !Number.isFinite(d.estimate) ? null : d;
  };
  const srm = (r.srm ?? [])[0];
  const decisions: Record<string, number> = {};
  (srm?.arms ?? []).forEach((arm, i) => {
    decisions[arm] = srm?.decisions?.[i] ?? 0;
  });
  return {
    control: AB_CONTROL_TAG,
    treatment: AB_TREATMENT_TAG,
    decisions,
    srmMismatch: srm?.result === null || srm?.result === undefined ? null : srm.result.mismatch === true,
    promiseRate: diff('promiseRate'),
    oversellRate: diff('oversellRate'),
    confidence: r.confidence ?? 0.95,
    html: htmlPath,
    json: jsonPath,
  };
}
