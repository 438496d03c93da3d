/**
 * `atpctl drift report --sidecar <url>...`: online drift per model version
 * and feature, gathered from the sidecars' /v1/drift reports; `--html FILE`
 * also writes a page with the PSI history plots. Exit 3 when no sidecar
 * answered; alarms are data (`--json` .active), not a failure of the command.
 */
import { writeFile } from 'node:fs/promises';
import { AtpError } from '@mercato/platform/errors';
import type { Command } from '@mercato/platform/flags';
import { ERR } from '../../errors.js';
import { DEFAULT_TIMEOUT_MS } from '../admin-client.js';
import { type AtpctlIo, atpctlAction, type GlobalFlags } from '../atpctl-action.js';
import { intFlagWithin } from '../atpctl-flags.js';
import { type DriftSummary, driftHtml, driftSummaryToJson, fetchDrift, summarize } from '../drift-report.js';
import { table } from '../output.js';

const collect = (v: string, acc: string[]) => [...acc, v];

export function driftCommand(program: Command, io: AtpctlIo): void {
  const cmd = program
    .command('drift')
    .description('online drift of served features and scores (PSI against the bundle baselines)')
    .command('report')
    .description(
      "gather the sidecars' drift reports (GET /v1/drift): alarms in force, latest PSI per feature",
    )
    .requiredOption('--sidecar <url>', 'a sidecar HTTP address (repeat for several)', collect, [])
    .option('--html <file>', 'also write an HTML report with the PSI history plots')
    .addHelpText(
      'after',
      '\nExamples:\n  $ atpctl drift report --sidecar http://127.0.0.1:8181\n  $ atpctl drift report --sidecar http://10.0.0.7:8181 --sidecar http://10.0.0.8:8181 --html drift.html',
    );
  atpctlAction(cmd, io, async (_ctx, opts: { sidecar: string[]; html?: string }) => {
    const g = cmd.optsWithGlobals<GlobalFlags>();
    const timeoutMs = intFlagWithin(g.timeoutMs, '--timeout-ms', 1, 3_600_000, DEFAULT_TIMEOUT_MS);
    for (const url of opts.sidecar) {
      if (!/^https?:\/\/[^\s/]+/.test(url)) {
        throw new AtpError(
          ERR.INVALID_FLAG,
          `expected an http(s) URL, got "${url.slice(0, 80)}"`,
          '--sidecar',
        );
      }
    }
    const summary = summarize(await Promise.all(opts.sidecar.map((u) => fetchDrift(u, timeoutMs))));
    if (opts.html !== undefined) await writeFile(opts.html, driftHtml(summary, new Date().toISOString()));
    if (summary.sidecars.every((s) => s.report === null)) {
      throw new AtpError(
        ERR.UNAVAILABLE,
        `no sidecar answered: ${summary.sidecars.map((s) => `${s.url} (${s.error})`).join(', ')}`,
        '--sidecar',
      );
    }
    return { json: driftSummaryToJson(summary), text: driftText(summary) };
  });
}

function driftText(s: DriftSummary): string {
  const down = s.sidecars.filter((x) => x.report === null);
  const head = [
    `sidecars ${s.sidecars.length - down.length} of ${s.sidecars.length} answered${down.length > 0 ? ` (unreachable: ${down.map((d) => d.url).join(', ')})` : ''}`,
    s.active.length === 0
      ? 'drift alarms: none'
      : `drift alarms: ${s.active.map((a) => `${a.modelVersion} [${a.alarming.join(', ')}] at ${a.sidecars.length} sidecar(s)`).join('; ')}`,
  ];
  if (s.features.length === 0) return [...head, 'no closed drift window yet'].join('\n');
  const rows = s.features.map((l) => [
    `  ${l.modelVersion}`,
    l.feature,
    l.psi.toFixed(4),
    l.threshold === null ? '-' : l.threshold.toFixed(4),
    `${l.alarmingSidecars}/${l.sidecars}${l.alarmingSidecars > 0 ? ' ALARM' : ''}`,
  ]);
  return [...head, table(rows, ['  model', 'feature', 'psi', 'threshold', 'alarming'])].join('\n');
}
