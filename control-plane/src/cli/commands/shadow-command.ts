/**
 * `atpctl shadow report <paths...>`: model vs rules-baseline disagreements
 * in sidecar decision logs, read offline (the logs stay in their region).
 */
import { AtpError } from '@mercato/platform/errors';
import { type Command, collect } from '@mercato/platform/flags';
import { ERR, withHint } from '../../errors.js';
import { type AtpctlIo, atpctlAction } from '../atpctl-action.js';
import { intFlagWithin } from '../atpctl-flags.js';
import { table } from '../output.js';
import { DEFAULT_SAMPLES, type ShadowReport, shadowReport, shadowReportToJson } from '../shadow-report.js';
import {
  type ShadowVerdicts,
  shadowVerdicts,
  shadowVerdictsText,
  shadowVerdictsToJson,
} from '../shadow-verdicts.js';

export const MAX_SAMPLES = 10_000;

export function shadowCommand(program: Command, io: AtpctlIo): void {
  const cmd = program
    .command('shadow')
    .description('shadow model vs enforced policy')
    .command('report <paths...>')
    .description(
      'disagreements between the model and the rules baseline in sidecar decision logs (files or folders of *.ndjson)',
    )
    .option('--samples <n>', `sample decision ids to list (0..${MAX_SAMPLES}, default ${DEFAULT_SAMPLES})`)
    .option(
      '--outcomes <path>',
      'order outcomes and stock truths (NDJSON of order.outcomes.<region>, file or folder; repeatable): say which side each disagreement class proved right',
      collect,
    )
    .addHelpText(
      'after',
      '\nExamples:\n  $ atpctl shadow report /var/log/atp/decisions.ndjson\n  $ atpctl shadow report /var/log/atp/ --samples 20 --json\n  $ atpctl shadow report decisions.ndjson --outcomes outcomes.ndjson',
    );
  atpctlAction(cmd, io, async (_ctx, paths: string[], opts: { samples?: string; outcomes?: string[] }) => {
    const samples = intFlagWithin(opts.samples, '--samples', 0, MAX_SAMPLES, DEFAULT_SAMPLES);
    let r: ShadowReport;
    let v: ShadowVerdicts | null = null;
    try {
      r = await shadowReport(paths, samples);
      if (opts.outcomes !== undefined) v = await shadowVerdicts(paths, opts.outcomes);
    } catch (err) {
      if (err instanceof AtpError) throw err;
      throw new AtpError(
        withHint(ERR.CONFIG_INVALID, 'pass decision-log files or folders (sidecar --decision-log <file>)'),
        `cannot read decision logs or outcomes: ${(err as Error).message}`,
        'paths',
        { cause: err },
      );
    }
    return {
      json:
        v === null ? shadowReportToJson(r) : { ...shadowReportToJson(r), outcomes: shadowVerdictsToJson(v) },
      text: v === null ? shadowText(r) : [shadowText(r), ...shadowVerdictsText(v)].join('\n'),
    };
  });
}

function shadowText(r: ShadowReport): string {
  const pct = (x: number) => `${(x * 100).toFixed(2)}%`;
  return [
    `records ${r.records} in ${r.files.length} file(s)${r.skippedLines > 0 ? ` (${r.skippedLines} other lines skipped)` : ''}; both sides answered on ${r.compared}`,
    `disagreements ${r.disagreements} (${pct(r.disagreementRate)}): model allows / baseline denies ${r.modelAllowsBaselineDenies}, model denies / baseline allows ${r.modelDeniesBaselineAllows}`,
    ...Object.entries(r.byEnforced).map(([k, v]) => `  enforced ${k}: ${v.disagreements} of ${v.compared}`),
    ...Object.entries(r.byModelVersion).map(([k, v]) => `  model ${k}: ${v.disagreements} of ${v.compared}`),
    r.reasons.length === 0
      ? 'reasons: none'
      : `reasons (side that denied):\n${table(r.reasons.map((x) => [`  ${x.side}`, x.reason, String(x.count)]))}`,
    r.samples.length === 0
      ? 'samples: none'
      : `samples:\n${table(r.samples.map((s) => [`  ${s.decisionId}`, s.region, `model ${s.model}`, `baseline ${s.baseline}`, `enforced ${s.enforced}`, s.skus.join(',')]))}`,
  ].join('\n');
}
