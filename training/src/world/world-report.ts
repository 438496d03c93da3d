/**
 * The closed-loop world's report: `world-report.json` (the run's result,
 * its per-minute series) and `world-report.html` (the same, readable: a
 * summary table and inline SVG charts, no script, no external asset), plus
 * the summary lines the CLI prints.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { barChart, esc, lineChart } from '@mercato/platform/svg-charts';
import { sectionLines, sectionsHtml } from './world-report-sections.js';
import type { WorldRunResult } from './world-run.js';
import type { MinutePoint } from './world-series.js';

export const WORLD_REPORT_JSON = 'world-report.json';
export const WORLD_REPORT_HTML = 'world-report.html';
const MS_PER_MIN = 60_000;

const pct = (v: number | null): string => (v === null ? 'n/a' : `${(v * 100).toFixed(2)}%`);
const ms = (v: number | null): string => (v === null ? 'n/a' : `${v.toFixed(1)} ms`);

/** The summary the CLI prints (one fact a line). */
export function summaryLines(r: WorldRunResult): string[] {
  const s = r.summary;
  const shares = Object.entries(s.degradations.shareByReason)
    .map(([k, v]) => `${k} ${pct(v)}`)
    .join(', ');
  return [
    `world: scenario ${s.scenarios.map((w) => w.name).join(' + ')}, policy ${r.policy}, seed ${s.seed}, ${r.sidecars} sidecar(s), speed x${r.speed}, model ${r.modelVersion}`,
    `checkouts ${s.checkouts}: allow ${s.answers.allow}, deny ${s.answers.deny}, error ${s.answers.error}, late ${s.answers.late}, timeout ${s.answers.timeout}, unanswered ${s.answers.unanswered}`,
    `promise rate ${pct(s.promiseRate)} (${s.promised} promised)`,
    `realized oversell ${pct(s.realizedOversellRate)} (${s.outcomes.shortPicked} short-picked of ${s.promised}); promised beyond free stock ${s.promisedBeyondStock}`,
    `fulfilment reliability ${pct(s.fulfilmentReliability)}; false denials ${pct(s.falseDenialRate)}`,
    `degraded answers ${s.degradations.answers}${shares === '' ? '' : ` (${shares})`}`,
    `decision latency p50 ${ms(s.latencyMs.p50)}, p99 ${ms(s.latencyMs.p99)}, max ${ms(s.latencyMs.max)} (wall, through the data plane)`,
    `drained ${s.drained} (missing outcomes ${s.outcomes.missing}, duplicates ${s.outcomes.duplicates}, ground truth missing ${s.groundTruthMissing})`,
    `Redis vs world view: ${r.audit.equal ? 'equal' : `${r.audit.mismatched} of ${r.audit.pairs} pairs differ`} (${r.audit.pairs} pairs)`,
    ...sectionLines(r),
    ...abLines(r),
  ];
}

/** Policy `ab`: the model arm minus the naive arm, with the report's intervals. */
function abLines(r: WorldRunResult): string[] {
  const ab = r.ab;
  if (ab === null || ab === undefined) return [];
  const d = (x: { estimate: number; lower: number; upper: number } | null) =>
    x === null ? 'n/a' : `${pct(x.estimate)} [${pct(x.lower)}, ${pct(x.upper)}]`;
  const decisions = Object.entries(ab.decisions)
    .map(([arm, n]) => `${arm} ${n}`)
    .join(', ');
  const srm = ab.srmMismatch === null ? 'not run' : ab.srmMismatch ? 'MISMATCH' : 'ok';
  return [
    `A/B ${ab.treatment} - ${ab.control} (${Math.round(ab.confidence * 100)}% intervals): promise rate ${d(ab.promiseRate)}, realized oversell ${d(ab.oversellRate)}; decisions ${decisions}; sample ratio ${srm}; report ${ab.html}`,
  ];
}

export function writeWorldReport(dir: string, r: WorldRunResult): { json: string; html: string } {
  const json = join(dir, WORLD_REPORT_JSON);
  const html = join(dir, WORLD_REPORT_HTML);
  writeFileSync(json, `${JSON.stringify({ ...r, series: { minutes: r.series.minutes } }, null, 2)}\n`);
  writeFileSync(html, renderWorldHtml(r));
  return { json, html };
}

export function renderWorldHtml(r: WorldRunResult): string {
  const s = r.summary;
  const series = r.series;
  const rate = (num: (p: MinutePoint) => number, den: (p: MinutePoint) => number) =>
    series.minutes.filter((p) => den(p) > 0).map((p) => [p.minute, num(p) / den(p)] as const);
  const percent = (v: number) => `${(v * 100).toFixed(0)}%`;
  const window = s.scenario.window;
  const windowNote =
    window === null
      ? ''
      : ` (scenario window: minutes ${((window.fromMs - s.timeline.liveFromMs) / MS_PER_MIN).toFixed(1)}-${((window.untilMs - s.timeline.liveFromMs) / MS_PER_MIN).toFixed(1)})`;
  const charts = [
    lineChart({
      title: 'Per simulated minute',
      xLabel: `live minute${windowNote}`,
      yLabel: 'share',
      yDomain: [0, 1],
      yFormat: percent,
      xFormat: (v) => v.toFixed(0),
      series: [
        {
          name: 'promise rate',
          points: rate(
            (p) => p.promised,
            (p) => p.checkouts,
          ),
        },
        {
          name: 'degraded',
          points: rate(
            (p) => p.degraded,
            (p) => p.checkouts,
          ),
          dashed: true,
        },
        {
          name: 'errors',
          points: rate(
            (p) => p.errors,
            (p) => p.checkouts,
          ),
          dashed: true,
        },
      ],
    }),
    lineChart({
      title: 'Realized oversell per simulated minute',
      xLabel: 'live minute (checkout time)',
      yLabel: 'short-picked / promised',
      yFormat: percent,
      xFormat: (v) => v.toFixed(0),
      series: [
        {
          name: 'oversell',
          points: rate(
            (p) => p.shortPicked,
            (p) => p.promised,
          ),
        },
      ],
    }),
    lineChart({
      title: 'Decision latency (wall, through the data plane)',
      xLabel: 'ms',
      yLabel: 'share of answers at or below',
      yDomain: [0, 1],
      yFormat: percent,
      xFormat: (v) => v.toFixed(0),
      series: [
        {
          name: 'CDF',
          points: series.latenciesMs.map((v, i) => [v, (i + 1) / series.latenciesMs.length] as const),
        },
      ],
    }),
  ];
  const reasons = Object.entries(s.degradations.byReason);
  if (reasons.length > 0) charts.push(barChart('Degraded answers by reason', reasons, (v) => String(v)));
  const rows: [string, string][] = [
    [
      'scenario',
      `${s.scenario.name}${s.scenario.window === null ? '' : ` (${s.scenario.supervisorFault ?? 'simulated'})`}`,
    ],
    ['policy', r.policy],
    ['seed', String(s.seed)],
    ['model', r.modelVersion],
    ['sidecars', String(r.sidecars)],
    ['world clock', r.clockSpec],
    ['checkouts', String(s.checkouts)],
    ['promise rate', pct(s.promiseRate)],
    ['realized oversell', pct(s.realizedOversellRate)],
    ['promised beyond free stock', String(s.promisedBeyondStock)],
    ['fulfilment reliability', pct(s.fulfilmentReliability)],
    ['false denial rate', pct(s.falseDenialRate)],
    ['degraded answers', String(s.degradations.answers)],
    ['decision p50 / p99', `${ms(s.latencyMs.p50)} / ${ms(s.latencyMs.p99)}`],
    ['drained', String(s.drained)],
    [
      'Redis equals the world',
      r.audit.equal ? 'yes' : `no: ${r.audit.mismatched} of ${r.audit.pairs} pairs differ`,
    ],
    ['events (warm-up / live)', `${s.events.warmup} / ${s.events.live}`],
    ['answers by status', JSON.stringify(r.router.byStatus)],
    ['sidecar degradation counters', JSON.stringify(r.sidecarDegradations)],
    ['... at the window end', JSON.stringify(r.sidecarDegradationsAtWindowEnd)],
    ['wall seconds', JSON.stringify(r.wallSeconds)],
  ];
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>closed-loop world: ${esc(s.scenario.name)} / ${esc(r.policy)}</title>
<style>body{font-family:sans-serif;margin:24px;max-width:1000px}td,th{padding:2px 10px;text-align:left;border-bottom:1px solid #eee}svg{margin:8px}</style>
</head><body>
<h1>Closed-loop world: ${esc(s.scenario.name)}, policy ${esc(r.policy)}</h1>
<p>${esc(s.scenario.name === 'steady' ? 'The default world, nothing forced.' : `Expected degradations: ${s.scenario.expectedDegradations.join(', ') || 'none'}.`)}</p>
<table>${rows.map(([k, v]) => `<tr><th>${esc(k)}</th><td>${esc(v)}</td></tr>`).join('')}</table>
${sectionsHtml(r)}
<div>${charts.join('\n')}</div>
</body></html>
`;
}
