/** Text forms of experiments and their reports for `atpctl experiment ...`. */
import type { Obj } from '../atpctl-action.js';
import { table } from '../output.js';

export function experimentText(e: Obj, detailed: boolean): string {
  const arms = e.arms as Obj[];
  const head = `${String(e.id)} r${String(e.revision)} ${String(e.state)}${e.stop_reason === undefined ? '' : ` (${String(e.stop_reason)})`}  routes ${(e.routes as string[]).join(',')}  regions ${(e.regions as string[]).join(',')}`;
  if (!detailed) return head;
  const g = e.guardrail as Obj;
  return [
    head,
    table(
      arms.map((a) => [
        `  ${String(a.name)}`,
        String(a.kind),
        `${(Number(a.weight_bp) / 100).toFixed(2)}%`,
        String(a.model_version ?? '-'),
        a.thresholds === undefined ? '-' : JSON.stringify(a.thresholds),
        `${String(a.state)}${a.stop_reason === undefined ? '' : ` (${String(a.stop_reason)})`}`,
      ]),
    ),
    `guardrail ${g.enabled === true ? `on: alpha ${String(g.alpha)}, min promised ${String(g.min_promised_per_arm)}, margin ${String(g.margin)}` : 'off'}`,
  ].join('\n');
}

const pct = (f: Obj | undefined) =>
  f === undefined || f.rate === null
    ? '-'
    : `${(Number(f.rate) * 100).toFixed(2)}% [${(Number(f.lower) * 100).toFixed(2)}, ${(Number(f.upper) * 100).toFixed(2)}]`;

/** The evaluation service's experiment report (evaluation/src/guardrail/experiment-assessment.ts). */
export function experimentReportText(r: Obj): string {
  const arms = r.arms as Obj[];
  const srm = r.srm as Obj | null;
  const lines = [
    `experiment ${String(r.id)} (${String(r.state)}), checked ${String(r.checks)} time(s)`,
    table(
      arms.map((a) => [
        `  ${String(a.arm)}`,
        String(a.kind),
        String(a.state),
        String(a.requested),
        pct(a.promise_rate as Obj),
        pct(a.oversell_rate as Obj),
        pct(a.conversion_proxy as Obj),
        a.guardrail === null
          ? '-'
          : `${String((a.guardrail as Obj).action)} p=${Number((a.guardrail as Obj).p_value).toPrecision(3)}`,
      ]),
      ['  arm', 'kind', 'state', 'items', 'promise', 'oversell', 'conversion', 'guardrail'],
    ),
    srm === null
      ? 'SRM: not enough units'
      : `SRM: ${srm.mismatch === true ? 'MISMATCH' : 'ok'} (p=${Number(srm.p_value).toPrecision(3)}, alpha ${String(srm.alpha)}, ${String(srm.total)} units)`,
  ];
  return lines.join('\n');
}
